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

/** "about 1 false wake every 2 hours" from false accepts per hour; with zero, the hours of
 * held-out audio it was counted on ("no false wakes in 4 minutes of held-out audio"). */
export function faInWords(faPerHour, heldoutHours) {
  if (faPerHour === null || faPerHour === undefined || Number.isNaN(faPerHour)) return "not measured";
  if (faPerHour <= 0) {
    return heldoutHours ? `no false wakes in ${formatHours(heldoutHours)} of held-out audio` : "no false wakes";
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

const KIND_WORDS = { speech: "speech", music: "music", noise: "noise", tts: "synthetic speech", other: "other audio" };

function listWords(items) {
  if (items.length <= 1) return items[0] || "";
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** "2.1 h of held-out speech, music and noise" from a model's metrics (null without any). */
export function heldoutAudioWords(metrics) {
  const heldout = metrics && metrics.heldout;
  if (!heldout) return null;
  const kinds = Object.keys(heldout.by_kind || {}).map((k) => KIND_WORDS[k] || k);
  return `${heldout.hours.toFixed(1)} h of held-out ${kinds.length ? listWords(kinds) : "audio"}`;
}

export const TOO_LITTLE_HELDOUT = "too little held-out audio to estimate false wakes";

/**
 * False wakes in plain words, naming the held-out audio they were counted on:
 * "about 1 false wake every 2 hours on 2.1 h of held-out speech, music and noise".
 * figures: {fa_per_hour, heldout_hours, enough_heldout_audio} (model or job status), metrics:
 * the typed metrics (heldout.by_kind names the audio).
 */
export function falseWakesInWords(figures, metrics) {
  const f = figures || {};
  if (!(metrics && metrics.heldout) && (f.fa_per_hour === null || f.fa_per_hour === undefined)) {
    return "not measured on held-out audio (this model was trained before the held-out split)";
  }
  if (!f.enough_heldout_audio) return TOO_LITTLE_HELDOUT;
  const audio = heldoutAudioWords(metrics) || `${formatHours(f.heldout_hours || 0)} of held-out audio`;
  return f.fa_per_hour > 0 ? `${faInWords(f.fa_per_hour)} on ${audio}` : `no false wakes in ${audio}`;
}

/** What the false-reject rate was measured on ("150 held-out clips: TTS voices held out of
 * training and your untouched recording"), from the typed metrics; null when unknown. */
export function heldoutPositivesWords(metrics) {
  const r = metrics && metrics.rejects;
  if (!r) return null;
  const what = [];
  if (r.tts_heldout && r.tts_heldout.frr !== null && r.tts_heldout.frr !== undefined) what.push("TTS voices held out of training");
  if (r.user_heldout && r.user_heldout.frr !== null && r.user_heldout.frr !== undefined) {
    what.push(r.user_heldout_is_fold ? "your untouched recording (measured before the final model trained on it too)" : "your untouched recording");
  }
  const count = r.overall && r.overall.count ? `${r.overall.count} held-out clips` : "held-out clips";
  return what.length ? `${count}: ${listWords(what)}` : count;
}

export function formatHours(hours) {
  if (hours < 1) return `${Math.round(hours * 60)} minutes`;
  return `${hours < 10 ? hours.toFixed(1) : Math.round(hours)} hours`;
}

/** "misses about 5 in 100 times you say it" from a false rejection rate. */
export function frrInWords(frr) {
  if (frr === null || frr === undefined || Number.isNaN(frr)) return "not measured";
  const pct = frr * 100;
  if (pct < 0.5) return "misses almost never (under 1 in 200 tries)";
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
