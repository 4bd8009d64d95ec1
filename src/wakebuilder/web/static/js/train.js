// The train wizard: wake word, recordings (microphone or files) with quality feedback,
// options (presets and every advanced field), then POST /api/train/start.
import { api, ApiError } from "./api.js";
import { Microphone, ClipRecorder, encodeWav, analyzeClip, resample, dbfs, TARGET_RATE } from "./audio.js";
import { h, clear, num, dateTime } from "./format.js";
import { validateWakeWord } from "./validate.js";
import { showError, reasonLabel, toast, waveform, statusBadge } from "./ui.js";
import * as negatives from "./negatives.js";

const MAX_CLIPS = 5;
const $ = (id) => document.getElementById(id);

let options = null; // train-options.json
let step = 1;
let clips = []; // {id, name, blob, url, samples, source, status, message, report}
let clipSeq = 0;
let mic = null;
let recorder = null;
let checkEndpoint = true; // POST /api/train/check exists until it answers 404/405
let playing = null;

export async function init() {
  const form = $("train-form");
  form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  form.addEventListener("keydown", (e) => {
    // Enter in the wake-word box moves on instead of submitting the whole form.
    if (e.key === "Enter" && e.target.id === "wake-word") { e.preventDefault(); go(2); }
  });
  for (const b of form.querySelectorAll("[data-next]")) {
    b.addEventListener("click", () => go(Number(b.dataset.next)));
  }
  const ww = $("wake-word");
  ww.addEventListener("input", () => validateField(false));
  ww.addEventListener("blur", () => validateField(true));
  $("record-btn").addEventListener("click", recordClip);
  $("stop-btn").addEventListener("click", () => recorder && recorder.stop && recorder.stop());
  $("upload-input").addEventListener("change", (e) => addFiles([...e.target.files]).finally(() => { e.target.value = ""; }));
  $("reset-options").addEventListener("click", () => applyPreset(currentPreset()));
  for (const r of form.querySelectorAll('input[name="preset"]')) {
    r.addEventListener("change", () => applyPreset(r.value));
  }
  try {
    options = await (await fetch(new URL("./train-options.json", import.meta.url))).json();
    renderOptions();
  } catch (err) {
    showError($("train-error"), new Error(`Could not load the option list: ${err.message}`));
  }
  renderClips();
}

export function show() {
  go(step, { focus: false });
  refreshRecent();
  negatives.watch();
}

export function hide() {
  stopMic();
  negatives.stop();
}

// ------------------------------------------------------------------------------- steps
function validateField(strict) {
  const ww = $("wake-word");
  const res = validateWakeWord(ww.value);
  const showIt = strict || ww.value.trim().length > 0;
  $("wake-word-error").textContent = !res.ok && showIt ? res.message : "";
  ww.setAttribute("aria-invalid", !res.ok && showIt ? "true" : "false");
  for (const el of document.querySelectorAll(".ww-echo")) el.textContent = res.ok ? res.text : "it";
  return res;
}

function go(target, { focus = true } = {}) {
  if (target > 1 && !validateField(true).ok) {
    target = 1;
    $("wake-word").focus();
  } else if (target > 2 && !clipsReady()) {
    target = 2;
  }
  step = target;
  for (const fs of document.querySelectorAll("#train-form .step")) fs.hidden = Number(fs.dataset.step) !== step;
  for (const li of document.querySelectorAll("[data-step-indicator]")) {
    const n = Number(li.dataset.stepIndicator);
    li.classList.toggle("current", n === step);
    li.classList.toggle("done", n < step);
    if (n === step) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
  }
  if (step !== 2) stopMic();
  if (step === 3) renderSummary();
  if (focus) {
    const fs = document.querySelector(`#train-form .step[data-step="${step}"]`);
    const first = step === 1 ? $("wake-word") : step === 2 ? $("record-btn") : $("start-btn");
    (first || fs).focus();
  }
}

function clipsReady() {
  const err = $("clips-error");
  if (!clips.length) { err.textContent = "Record or upload at least one clip."; return false; }
  if (clips.some((c) => c.status === "checking")) { err.textContent = "Wait until every clip is checked."; return false; }
  const bad = clips.filter((c) => c.status === "bad");
  if (bad.length) { err.textContent = `Delete or replace the clip${bad.length > 1 ? "s" : ""} marked with a problem first.`; return false; }
  err.textContent = "";
  return true;
}

