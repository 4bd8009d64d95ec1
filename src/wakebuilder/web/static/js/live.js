// Live test: model picker, microphone streaming over WS /api/test/ws/{model_id} (16 kHz
// 16-bit PCM binary frames), confidence meter, threshold slider (config messages), detection
// log, and a file test through POST /api/test/file.
import { api, ApiError, openSocket } from "./api.js";
import { Microphone, PcmStreamer } from "./audio.js";
import { h, clear, num, clockTime } from "./format.js";
import { showError, listModels, toast } from "./ui.js";
import { capturesPanel } from "./captures.js";

const $ = (id) => document.getElementById(id);

let models = [];
let current = null; // model details
let mic = null;
let ws = null;
let streamer = null;
let configTimer = null;
let flashTimer = null;
let detections = 0;
let navigate = () => {};
let refreshCaptures = null;

export function init(ctx) {
  navigate = ctx.navigate;
  $("test-model").addEventListener("change", () => navigate(`#/test/${$("test-model").value}`));
  $("live-start").addEventListener("click", start);
  $("live-stop").addEventListener("click", () => stop("Stopped."));
  const slider = $("test-threshold");
  slider.addEventListener("input", () => {
    setThresholdUi(Number(slider.value));
    clearTimeout(configTimer);
    configTimer = setTimeout(sendConfig, 120);
  });
  $("threshold-reset").addEventListener("click", () => {
    if (!current) return;
    slider.value = current.threshold;
    setThresholdUi(current.threshold);
    sendConfig();
  });
  $("clear-log").addEventListener("click", () => { detections = 0; renderEmptyLog(); });
  $("live-capture").addEventListener("change", () => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "config", capture: $("live-capture").checked }));
  });
  $("live-missed").addEventListener("click", () => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "missed" }));
  });
  $("file-test-form").addEventListener("submit", (e) => { e.preventDefault(); testFile(); });
  renderEmptyLog();
}

export async function show(modelId) {
  showError($("live-error"), null);
  try {
    models = await listModels("all");
  } catch (err) {
    showError($("live-error"), err, "Could not list models");
    return;
  }
  const select = $("test-model");
  clear(select);
  if (!models.length) {
    select.append(h("option", { value: "" }, "No models yet: train one first"));
    select.disabled = true;
    $("live-start").disabled = true;
    return;
  }
  select.disabled = false;
  for (const m of models) {
    select.append(h("option", { value: m.id }, `${m.wake_word}${m.type === "default" ? " (default)" : ""}${m.id !== m.wake_word ? ` · ${m.id}` : ""}`));
  }
  const wanted = modelId && models.some((m) => m.id === modelId) ? modelId : (current && models.some((m) => m.id === current.id) ? current.id : models[0].id);
  select.value = wanted;
  if (!current || current.id !== wanted) {
    if (ws) stop("Switched model.");
    await loadModel(wanted);
  } else if (refreshCaptures) {
    refreshCaptures();
  }
  $("live-start").disabled = Boolean(ws);
}

export function hide() {
  stop("Not listening.");
}

async function loadModel(id) {
  try {
    current = await api.get(`/api/models/${encodeURIComponent(id)}`);
  } catch (err) {
    current = null;
    showError($("live-error"), err, "Could not load the model");
    return;
  }
  $("test-threshold").value = current.threshold;
  setThresholdUi(current.threshold);
  $("live-state").textContent = `Ready to listen for “${current.wake_word}”.`;
  refreshCaptures = capturesPanel($("test-captures"), current.id, { navigate });
}

function setThresholdUi(t) {
  $("test-threshold-value").textContent = num(t, 2);
  $("conf-meter").querySelector(".threshold-mark").style.left = `${(t * 100).toFixed(1)}%`;
}

function sendConfig() {
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({ type: "config", threshold: Number($("test-threshold").value) }));
  }
}

function setConfidence(c, threshold) {
  const meter = $("conf-meter");
  meter.querySelector(".meter-fill").style.width = `${(Math.max(0, Math.min(1, c)) * 100).toFixed(1)}%`;
  meter.setAttribute("aria-valuenow", c.toFixed(2));
  meter.classList.toggle("hot", c >= threshold);
  $("conf-value").textContent = c.toFixed(2);
}

async function start() {
  if (!current || ws) return;
  showError($("live-error"), null);
  const startBtn = $("live-start");
  startBtn.disabled = true;
  $("live-state").textContent = "Opening the microphone…";
  try {
    mic = new Microphone();
    await mic.open();
  } catch (err) {
    mic = null;
    startBtn.disabled = false;
    $("live-state").textContent = "Not listening.";
    const msg = err.name === "NotAllowedError" ? "Microphone access was refused; allow it in the browser's site settings." : err.message;
    showError($("live-error"), new Error(msg), "Microphone unavailable");
    return;
  }
  $("live-state").textContent = "Connecting…";
  const threshold = Number($("test-threshold").value);
  const capture = $("live-capture").checked ? 1 : 0;
  const socket = openSocket(`/api/test/ws/${encodeURIComponent(current.id)}`, { sample_rate: 16000, threshold, capture });
  socket.binaryType = "arraybuffer";
  ws = socket;
  socket.addEventListener("message", (e) => onMessage(e.data));
  socket.addEventListener("close", (e) => {
    if (ws !== socket) return;
    const why = e.code === 1000 || e.code === 1005 ? "" : ` (code ${e.code}${e.reason ? `: ${e.reason}` : ""})`;
    stop(`Connection closed${why}.`);
  });
  socket.addEventListener("error", () => {
    if (ws === socket) showError($("live-error"), new Error("The live connection failed. Is the server still running?"));
  });
  $("live-stop").hidden = false;
  $("live-stop").focus();
}

