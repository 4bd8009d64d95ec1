// Numbers in plain words, and small DOM helpers shared by the views.

/** Create an element: h("p", {class: "x", onclick}, "text", child, ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function roundNice(x) {
  if (x >= 10) return Math.round(x);
  if (x >= 3) return Math.round(x);
  return Math.round(x * 2) / 2 === Math.round(x) ? Math.round(x) : Math.round(x * 2) / 2;
}

/** "about 1 false wake every 2 hours" from false accepts per hour. */
export function faInWords(faPerHour, calibrationHours) {
  if (faPerHour === null || faPerHour === undefined || Number.isNaN(faPerHour)) return "not measured";
  if (faPerHour <= 0) {
    return calibrationHours
      ? `no false wakes in ${formatHours(calibrationHours)} of test audio`
      : "no false wakes in the test audio";
  }
  if (faPerHour >= 1) {
    const n = roundNice(faPerHour);
    return `about ${plural(n, "false wake", "false wakes")} per hour`;
  }
  const hours = 1 / faPerHour;
  if (hours < 36) return `about 1 false wake every ${plural(roundNice(hours), "hour", "hours")}`;
  const days = hours / 24;
  if (days < 14) return `about 1 false wake every ${plural(roundNice(days), "day", "days")}`;
  return `about 1 false wake every ${plural(Math.round(days / 7), "week", "weeks")}`;
}

export function formatHours(hours) {
  if (hours < 1) return `${Math.round(hours * 60)} minutes`;
  return `${hours < 10 ? hours.toFixed(1) : Math.round(hours)} hours`;
}

/** "misses about 5 in 100 times you say it" from a false rejection rate. */
export function frrInWords(frr) {
  if (frr === null || frr === undefined || Number.isNaN(frr)) return "not measured";
  const pct = frr * 100;
  if (pct < 0.5) return "missed almost never in the tests (under 1 in 200 tries)";
  if (pct < 10) return `misses about ${Math.max(1, Math.round(pct))} in 100 times you say it`;
  return `misses about ${Math.round(pct / 10)} in 10 times you say it`;
}

export function pct(x, digits = 1) {
  return x === null || x === undefined ? "—" : `${(x * 100).toFixed(digits)} %`;
}

export function num(x, digits = 2) {
  return x === null || x === undefined || Number.isNaN(x) ? "—" : Number(x).toFixed(digits);
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  const r = s % 60;
  if (m >= 60) return `${Math.floor(m / 60)}h ${m % 60}m`;
  return m ? `${m}m ${String(r).padStart(2, "0")}s` : `${r}s`;
}

export function dateTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function clockTime(date = new Date()) {
  return date.toLocaleTimeString(undefined, { hour12: false });
}

/** Human labels for keys the server uses in data_stats / metrics. */
export function labelize(key) {
  return key.replace(/_/g, " ").replace(/\bfa\b/i, "FA").replace(/\bfrr\b/i, "FRR")
    .replace(/\btts\b/i, "TTS").replace(/^./, (c) => c.toUpperCase());
}

export function scalar(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString() : v.toFixed(4).replace(/0+$/, "").replace(/\.$/, "");
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (Array.isArray(v)) return v.length ? v.map(scalar).join(", ") : "none";
  if (typeof v === "object") return Object.entries(v).map(([k, x]) => `${k}: ${scalar(x)}`).join(", ");
  return String(v);
}

/** A <dl> of key/value pairs (objects flattened one level). */
export function definitionList(obj, { skip = [] } = {}) {
  const dl = h("dl", { class: "kv" });
  for (const [k, v] of Object.entries(obj || {})) {
    if (skip.includes(k)) continue;
    dl.append(h("dt", {}, labelize(k)), h("dd", {}, scalar(v)));
  }
  return dl;
}