// ---------------------------------------------------------------------------- recording
async function ensureMic() {
  if (mic) return mic;
  const m = new Microphone();
  await m.open();
  mic = m;
  m.subscribe(({ rms }) => setLevel(dbfs(rms))); // the meter runs while the microphone is open
  return mic;
}

function stopMic() {
  if (recorder && recorder.stop) recorder.stop();
  if (mic) { mic.close(); mic = null; }
  setLevel(-90);
  const state = $("rec-state");
  if (state) { state.textContent = "Microphone off."; state.classList.remove("active"); }
}

function setLevel(db) {
  const meter = $("level-meter");
  const frac = Math.max(0, Math.min(1, (db + 60) / 60));
  meter.querySelector(".meter-fill").style.width = `${(frac * 100).toFixed(1)}%`;
  meter.setAttribute("aria-valuenow", Math.round(Math.max(-60, db)));
}

const STATE_TEXT = {
  settling: "Listening… waiting for a moment of quiet.",
  armed: "Recording: say the wake word now.",
  speech: "Hearing you… pause when you are done.",
  done: "Clip recorded.",
};

async function recordClip() {
  if (clips.length >= MAX_CLIPS) { $("clips-error").textContent = `At most ${MAX_CLIPS} clips; delete one to record another.`; return; }
  const btn = $("record-btn");
  const stop = $("stop-btn");
  const state = $("rec-state");
  $("clips-error").textContent = "";
  btn.disabled = true;
  try {
    state.textContent = "Opening the microphone…";
    await ensureMic();
  } catch (err) {
    btn.disabled = false;
    const msg = err.name === "NotAllowedError" ? "Microphone access was refused. Allow it in the browser's site settings, or upload files instead."
      : err.name === "NotFoundError" ? "No microphone was found. Connect one, or upload files instead." : err.message;
    state.textContent = "Microphone off.";
    $("clips-error").textContent = msg;
    return;
  }
  btn.classList.add("recording");
  btn.querySelector(".label").textContent = "Recording…";
  stop.hidden = false;
  state.classList.add("active");
  recorder = new ClipRecorder(mic, { onState: (s) => { state.textContent = STATE_TEXT[s] || s; } });
  const { samples, reason } = await recorder.record();
  recorder = null;
  btn.classList.remove("recording");
  btn.querySelector(".label").textContent = "Record a clip";
  btn.disabled = clips.length + 1 >= MAX_CLIPS;
  stop.hidden = true;
  state.classList.remove("active");
  if (reason === "timeout") {
    state.textContent = "No speech heard in 10 seconds. Check the microphone level and try again.";
    btn.disabled = false;
    return;
  }
  if (samples.length < TARGET_RATE * 0.1) {
    state.textContent = "The clip was too short; try again.";
    btn.disabled = false;
    return;
  }
  state.textContent = `Clip ${clips.length + 1} recorded (${(samples.length / TARGET_RATE).toFixed(1)} s). ${clips.length + 1 < 3 ? "Record another." : ""}`;
  const id = ++clipSeq;
  const blob = encodeWav(samples, TARGET_RATE);
  addClip({ id, name: `recording-${id}.wav`, blob, samples, source: "mic" });
  btn.focus();
}

async function addFiles(files) {
  const room = MAX_CLIPS - clips.length;
  if (files.length > room) {
    $("clips-error").textContent = `At most ${MAX_CLIPS} clips: only the first ${Math.max(0, room)} file(s) were added.`;
  } else {
    $("clips-error").textContent = "";
  }
  for (const file of files.slice(0, Math.max(0, room))) {
    const id = ++clipSeq;
    let samples = null;
    try { samples = await decodeFile(file); } catch (_) { /* the server decides */ }
    addClip({ id, name: file.name, blob: file, samples, source: "file" });
  }
}

async function decodeFile(file) {
  const data = await file.arrayBuffer();
  const ctx = new OfflineAudioContext(1, 1, 44100);
  const audio = await ctx.decodeAudioData(data);
  const ch = audio.getChannelData(0);
  return resample(ch, audio.sampleRate, TARGET_RATE);
}

function addClip(clip) {
  clip.url = URL.createObjectURL(clip.blob);
  clip.status = "checking";
  clip.message = "Checking…";
  clips.push(clip);
  renderClips();
  checkClip(clip);
}

