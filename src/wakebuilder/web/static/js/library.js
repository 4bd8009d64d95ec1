// Model library: cards (wake word, date, FA/h, FRR), custom/default filter, details with
// charts and configuration, download, delete with confirmation.
import { api, download } from "./api.js";
import { historyChart, detChart } from "./charts.js";
import { h, clear, dateTime, falseWakesInWords, frrInWords, heldoutPositivesWords, num, pct, scalar, labelize } from "./format.js";

/** The held-out false wakes per hour as a number, or "—" when too little audio to say. */
function faValue(m) {
  return m.enough_heldout_audio && m.fa_per_hour !== null && m.fa_per_hour !== undefined ? num(m.fa_per_hour, 2) : "—";
}
import { showError, toast, confirmDialog, listModels } from "./ui.js";
import { capturesPanel } from "./captures.js";

const $ = (id) => document.getElementById(id);
let navigate = () => {};
let selected = null;

export function init(ctx) {
  navigate = ctx.navigate;
  for (const r of document.querySelectorAll('input[name="lib-filter"]')) r.addEventListener("change", refresh);
  $("lib-refresh").addEventListener("click", refresh);
}

export async function show(modelId) {
  selected = modelId || null;
  await refresh();
  if (selected) await showDetails(selected);
  else $("model-details").hidden = true;
}

export function hide() {}

function filter() {
  const r = document.querySelector('input[name="lib-filter"]:checked');
  return r ? r.value : "all";
}

async function refresh() {
  const list = $("model-cards");
  showError($("library-error"), null);
  let models;
  try {
    models = await listModels(filter());
  } catch (err) {
    showError($("library-error"), err, "Could not list models");
    return;
  }
  clear(list);
  if (!models.length) {
    list.append(h("li", { class: "card empty-state" },
      filter() === "default" ? "No default models are installed." : "No models yet. ",
      filter() === "default" ? null : h("a", { href: "#/train" }, "Train your first wake word.")));
    return;
  }
  for (const m of models) list.append(card(m));
}

function card(m) {
  const headingId = `card-${m.id}`;
  const li = h("li", { class: `card model-card${selected === m.id ? " selected" : ""}`, "aria-labelledby": headingId, dataset: { model: m.id } },
    h("div", { class: "details-head" }, h("h2", { id: headingId }, m.wake_word), h("span", { class: `badge ${m.type}` }, m.type)),
    h("dl", { class: "kv" },
      h("dt", {}, "Created"), h("dd", {}, dateTime(m.created_at)),
      h("dt", {}, "False wakes/h (held out)"), h("dd", { title: falseWakesInWords(m, null) }, faValue(m)),
      h("dt", {}, "Missed (held out)"), h("dd", { title: frrInWords(m.frr) }, pct(m.frr)),
      h("dt", {}, "Threshold"), h("dd", {}, num(m.threshold, 2))),
    h("div", { class: "card-actions" },
      h("button", { type: "button", class: "small", onclick: () => navigate(`#/library/${m.id}`), "aria-label": `Details of ${m.wake_word}` }, "Details"),
      h("button", { type: "button", class: "small primary", onclick: () => navigate(`#/test/${m.id}`), "aria-label": `Test ${m.wake_word}` }, "Test"),
      h("button", { type: "button", class: "small", onclick: () => dl(m), "aria-label": `Download ${m.wake_word}` }, "Download"),
      m.type === "custom" ? h("button", { type: "button", class: "small danger", onclick: () => remove(m), "aria-label": `Delete ${m.wake_word}` }, "Delete") : null));
  return li;
}

async function dl(m) {
  try {
    await download(`/api/models/${encodeURIComponent(m.id)}/download`, `${m.id}.zip`);
  } catch (err) {
    showError($("library-error"), err, "Download failed");
  }
}

async function remove(m) {
  const ok = await confirmDialog(`Delete the model “${m.wake_word}” (${m.id})? This cannot be undone.`, { title: "Delete model?", ok: "Delete model" });
  if (!ok) return;
  try {
    await api.del(`/api/models/${encodeURIComponent(m.id)}`);
    toast(`Deleted “${m.wake_word}”.`);
    if (selected === m.id) { selected = null; navigate("#/library"); return; }
    await refresh();
  } catch (err) {
    showError($("library-error"), err, "Could not delete");
  }
}

