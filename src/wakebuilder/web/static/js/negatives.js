// Where the negative store stands (GET /api/cache/info): the Train page banner while real
// negatives are being prepared, and the "queue until the first slice" choice at Start.
import { api } from "./api.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 5000;
let timer = null;
let last = null;

/** "speech 1.20 h, music 0.30 h" from {kind: hours}. */
export function hoursWords(byKind) {
  const parts = Object.entries(byKind || {}).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v.toFixed(2)} h`);
  return parts.length ? parts.join(", ") : "none yet";
}

function minutes(seconds) {
  if (seconds === null || seconds === undefined) return null;
  return Math.max(1, Math.round(seconds / 60));
}

/** The banner's state, words and kind for a cache info document. */
export function describe(info) {
  const pct = Math.round(100 * (info.progress || 0));
  const eta = minutes(info.eta_seconds);
  const hours = hoursWords(info.hours_by_kind);
  if (info.building && !info.slice_ready) {
    return { state: "building", kind: "warn", waitChoice: true,
      text: `Real negatives are being prepared (${info.stage || "starting"}, ${pct} %${eta ? `, about ${eta} min left in this stage` : ""}). A model trained before the first slice is ready learns from generated negatives only and usually false-wakes far more on real speech and music. So far: ${hours}.` };
  }
  if (info.building) {
    return { state: "slice", kind: "info",
      text: `First slice of real negatives ready: training uses ${hours}. The rest is still being added (${info.stage || ""}, ${pct} %${eta ? `, about ${eta} min left in this stage` : ""}); models trained later get more.` };
  }
  if (info.thin) {
    return { state: "thin", kind: "warn",
      text: info.warning || `Little natural speech in the negative store (${hours}): models will false-wake more often on real speech. Run \`wakebuilder cache prepare\`.` };
  }
  return { state: "ready", kind: "ok", text: `Real negatives ready: ${hours}.` };
}

function render(info) {
  const box = $("neg-banner");
  if (!box) return;
  const d = describe(info);
  box.dataset.state = d.state;
  box.className = `alert ${d.kind === "warn" ? "warn" : "info"}`;
  box.textContent = d.text;
  box.hidden = d.state === "ready";
  const row = $("neg-wait-row");
  if (row) row.hidden = !d.waitChoice;
}

async function refresh() {
  try {
    last = await api.get("/api/cache/info");
    render(last);
  } catch (_) { /* the health badge reports an unreachable server */ }
}

/** Start polling (Train page shown). */
export function watch() {
  stop();
  refresh();
  timer = setInterval(refresh, POLL_MS);
}

export function stop() {
  if (timer) clearInterval(timer);
  timer = null;
}

/** The wait_for_negatives form value: only sent when the choice is on screen. */
export function waitChoice() {
  const row = $("neg-wait-row");
  if (!row || row.hidden) return null;
  return $("neg-wait").checked ? "true" : "false";
}