function deleteClip(clip) {
  if (playing && playing.clip === clip) { playing.audio.pause(); playing = null; }
  URL.revokeObjectURL(clip.url);
  clips = clips.filter((c) => c !== clip);
  renderClips();
  $("record-btn").disabled = clips.length >= MAX_CLIPS;
  $("record-btn").focus();
}

function describeReport(r) {
  const bits = [];
  if (Number.isFinite(r.speech_s)) bits.push(`${r.speech_s.toFixed(1)} s of speech`);
  if (Number.isFinite(r.duration_s)) bits.push(`${r.duration_s.toFixed(1)} s long`);
  if (Number.isFinite(r.trimmed_s) && Number.isFinite(r.duration_s) && r.duration_s - r.trimmed_s >= 0.05) {
    bits.push(`trimmed to ${r.trimmed_s.toFixed(1)} s`);
  }
  if (Number.isFinite(r.level_dbfs)) bits.push(`level ${r.level_dbfs.toFixed(0)} dBFS`);
  return bits.join(", ");
}

/** Server check (POST /api/train/check) when available, else the same rules in the browser. */
async function checkClip(clip) {
  if (checkEndpoint) {
    const form = new FormData();
    form.append("audio", clip.blob, clip.name);
    try {
      const res = await api.post("/api/train/check", { form });
      if (res.ok) {
        clip.status = "ok";
        clip.report = res.report;
        clip.message = `Good: ${describeReport(res.report || {})}`;
      } else {
        clip.status = "bad";
        clip.reason = res.reason;
        clip.message = `${reasonLabel(res.reason)}: ${stripFile(res.message, clip.name)}`;
      }
      renderClips();
      return;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) {
        checkEndpoint = false; // an older server: check in the browser
      } else if (err instanceof ApiError && err.details && err.details.reason) {
        clip.status = "bad";
        clip.reason = err.details.reason;
        clip.message = `${reasonLabel(err.details.reason)}: ${stripFile(err.message, clip.name)}`;
        renderClips();
        return;
      } else if (err instanceof ApiError && err.status !== 0) {
        clip.status = "bad";
        clip.message = err.describe();
        renderClips();
        return;
      }
    }
  }
  if (!clip.samples) {
    clip.status = "ok";
    clip.message = "Could not be checked in the browser; the server checks it when training starts.";
  } else {
    const r = analyzeClip(clip.samples, TARGET_RATE);
    clip.report = r;
    if (r.problems.length) {
      clip.status = "bad";
      clip.reason = r.problems[0].reason;
      clip.message = `${reasonLabel(r.problems[0].reason)}: ${r.problems[0].message}`;
    } else {
      clip.status = "ok";
      clip.message = `Looks good: ${describeReport(r)}`;
    }
  }
  renderClips();
}

function stripFile(message, name) {
  return (message || "").replace(`${name}: `, "");
}

function togglePlay(clip, button) {
  if (playing) {
    const was = playing;
    playing.audio.pause();
    playing.button.textContent = "Play";
    playing = null;
    if (was.clip === clip) return;
  }
  const audio = new Audio(clip.url);
  playing = { clip, audio, button };
  button.textContent = "Pause";
  audio.addEventListener("ended", () => { button.textContent = "Play"; playing = null; });
  audio.play().catch(() => { button.textContent = "Play"; playing = null; });
}

function renderClips() {
  const list = $("clips");
  clear(list);
  clips.forEach((clip, i) => {
    const playBtn = h("button", { type: "button", class: "small", "aria-label": `Play clip ${i + 1}` }, "Play");
    playBtn.addEventListener("click", () => togglePlay(clip, playBtn));
    const li = h("li", { class: `clip ${clip.status}`, dataset: { clip: String(clip.id) } },
      h("span", { class: "clip-no", "aria-hidden": "true" }, clip.status === "ok" ? "✓" : clip.status === "bad" ? "!" : String(i + 1)),
      h("div", { class: "clip-info" },
        h("div", { class: "clip-name" }, `Clip ${i + 1}`, h("span", { class: "muted" }, ` · ${clip.source === "mic" ? "recorded" : clip.name}`)),
        clip.samples ? waveform(clip.samples) : null,
        h("div", { class: "clip-quality", role: clip.status === "bad" ? "alert" : null }, clip.message || "")),
      h("div", { class: "clip-buttons" }, playBtn,
        h("button", { type: "button", class: "small danger", "aria-label": `Delete clip ${i + 1}`, onclick: () => deleteClip(clip) }, "Delete")));
    list.append(li);
  });
  $("clip-count").textContent = `(${clips.length} of ${MAX_CLIPS})`;
  $("record-btn").disabled = clips.length >= MAX_CLIPS || Boolean(recorder);
  if (clips.length && !clips.some((c) => c.status !== "ok")) $("clips-error").textContent = "";
}

