// The live training view (polls GET /api/train/status/{id} about once a second) and the
// results panel (GET /api/models/{model_id}) once the job has completed.
import { api, ApiError, download } from "./api.js";
import { historyChart, detChart } from "./charts.js";
import { h, clear, duration, falseWakesInWords, frrInWords, heldoutPositivesWords, num, pct, clockTime } from "./format.js";
import { showError, toast, confirmDialog } from "./ui.js";

const $ = (id) => document.getElementById(id);
const FINISHED = new Set(["completed", "failed", "cancelled"]);
const POLL_MS = 1000;

let jobId = null;
let timer = null;
let lastHistoryLen = -1;
let lastStatsKey = "";
let modelId = null;
let etaSamples = []; // [elapsed_s, progress]
let navigate = () => {};

export function init(ctx) {
  navigate = ctx.navigate;
  $("cancel-btn").addEventListener("click", cancel);
  $("test-now-btn").addEventListener("click", () => modelId && navigate(`#/test/${modelId}`));
  $("download-btn").addEventListener("click", async () => {
    if (!jobId) return;
    try { await download(`/api/train/download/${jobId}`, `${modelId || "model"}.zip`); } catch (err) { showError($("job-error"), err, "Download failed"); }
  });
  $("train-another-btn").addEventListener("click", () => { ctx.resetWizard(); navigate("#/train"); });
}

export function show(id) {
  if (id !== jobId) {
    jobId = id;
    lastHistoryLen = -1;
    lastStatsKey = "";
    modelId = null;
    etaSamples = [];
    $("results").hidden = true;
    clear($("job-chart"));
    clear($("job-logs"));
    $("job-stats").replaceChildren(h("p", { class: "muted" }, "Counted while the data is prepared."));
    showError($("job-error"), null);
    setProgress(0);
    $("job-phase").textContent = "Loading…";
  }
  stopPolling();
  poll();
}

export function hide() {
  stopPolling();
}

function stopPolling() {
  if (timer) clearTimeout(timer);
  timer = null;
}

async function poll() {
  const id = jobId;
  let status;
  try {
    status = await api.get(`/api/train/status/${encodeURIComponent(id)}`);
  } catch (err) {
    if (id !== jobId) return;
    showError($("job-error"), err, err instanceof ApiError && err.status === 404 ? "Unknown job" : "Status unavailable");
    if (!(err instanceof ApiError && err.status === 404)) timer = setTimeout(poll, POLL_MS * 3);
    return;
  }
  if (id !== jobId) return;
  showError($("job-error"), null);
  render(status);
  if (!FINISHED.has(status.status)) timer = setTimeout(poll, POLL_MS);
  else if (status.status === "completed") await showResults(status);
}

function setProgress(p) {
  const bar = $("job-progress");
  const v = Math.max(0, Math.min(100, p || 0));
  bar.querySelector(".progress-fill").style.width = `${v}%`;
  bar.querySelector(".progress-text").textContent = `${v.toFixed(v < 10 ? 1 : 0)} %`;
  bar.setAttribute("aria-valuenow", v.toFixed(0));
}

function eta(status) {
  if (status.status !== "training" && status.status !== "running") return null;
  const p = status.progress || 0;
  const t = status.elapsed_seconds || 0;
  etaSamples.push([t, p]);
  if (etaSamples.length > 60) etaSamples.shift();
  if (p < 3 || p >= 100) return null;
  // Rate over the last minute of samples when it moved, else over the whole run.
  const [t0, p0] = etaSamples[0];
  const recent = p - p0 > 1 && t - t0 > 5 ? (p - p0) / (t - t0) : 0;
  const overall = p / Math.max(1, t);
  const rate = recent ? 0.5 * recent + 0.5 * overall : overall;
  return (100 - p) / rate;
}

