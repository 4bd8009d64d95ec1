// Shared UI bits: error boxes, toasts, the confirmation dialog, the model list.
import { api, ApiError } from "./api.js";
import { h, clear } from "./format.js";

const REASONS = {
  too_long: "Too long",
  speech_too_long: "Too much speech",
  silent: "Too quiet",
  clipped: "Clipped (too loud)",
  no_speech: "No speech found",
  too_short: "Too little speech",
  too_large: "File too large",
  empty: "Empty file",
  undecodable: "Not a readable audio file",
  unsupported_format: "Unsupported audio format",
  too_long_file: "Too long for a file test",
  too_many_channels: "Too many channels",
  bad_sample_rate: "Unsupported sample rate",
  non_finite: "Corrupt samples (NaN or infinity)",
  busy: "Server busy; try again",
};

export function reasonLabel(reason) {
  return REASONS[reason] || (reason ? reason.replace(/_/g, " ") : "Problem");
}

/** Fill an alert element from an error (ApiError or Error); hides it for null. */
export function showError(el, err, prefix = "") {
  if (!el) return;
  clear(el);
  if (!err) { el.hidden = true; return; }
  const message = err instanceof ApiError ? err.describe() : (err.message || String(err));
  el.append(h("strong", {}, prefix ? `${prefix}: ` : ""), message);
  if (err instanceof ApiError) {
    const d = err.details || {};
    const bits = [];
    if (d.reason) bits.push(`reason: ${reasonLabel(d.reason)}`);
    if (d.file) bits.push(`file: ${d.file}`);
    if (err.code && err.code !== "validation_error") bits.push(`error: ${err.code}`);
    if (err.status === 401) bits.push("this server needs an API token (add ?token=… to the page address once)");
    if (bits.length) el.append(h("p", { class: "details" }, bits.join(" · ")));
  }
  el.hidden = false;
}

let toastTimer = null;
export function toast(message, ms = 3500) {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, ms);
}

/** Modal confirmation; resolves true when confirmed. */
export function confirmDialog(text, { title = "Are you sure?", ok = "Delete" } = {}) {
  const dialog = document.getElementById("confirm-dialog");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = ok;
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (opener && opener.focus && document.contains(opener)) opener.focus();
      resolve(dialog.returnValue === "ok");
    }, { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

/** GET /api/models?type=... */
export async function listModels(type = "all") {
  const body = await api.get(`/api/models?type=${encodeURIComponent(type)}`);
  return body.models || [];
}

export function statusBadge(status) {
  const cls = status === "training" || status === "running" ? "running" : status;
  return h("span", { class: `badge ${cls}` }, status);
}

/** Tiny waveform SVG of samples. */
export function waveform(samples, width = 240, height = 28) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "wave");
  svg.setAttribute("aria-hidden", "true");
  if (!samples || !samples.length) return svg;
  const step = Math.max(1, Math.floor(samples.length / width));
  let d = "";
  for (let x = 0; x < width; x++) {
    let peak = 0;
    const start = Math.floor((x * samples.length) / width);
    for (let i = start; i < Math.min(samples.length, start + step); i++) peak = Math.max(peak, Math.abs(samples[i]));
    const y = Math.max(0.5, peak * (height / 2));
    d += `M${x} ${(height / 2 - y).toFixed(1)}V${(height / 2 + y).toFixed(1)}`;
  }
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", d);
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "1");
  svg.append(path);
  return svg;
}