// ------------------------------------------------------------------------------ options
function fieldId(name) { return `opt-${name}`; }

function renderOptions() {
  const root = $("advanced-fields");
  clear(root);
  for (const group of options.groups) {
    const fields = options.fields.filter((f) => f.group === group.id);
    const grid = h("div", { class: "option-grid" });
    for (const f of fields) grid.append(renderField(f));
    root.append(h("section", { class: "advanced-group", "aria-label": group.title }, h("h3", {}, group.title), grid));
  }
  applyPreset(currentPreset());
}

function renderField(f) {
  const id = fieldId(f.name);
  const hintId = `${id}-hint`;
  const def = f.type === "list" ? (f.default.join(", ") || "none") : String(f.default);
  const hint = h("p", { class: "hint", id: hintId }, f.help, " Default: ", h("span", { class: "mono" }, def), ".",
    f.addition ? [" ", h("span", { class: "tag", title: "Not in the reference API; a WakeBuilder addition" }, "extra")] : null);
  let input;
  if (f.type === "bool") {
    input = h("input", { type: "checkbox", id, name: f.name, "aria-describedby": hintId });
    const wrap = h("div", { class: "option bool", dataset: { field: f.name } },
      h("label", { for: id }, input, f.label, h("code", {}, f.name)), hint);
    input.addEventListener("change", () => markChanged(f, wrap));
    return wrap;
  }
  if (f.type === "select") {
    input = h("select", { id, name: f.name, "aria-describedby": hintId },
      f.options.map(([v, label]) => h("option", { value: v }, label)));
  } else if (f.type === "list") {
    input = h("input", { type: "text", id, name: f.name, "aria-describedby": hintId, placeholder: "none" });
  } else {
    input = h("input", { type: "number", id, name: f.name, "aria-describedby": hintId, inputmode: f.type === "int" ? "numeric" : "decimal",
      min: f.min, max: f.max, step: f.step === undefined ? (f.type === "int" ? 1 : "any") : f.step });
  }
  const wrap = h("div", { class: "option", dataset: { field: f.name } },
    h("label", { for: id }, f.label, " ", h("code", {}, f.name)), input, hint);
  input.addEventListener("input", () => markChanged(f, wrap));
  return wrap;
}

function readField(f) {
  const el = $(fieldId(f.name));
  if (f.type === "bool") return el.checked;
  if (f.type === "list") return el.value.split(",").map((s) => s.trim()).filter(Boolean);
  if (f.type === "select") return el.value;
  if (el.value.trim() === "") return f.default;
  return f.type === "int" ? Number.parseInt(el.value, 10) : Number(el.value);
}

function writeField(f, value) {
  const el = $(fieldId(f.name));
  if (f.type === "bool") el.checked = Boolean(value);
  else if (f.type === "list") el.value = value.join(", ");
  else el.value = String(value);
  markChanged(f, el.closest(".option"));
}

function markChanged(f, wrap) {
  const v = readField(f);
  const same = JSON.stringify(v) === JSON.stringify(f.default);
  wrap.classList.toggle("changed", !same);
}

function currentPreset() {
  const checked = document.querySelector('input[name="preset"]:checked');
  return checked ? checked.value : "default";
}

function applyPreset(preset) {
  if (!options) return;
  const values = preset === "fast" ? options.fast : {};
  for (const f of options.fields) writeField(f, f.name in values ? values[f.name] : f.default);
  renderSummary();
}

function optionValues() {
  const out = {};
  for (const f of options.fields) out[f.name] = readField(f);
  return out;
}