function onMessage(data) {
  if (typeof data !== "string") return;
  let msg;
  try { msg = JSON.parse(data); } catch (_) { return; }
  if (msg.type === "ready") {
    $("live-state").textContent = `Listening for “${msg.wake_word}” (mic at ${mic ? mic.sampleRate : "?"} Hz, sent at 16 kHz).`;
    $("live-state").classList.add("active");
    $("live-start").classList.add("recording");
    $("live-missed").disabled = !msg.capture;
    const slider = Number($("test-threshold").value);
    if (Math.abs(slider - msg.threshold) > 1e-6) sendConfig();
    streamer = new PcmStreamer(mic, (pcm) => {
      if (ws && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 256 * 1024) ws.send(pcm.buffer);
    }, { chunkMs: 100 });
  } else if (msg.type === "score") {
    setConfidence(msg.confidence, msg.threshold);
  } else if (msg.type === "detection") {
    setConfidence(msg.confidence, msg.threshold);
    addDetection(msg);
  } else if (msg.type === "error") {
    showError($("live-error"), new ApiError(400, msg));
  } else if (msg.type === "warning") {
    $("live-state").textContent = msg.message;
  } else if (msg.type === "config_ack") {
    setThresholdUi(msg.threshold);
  } else if (msg.type === "captured") {
    if (msg.capture.kind === "missed") toast("Kept the last seconds as a missed wake word.");
    if (refreshCaptures) refreshCaptures();
  }
}

function renderEmptyLog() {
  clear($("detection-log")).append(h("li", { class: "empty" }, "No detections yet. Say the wake word."));
}

function addDetection(msg) {
  const log = $("detection-log");
  if (!detections) clear(log);
  detections++;
  const when = msg.timestamp ? new Date(msg.timestamp) : new Date();
  const at = Number.isFinite(msg.time_ms) ? `${(msg.time_ms / 1000).toFixed(1)} s into the stream` : "";
  log.prepend(h("li", { class: "detection" },
    h("span", {}, h("strong", {}, clockTime(when)), " ", h("span", { class: "muted" }, at)),
    h("span", {}, "confidence ", h("span", { class: "conf" }, num(msg.confidence, 2)))));
  const flash = $("detect-flash");
  flash.textContent = `“${msg.wake_word || (current && current.wake_word) || "wake word"}” detected!`;
  flash.classList.add("on");
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => flash.classList.remove("on"), 1200);
}

function stop(message) {
  if (streamer) { streamer.stop(); streamer = null; }
  if (ws) { const s = ws; ws = null; try { s.close(1000); } catch (_) { /* closed */ } }
  if (mic) { mic.close(); mic = null; }
  const startBtn = $("live-start");
  if (startBtn) {
    startBtn.disabled = !current;
    startBtn.classList.remove("recording");
    $("live-stop").hidden = true;
    $("live-missed").disabled = true;
    $("live-state").textContent = message;
    $("live-state").classList.remove("active");
    setConfidence(0, 1);
  }
  // The server writes the clips still waiting for their tail when the socket closes, after
  // the last "captured" message this page could receive: list them once that is done.
  if (refreshCaptures) {
    for (const ms of [700, 2000]) setTimeout(() => { if (refreshCaptures) refreshCaptures(); }, ms);
  }
}

async function testFile() {
  const input = $("file-test-input");
  const out = $("file-test-result");
  if (!current) return;
  if (!input.files.length) { clear(out).append(h("p", { class: "field-error" }, "Choose an audio file first.")); return; }
  const form = new FormData();
  form.append("model_id", current.id);
  form.append("audio", input.files[0], input.files[0].name);
  form.append("threshold", String(Number($("test-threshold").value)));
  clear(out).append(h("p", { class: "muted" }, "Scoring…"));
  try {
    const r = await api.post("/api/test/file", { form });
    const list = h("ol", { class: "detection-log" });
    for (const d of r.detections || []) {
      list.append(h("li", {}, h("span", {}, `at ${d.time_s.toFixed(2)} s`), h("span", {}, "confidence ", h("span", { class: "conf" }, num(d.score, 2)))));
    }
    clear(out).append(h("div", { class: "file-result" },
      h("p", { class: `verdict ${r.detected ? "yes" : "no"}` }, r.detected
        ? `Detected ${r.detections.length} time${r.detections.length === 1 ? "" : "s"}`
        : "Not detected"),
      h("p", { class: "muted" }, `Highest score ${num(r.confidence, 2)} against threshold ${num(r.threshold, 2)} over ${num(r.duration_s, 1)} s of audio (${Math.round(r.processing_time_ms)} ms).`),
      r.detections && r.detections.length ? list : null));
  } catch (err) {
    const box = h("div", { class: "alert error", role: "alert" });
    clear(out).append(box);
    showError(box, err, "File test failed");
  }
}