function render(s) {
  const title = s.wake_word ? `Training “${s.wake_word}”` : "Training";
  $("job-title").textContent = s.status === "completed" ? `“${s.wake_word}” is ready` : title;
  const badge = $("job-status");
  badge.textContent = s.status === "pending" && s.queue_position ? `queued #${s.queue_position}` : s.status;
  badge.className = `badge ${s.status === "training" || s.status === "running" ? "running" : s.status}`;
  $("job-phase").textContent = s.cancel_requested && !FINISHED.has(s.status) ? "Cancelling…" : (s.phase || s.status);
  setProgress(s.progress);
  $("job-elapsed").textContent = s.elapsed_time || duration(s.elapsed_seconds);
  const left = eta(s);
  $("job-eta").textContent = FINISHED.has(s.status) ? "—" : left === null ? "estimating…" : `about ${duration(left)}`;
  $("job-epoch").textContent = s.current_epoch ? `${s.current_epoch} of ${s.total_epochs || "?"}` : "—";
  $("job-message").textContent = s.message || "";
  const warnBox = $("job-warning");
  let warning = null;
  try { warning = sessionStorage.getItem(`wakebuilder.warning.${s.job_id}`); } catch (_) { /* private mode */ }
  warnBox.hidden = !warning || FINISHED.has(s.status);
  warnBox.textContent = warning || "";
  renderTimings(s.phase_seconds || s.timings || {});
  const cancelBtn = $("cancel-btn");
  cancelBtn.hidden = FINISHED.has(s.status);
  cancelBtn.disabled = Boolean(s.cancel_requested);
  if (s.status === "failed") {
    const e = s.error || {};
    showError($("job-error"), new ApiError(500, { error: e.error || "failed", message: e.message || s.message || "Training failed", details: e.details || {} }), "Training failed");
  } else if (s.status === "cancelled") {
    $("job-error").hidden = false;
    $("job-error").textContent = "Training was cancelled. No model was saved.";
  }
  const hist = s.history || [];
  if (hist.length !== lastHistoryLen) {
    lastHistoryLen = hist.length;
    $("job-chart").replaceChildren(historyChart(hist, { totalEpochs: s.total_epochs }));
  }
  const statsKey = JSON.stringify(s.data_stats || {});
  if (statsKey !== lastStatsKey) {
    lastStatsKey = statsKey;
    $("job-stats").replaceChildren(statsView(s.data_stats || {}));
  }
  const logs = $("job-logs");
  clear(logs);
  for (const e of (s.logs || []).slice(-50)) {
    const t = typeof e.ts === "number" ? new Date(e.ts * 1000) : null;
    logs.append(h("li", { class: e.level === "error" ? "error" : null }, t ? `[${clockTime(t)}] ` : "", e.message || JSON.stringify(e)));
  }
}

// Wall time of each phase (GET /api/train/status: phase_seconds; the running phase counts
// until its latest report).
export function renderTimings(seconds) {
  const entries = Object.entries(seconds).filter(([, v]) => Number.isFinite(v));
  $("job-timings-box").hidden = entries.length === 0;
  $("job-timings").replaceChildren(...entries.flatMap(([phase, v]) => [
    h("dt", {}, phase), h("dd", {}, v < 10 ? `${v.toFixed(1)}s` : duration(v))]));
}

const STAT_LABELS = [
  ["recordings", "Your recordings"],
  ["positive_samples", "Positive samples"],
  ["user_positive_windows", "… from your recordings"],
  ["tts_positive_windows", "… from TTS voices"],
  ["negative_samples", "Negative samples"],
  ["hard_negative_samples", "Hard negatives"],
  ["train_size", "Training set"],
  ["val_size", "Validation set"],
  ["tts_voices_train", "TTS voices (training)"],
  ["tts_voices_heldout", "TTS voices (held out)"],
  ["negative_hours_train", "Negative audio (hours)"],
  ["negative_hours_calibration", "Calibration audio (hours)"],
  ["negative_hours_heldout", "Held-out audio (hours)"],
  ["natural_speech_hours", "Real speech (hours)"],
];

function statsView(stats) {
  if (!Object.keys(stats).length) return h("p", { class: "muted" }, "Counted while the data is prepared.");
  const dl = h("dl", { class: "kv" });
  for (const [k, label] of STAT_LABELS) {
    if (stats[k] === undefined) continue;
    const v = stats[k];
    dl.append(h("dt", {}, label), h("dd", {}, typeof v === "number" ? (Number.isInteger(v) ? v.toLocaleString() : v.toFixed(2)) : String(v)));
  }
  if (stats.hard_negative_phrases && stats.hard_negative_phrases.length) {
    dl.append(h("dt", {}, "Hard-negative phrases"), h("dd", {}, stats.hard_negative_phrases.slice(0, 12).join(", ") + (stats.hard_negative_phrases.length > 12 ? ", …" : "")));
  }
  return dl;
}