async function showDetails(id) {
  const panel = $("model-details");
  let m;
  try {
    m = await api.get(`/api/models/${encodeURIComponent(id)}`);
  } catch (err) {
    showError($("library-error"), err, "Could not load the model");
    panel.hidden = true;
    return;
  }
  const metrics = m.metrics || {};
  const config = m.training_config || {};
  const capturesBox = h("section", { class: "details-captures", "aria-label": "Captured clips" });
  const configRows = Object.entries(config).map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, scalar(v))));
  const metricRows = Object.entries(metrics).filter(([, v]) => typeof v !== "object")
    .map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, labelize(k)), h("td", {}, scalar(v))));
  const row = (label, value) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, value));
  if (metrics.heldout) {
    const ho = metrics.heldout;
    metricRows.push(row("False wakes/h on held-out audio", `${scalar(ho.fa_per_hour)} (${scalar(ho.events)} in ${num(ho.hours, 2)} h; 95 % bound ${scalar(ho.upper_95_per_hour)})`));
    for (const [kind, fa] of Object.entries(ho.by_kind || {})) metricRows.push(row(`… held-out ${kind}`, `${scalar(fa.fa_per_hour)} (${scalar(fa.events)} in ${num(fa.hours, 2)} h)`));
  }
  if (metrics.calibration) {
    const c = metrics.calibration;
    metricRows.push(row("False wakes/h on the calibration audio (in-sample: it chose the threshold)", `${scalar(c.fa_per_hour)} (${scalar(c.events)} in ${num(c.hours, 2)} h)`));
  }
  clear(panel).append(...[
    h("div", { class: "details-head" },
      h("h2", { id: "details-title", class: "h2" }, `“${m.wake_word}”`, " ", h("span", { class: `badge ${m.type}` }, m.type)),
      h("button", { type: "button", class: "small", onclick: () => navigate("#/library") }, "Close details")),
    h("p", { class: "muted" }, `${m.id} · created ${dateTime(m.created_at)} · ${m.trainable_params ? `${m.trainable_params.toLocaleString()} trainable parameters · ` : ""}${m.has_onnx ? (m.files && m.files.tflite ? "ONNX and TFLite (Home Assistant) included" : "ONNX included") : "no ONNX file"}`),
    h("div", { class: "metric-cards" },
      h("div", { class: "metric" }, h("span", { class: "metric-label" }, "Missed wake words (FRR)"), h("span", { class: "metric-value" }, pct(m.frr)), h("span", { class: "metric-words" }, m.frr === null || m.frr === undefined ? frrInWords(m.frr) : `${frrInWords(m.frr)} (${heldoutPositivesWords(metrics) || "held-out clips"})`)),
      h("div", { class: "metric" }, h("span", { class: "metric-label" }, "False wakes per hour"), h("span", { class: "metric-value" }, faValue(m)), h("span", { class: "metric-words" }, falseWakesInWords(m, metrics))),
      h("div", { class: "metric" }, h("span", { class: "metric-label" }, "Threshold"), h("span", { class: "metric-value" }, num(m.threshold, 2)), h("span", { class: "metric-words" }, m.target_fa_per_hour ? `chosen for at most ${m.target_fa_per_hour} false wakes per hour on the calibration audio` : ""))),
    m.notes && m.notes.length ? h("ul", { class: "notes" }, m.notes.map((n) => h("li", {}, n))) : null,
    h("div", { class: "grid-2" },
      h("section", {}, h("h3", { class: "h3" }, "Training history"), historyChart(m.history)),
      h("section", {}, h("h3", { class: "h3" }, "DET curve"), detChart(m.det_curve, { threshold: m.threshold, faPerHour: m.calibration_fa_per_hour, frr: m.frr }))),
    h("div", { class: "grid-2" },
      h("section", {}, h("h3", { class: "h3" }, "Training configuration"),
        configRows.length ? h("table", { class: "config-table" }, h("tbody", {}, configRows)) : h("p", { class: "muted" }, "Not recorded.")),
      h("section", {}, h("h3", { class: "h3" }, "Measurements"),
        metricRows.length ? h("table", { class: "config-table" }, h("tbody", {}, metricRows)) : h("p", { class: "muted" }, "Not recorded."))),
    improvedFrom(m),
    capturesBox,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "primary", onclick: () => navigate(`#/test/${m.id}`) }, "Test this model"),
      h("button", { type: "button", onclick: () => dl(m) }, "Download (.zip)"),
      m.type === "custom" ? h("button", { type: "button", class: "danger", onclick: () => remove(m) }, "Delete") : null),
  ].filter(Boolean));
  capturesPanel(capturesBox, m.id, { navigate });
  panel.hidden = false;
  panel.focus();
}

/** "Improved from X" with both versions' held-out figures, for an improved model. */
function improvedFrom(m) {
  const imp = (m.data_stats || {}).improvement;
  if (!imp) return null;
  const fa = (v) => (v === null || v === undefined ? "—" : num(v, 2));
  const rowOf = (name, f) => h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, num(f.threshold, 4)), h("td", {}, fa(f.fa_per_hour)), h("td", {}, pct(f.frr)));
  return h("section", { class: "improved", "aria-label": "Improvement" },
    h("h3", { class: "h3" }, "Improved from ", h("a", { href: `#/library/${imp.improved_from}` }, imp.improved_from)),
    h("p", { class: "muted" }, `${imp.false_wakes} false wake(s) and ${imp.wake_word_clips} wake-word clip(s); labelled false wakes still firing: ${imp.false_wakes_firing_after} (before: ${imp.false_wakes_firing_before}).`),
    h("table", { class: "config-table" }, h("thead", {}, h("tr", {}, h("th", {}, "version"), h("th", {}, "threshold"), h("th", {}, "held-out false wakes/h"), h("th", {}, "held-out FRR"))),
      h("tbody", {}, rowOf("before", imp.before), rowOf("after", imp.after))));
}