function invalidOptions() {
  const bad = [];
  for (const f of options.fields) {
    const el = $(fieldId(f.name));
    if (f.type === "int" || f.type === "float") {
      const v = readField(f);
      if (!Number.isFinite(v) || (f.type === "int" && !Number.isInteger(v)) || (f.min !== undefined && v < f.min) || (f.max !== undefined && v > f.max)) {
        bad.push(`${f.label} must be ${f.type === "int" ? "a whole number" : "a number"} from ${f.min} to ${f.max}`);
        el.setAttribute("aria-invalid", "true");
      } else {
        el.removeAttribute("aria-invalid");
      }
    }
  }
  return bad;
}

function renderSummary() {
  const res = validateWakeWord($("wake-word").value);
  const el = $("train-summary");
  if (!el || !options) return;
  const o = optionValues();
  clear(el).append(
    "Wake word ", h("strong", {}, `“${res.text}”`), `, ${clips.length} clip${clips.length === 1 ? "" : "s"}, `,
    `up to ${o.num_epochs} epochs on ${o.target_positive_samples.toLocaleString()} positive samples, calibrated for at most ${o.target_fa_per_hour} false wakes per hour.`);
}

// ------------------------------------------------------------------------------- submit
async function submit() {
  const errBox = $("train-error");
  showError(errBox, null);
  const ww = validateField(true);
  if (!ww.ok) { go(1); return; }
  if (!clipsReady()) { go(2); return; }
  const bad = invalidOptions();
  if (bad.length) {
    $("advanced").open = true;
    showError(errBox, new Error(bad.join("; ")));
    return;
  }
  const form = new FormData();
  form.append("wake_word", ww.text);
  for (const clip of clips) form.append("audio_files", clip.blob, clip.name);
  for (const [k, v] of Object.entries(optionValues())) {
    if (Array.isArray(v)) v.forEach((item) => form.append(k, item));
    else form.append(k, typeof v === "boolean" ? (v ? "true" : "false") : String(v));
  }
  const wait = negatives.waitChoice();
  if (wait !== null) form.append("wait_for_negatives", wait);
  const btn = $("start-btn");
  btn.disabled = true;
  btn.textContent = "Uploading…";
  try {
    const res = await api.post("/api/train/start", { form });
    if (res.warning) sessionStorage.setItem(`wakebuilder.warning.${res.job_id}`, res.warning);
    toast(res.waiting_for_negatives ? "Training queued until the first slice of real negatives is ready."
      : res.queue_position ? `Training queued (position ${res.queue_position}).` : "Training started.");
    stopMic();
    window.location.hash = `#/job/${res.job_id}`;
  } catch (err) {
    // Point at the clip the server refused, with its reason.
    if (err instanceof ApiError && err.details && err.details.file) {
      const clip = clips.find((c) => c.name === err.details.file);
      if (clip) {
        clip.status = "bad";
        clip.reason = err.details.reason;
        clip.message = `${reasonLabel(err.details.reason)}: ${stripFile(err.message, clip.name)}`;
        renderClips();
      }
    }
    showError(errBox, err, "Training could not start");
    errBox.focus && errBox.scrollIntoView({ block: "nearest" });
  } finally {
    btn.disabled = false;
    btn.textContent = "Start training";
  }
}

/** Reset the wizard (after a finished job, "Train another"). */
export function reset() {
  for (const c of clips) URL.revokeObjectURL(c.url);
  clips = [];
  $("wake-word").value = "";
  step = 1;
  renderClips();
  validateField(false);
}

// -------------------------------------------------------------------------- recent jobs
async function refreshRecent() {
  const list = $("recent-jobs");
  try {
    const body = await api.get("/api/train/jobs");
    clear(list);
    const jobs = (body.jobs || []).slice(0, 8);
    if (!jobs.length) { list.append(h("li", { class: "muted" }, "None yet.")); return; }
    for (const j of jobs) {
      list.append(h("li", {}, statusBadge(j.status), h("span", { class: "ww" }, j.wake_word || "—"),
        h("span", { class: "muted" }, dateTime(j.created_at)),
        j.status === "pending" || j.status === "training" || j.status === "running" ? h("span", { class: "muted" }, `${num(j.progress, 0)} %`) : null,
        h("a", { href: `#/job/${j.job_id}` }, j.status === "completed" ? "Results" : "Open")));
    }
  } catch (err) {
    clear(list).append(h("li", { class: "muted" }, `Could not list jobs: ${err.message}`));
  }
}