async function cancel() {
  const ok = await confirmDialog("Stop this training job? Progress so far is discarded.", { title: "Cancel training?", ok: "Cancel training" });
  if (!ok) return;
  const btn = $("cancel-btn");
  btn.disabled = true;
  try {
    const res = await api.post(`/api/train/cancel/${encodeURIComponent(jobId)}`);
    toast(res.message || "Cancellation requested");
    $("job-phase").textContent = "Cancelling…";
  } catch (err) {
    btn.disabled = false;
    showError($("job-error"), err, "Could not cancel");
  }
  stopPolling();
  poll();
}

async function showResults(status) {
  modelId = status.model_id;
  let model = null;
  try {
    if (modelId) model = await api.get(`/api/models/${encodeURIComponent(modelId)}`);
  } catch (err) {
    showError($("job-error"), err, "The model could not be loaded");
  }
  const metrics = (model && model.metrics) || status.metrics || {};
  const figures = model || status;  // fa_per_hour, frr: held-out figures
  const threshold = model ? model.threshold : status.threshold;
  renderMetricCards({ figures, metrics, threshold, target: model && model.target_fa_per_hour });
  const stats = (model && model.data_stats) || status.data_stats || {};
  const thin = $("res-thin");
  thin.hidden = !(stats.negatives_thin || stats.negatives_partial);
  thin.textContent = stats.negatives_thin
    ? `Thin negatives: this model saw only ${Number(stats.natural_speech_hours || 0).toFixed(2)} h of natural speech among its negatives, so it will likely false-wake more often on real speech and music than its figures suggest. Retrain once the real negatives are ready (the Train page says when).`
    : stats.negatives_partial
      ? "Partial negatives: the real negatives were still being prepared when this model was trained, so it learnt from part of them: expect more false wakes and more missed wake words than from a model trained on all of them. Retrain once they are ready (the Train page says when)."
      : "";
  const notes = $("res-notes");
  clear(notes);
  for (const n of (model && model.notes) || status.notes || []) notes.append(h("li", {}, n));
  // The DET curve is calibration FA/h against held-out misses: mark it on the same scales.
  $("res-det").replaceChildren(detChart(model ? model.det_curve : [], { threshold, faPerHour: figures.calibration_fa_per_hour, frr: figures.frr }));
  if (model && model.history && model.history.length) $("job-chart").replaceChildren(historyChart(model.history));
  $("results").hidden = false;
  $("test-now-btn").disabled = !modelId;
}

/**
 * The result cards: misses and false wakes measured on held-out material, named in words
 * ("on 2.1 h of held-out speech, music and noise"), and the threshold.
 * figures: {fa_per_hour, frr, heldout_hours, enough_heldout_audio, calibration_fa_per_hour}.
 */
export function renderMetricCards({ figures, metrics, threshold, target }, prefix = "res") {
  const f = figures || {};
  const frr = f.frr;
  const positives = heldoutPositivesWords(metrics);
  $(`${prefix}-frr`).textContent = pct(frr);
  $(`${prefix}-frr-words`).textContent = frr === null || frr === undefined ? frrInWords(frr) : `${frrInWords(frr)} (${positives || "held-out clips"})`;
  const fa = f.enough_heldout_audio ? f.fa_per_hour : null;
  $(`${prefix}-fa`).textContent = fa === null || fa === undefined ? "—" : num(fa, fa < 10 ? 2 : 1);
  const faWords = falseWakesInWords(f, metrics);
  $(`${prefix}-fa-words`).textContent = faWords;
  $(`${prefix}-threshold`).textContent = num(threshold, 2);
  $(`${prefix}-threshold-words`).textContent = `The model reacts when its score passes ${num(threshold, 2)} (0 to 1)${target ? `, chosen for at most ${target} false wakes per hour on the calibration audio` : ""}.`;
  const summary = $(`${prefix}-summary`);
  if (summary) {
    const missed = frr === null || frr === undefined ? "Misses were not measured" : `On ${positives || "held-out clips"} it ${frrInWords(frr)}`;
    summary.textContent = `${missed}; false wakes: ${faWords}.`;
  }
}


