// Captured clips of a model (Test page and library details): play, score, label ("not my
// wake word" / "that was me"), delete, and "Improve this model" (POST /api/models/{id}/improve,
// then the job view). Clips come from the live test with "Keep clips" on.
import { api, getToken } from "./api.js";
import { h, clear, dateTime, num } from "./format.js";
import { showError, toast } from "./ui.js";

const KIND = { detection: "Detection", near_miss: "Near miss", missed: "Missed (you said it)", upload: "Uploaded" };
const LABEL = { false_wake: "not my wake word", wake_word: "that was me" };
let playing = null;

async function play(modelId, clip, button) {
  if (playing) { playing.pause(); playing = null; }
  let src = clip.audio_url;
  if (getToken()) {
    const response = await fetch(src, { headers: { Authorization: `Bearer ${getToken()}` } });
    src = URL.createObjectURL(await response.blob());
  }
  const audio = new Audio(src);
  playing = audio;
  button.textContent = "Playing…";
  audio.addEventListener("ended", () => { button.textContent = "Play"; });
  await audio.play().catch(() => { button.textContent = "Play"; });
}

function item(modelId, clip, refresh, errorBox) {
  const setLabel = async (label) => {
    try {
      await api.post(`/api/models/${encodeURIComponent(modelId)}/captures/${clip.id}/label`, { json: { label } });
      await refresh();
    } catch (err) { showError(errorBox, err, "Could not label the clip"); }
  };
  const remove = async () => {
    try {
      await api.del(`/api/models/${encodeURIComponent(modelId)}/captures/${clip.id}`);
      await refresh();
    } catch (err) { showError(errorBox, err, "Could not delete the clip"); }
  };
  const playBtn = h("button", { type: "button", class: "small", "aria-label": `Play clip ${clip.id}` }, "Play");
  playBtn.addEventListener("click", () => play(modelId, clip, playBtn).catch((err) => showError(errorBox, err, "Could not play")));
  const score = clip.kind === "upload" ? "" : `score ${num(clip.score, 2)} / threshold ${num(clip.threshold, 2)}`;
  return h("li", { class: `capture${clip.label ? ` labelled ${clip.label}` : ""}`, dataset: { capture: clip.id, kind: clip.kind, label: clip.label || "" } },
    h("span", {}, h("strong", {}, KIND[clip.kind] || clip.kind), " ",
      h("span", { class: "muted" }, `${dateTime(clip.created_at)} · ${num(clip.duration_s, 1)} s ${score ? `· ${score}` : ""}`)),
    h("span", { class: "capture-label" }, clip.label ? `Labelled: ${LABEL[clip.label]}` : "Not labelled"),
    h("span", { class: "card-actions" }, playBtn,
      h("button", { type: "button", class: `small${clip.label === "false_wake" ? " primary" : ""}`, "aria-pressed": String(clip.label === "false_wake"), onclick: () => setLabel(clip.label === "false_wake" ? null : "false_wake") }, "Not my wake word"),
      h("button", { type: "button", class: `small${clip.label === "wake_word" ? " primary" : ""}`, "aria-pressed": String(clip.label === "wake_word"), onclick: () => setLabel(clip.label === "wake_word" ? null : "wake_word") }, "That was me"),
      h("button", { type: "button", class: "small danger", "aria-label": `Delete clip ${clip.id}`, onclick: remove }, "Delete")));
}

/** Render the captured clips of `modelId` into `container`; returns a refresh function. */
export function capturesPanel(container, modelId, { navigate, readOnly = false } = {}) {
  const list = h("ol", { class: "captures", "aria-label": "Captured clips" });
  const usage = h("p", { class: "muted capture-usage" });
  const errorBox = h("div", { class: "alert error", role: "alert", hidden: true });
  const improveBtn = h("button", { type: "button", class: "primary", id: `improve-${modelId}` }, "Improve this model");
  const improveHint = h("p", { class: "hint" }, "Fine-tunes the model with the labelled clips, re-calibrates it and publishes a new version next to this one (this one stays).");
  async function refresh() {
    let data;
    try {
      data = await api.get(`/api/models/${encodeURIComponent(modelId)}/captures`);
    } catch (err) { showError(errorBox, err, "Could not list captured clips"); return; }
    showError(errorBox, null);
    clear(list);
    const labelled = data.captures.filter((c) => c.label).length;
    usage.textContent = `${data.total} clip${data.total === 1 ? "" : "s"} (${labelled} labelled) · ${(data.usage.bytes / 1e6).toFixed(1)} of ${(data.usage.max_bytes / 1e6).toFixed(0)} MB, at most ${data.usage.max_clips} clips`;
    if (!data.captures.length) list.append(h("li", { class: "empty" }, "No clips yet. Test with “Keep clips” on: detections, near misses and “I said it and it missed” are kept here."));
    for (const c of data.captures) list.append(item(modelId, c, refresh, errorBox));
    improveBtn.disabled = readOnly || labelled === 0;
    improveBtn.title = labelled ? "" : "Label at least one clip first";
  }
  improveBtn.addEventListener("click", async () => {
    improveBtn.disabled = true;
    try {
      const res = await api.post(`/api/models/${encodeURIComponent(modelId)}/improve`, { json: {} });
      toast("Improving the model…");
      if (navigate) navigate(`#/job/${res.job_id}`);
    } catch (err) { showError(errorBox, err, "Could not start improving"); improveBtn.disabled = false; }
  });
  clear(container).append(h("h3", { class: "h3" }, "Captured clips"), usage, errorBox, list,
    h("div", { class: "actions left" }, improveBtn), improveHint);
  refresh();
  return refresh;
}
