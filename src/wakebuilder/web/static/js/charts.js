// Small hand-written SVG charts: multi-series line chart (training history) and DET curve.

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function niceTicks(min, max, count = 5) {
  if (!(max > min)) { max = min + 1; }
  const span = max - min;
  const step0 = span / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((x) => span / x <= count) || 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(+v.toFixed(10));
  return ticks;
}

function fmt(v) {
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(0);
  if (Math.abs(v) >= 1) return v.toFixed(1).replace(/\.0$/, "");
  return v.toFixed(2).replace(/0$/, "");
}

function frame(width, height, title) {
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title,
    preserveAspectRatio: "xMidYMid meet" });
  svg.append(s("title", {}, title));
  return svg;
}

/**
 * Line chart. series: [{label, values: [y...], color, axis: "left"|"right"}], x: [x...].
 * Left and right axes are scaled independently (e.g. loss vs. accuracy).
 */
export function lineChart({ x, series, title = "Chart", xLabel = "", leftLabel = "", rightLabel = "",
  width = 560, height = 260, rightRange = null, xMax = null }) {
  const svg = frame(width, height, title);
  const m = { l: 48, r: rightLabel ? 48 : 16, t: 14, b: 42 };
  const W = width - m.l - m.r;
  const H = height - m.t - m.b;
  const xs = x.length ? x : [0];
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1, xMax || 0);
  const px = (v) => m.l + ((v - x0) / (x1 - x0)) * W;
  const range = (axis) => {
    if (axis === "right" && rightRange) return rightRange;
    const vals = series.filter((se) => (se.axis || "left") === axis)
      .flatMap((se) => se.values).filter((v) => Number.isFinite(v));
    if (!vals.length) return [0, 1];
    let lo = Math.min(...vals, 0);
    let hi = Math.max(...vals);
    if (hi === lo) hi = lo + 1;
    return [lo, hi * 1.05];
  };
  const ranges = { left: range("left"), right: range("right") };
  const py = (axis, v) => {
    const [lo, hi] = ranges[axis];
    return m.t + H - ((v - lo) / (hi - lo)) * H;
  };
  const g = s("g", { class: "axes" });
  for (const t of niceTicks(...ranges.left)) {
    const y = py("left", t);
    g.append(s("line", { x1: m.l, x2: m.l + W, y1: y, y2: y, class: "grid" }));
    g.append(s("text", { x: m.l - 6, y: y + 4, "text-anchor": "end", class: "tick" }, fmt(t)));
  }
  if (rightLabel) {
    for (const t of niceTicks(...ranges.right)) {
      g.append(s("text", { x: m.l + W + 6, y: py("right", t) + 4, class: "tick" }, fmt(t)));
    }
  }
  const xt = niceTicks(x0, x1, Math.min(8, Math.max(1, x1 - x0))).filter((t) => Number.isInteger(t));
  for (const t of xt) {
    g.append(s("text", { x: px(t), y: m.t + H + 16, "text-anchor": "middle", class: "tick" }, fmt(t)));
  }
  g.append(s("line", { x1: m.l, x2: m.l + W, y1: m.t + H, y2: m.t + H, class: "axis" }));
  g.append(s("line", { x1: m.l, x2: m.l, y1: m.t, y2: m.t + H, class: "axis" }));
  if (xLabel) g.append(s("text", { x: m.l + W / 2, y: height - 4, "text-anchor": "middle", class: "label" }, xLabel));
  if (leftLabel) g.append(s("text", { x: 12, y: m.t + H / 2, transform: `rotate(-90 12 ${m.t + H / 2})`, "text-anchor": "middle", class: "label" }, leftLabel));
  if (rightLabel) g.append(s("text", { x: width - 8, y: m.t + H / 2, transform: `rotate(90 ${width - 8} ${m.t + H / 2})`, "text-anchor": "middle", class: "label" }, rightLabel));
  svg.append(g);
  series.forEach((se, i) => {
    const axis = se.axis || "left";
    const pts = [];
    se.values.forEach((v, j) => { if (Number.isFinite(v) && j < x.length) pts.push([px(x[j]), py(axis, v), x[j], v]); });
    if (!pts.length) return;
    const cls = `series s${i}`;
    svg.append(s("polyline", { points: pts.map((p) => `${p[0].toFixed(1)},${p[1].toFixed(1)}`).join(" "), class: cls,
      "stroke-dasharray": se.dashed ? "5 4" : null }));
    for (const p of pts) {
      const dot = s("circle", { cx: p[0].toFixed(1), cy: p[1].toFixed(1), r: 3, class: `dot s${i}` });
      dot.append(s("title", {}, `${se.label}, ${xLabel || "x"} ${p[2]}: ${fmt(p[3])}`));
      svg.append(dot);
    }
  });
  return svg;
}

/** HTML legend for lineChart series (colour classes s0, s1, ...). */
export function legend(series) {
  const ul = document.createElement("ul");
  ul.className = "legend";
  series.forEach((se, i) => {
    const li = document.createElement("li");
    const sw = document.createElement("span");
    sw.className = `swatch s${i}${se.dashed ? " dashed" : ""}`;
    sw.setAttribute("aria-hidden", "true");
    li.append(sw, document.createTextNode(se.label));
    ul.append(li);
  });
  return ul;
}

/** The training history chart: losses on the left axis, accuracy and F1 (0-1) on the right. */
export function historyChart(history, { title = "Training history per epoch", totalEpochs = null } = {}) {
  let rows = (history || []).filter((r) => r && r.epoch !== undefined);
  // An ensemble trains several heads one after another: chart the latest head.
  const heads = [...new Set(rows.map((r) => r.head ?? 0))];
  if (heads.length > 1) rows = rows.filter((r) => (r.head ?? 0) === heads[heads.length - 1]);
  const x = rows.map((r, i) => (Number.isFinite(r.epoch) ? r.epoch : i + 1));
  const pick = (k) => rows.map((r) => (typeof r[k] === "number" ? r[k] : NaN));
  const series = [
    { label: "Training loss", values: pick("train_loss"), axis: "left" },
    { label: "Validation loss", values: pick("val_loss"), axis: "left", dashed: true },
    { label: "Validation accuracy", values: pick("val_accuracy"), axis: "right" },
    { label: "Validation F1", values: pick("val_f1"), axis: "right", dashed: true },
  ].filter((se) => se.values.some(Number.isFinite));
  const wrap = document.createElement("figure");
  wrap.className = "chart-figure";
  if (!rows.length) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = "The chart appears after the first epoch.";
    wrap.append(p);
    return wrap;
  }
  if (heads.length > 1) {
    const note = document.createElement("figcaption");
    note.textContent = `Ensemble: head ${heads.length} (the latest) is shown.`;
    wrap.append(note);
  }
  wrap.prepend(lineChart({ x, series, title, xLabel: "Epoch", leftLabel: "Loss", rightLabel: "Accuracy / F1",
    rightRange: [0, 1], xMax: totalEpochs }), legend(series));
  return wrap;
}

/**
 * DET curve: false wakes per hour (log x) against miss rate (y), with the chosen threshold.
 * points: [{threshold, fa_per_hour, frr}].
 */
export function detChart(points, { threshold = null, faPerHour = null, frr = null, width = 560, height = 280 } = {}) {
  const title = "DET curve: misses against false wakes per hour";
  const svg = frame(width, height, title);
  const pts = (points || []).filter((p) => Number.isFinite(p.fa_per_hour) && Number.isFinite(p.frr))
    .sort((a, b) => a.threshold - b.threshold);
  const m = { l: 52, r: 16, t: 14, b: 42 };
  const W = width - m.l - m.r;
  const H = height - m.t - m.b;
  const positive = pts.map((p) => p.fa_per_hour).concat(faPerHour > 0 ? [faPerHour] : []).filter((v) => v > 0);
  const hasZero = pts.some((p) => p.fa_per_hour <= 0) || faPerHour === 0;
  // Log x axis; zero false wakes sit on the left edge, one decade below the smallest value.
  let lx0 = Math.floor(Math.log10(positive.length ? Math.min(...positive) : 0.1));
  if (hasZero) lx0 -= 1;
  lx0 = Math.min(lx0, -1);
  const lx1 = Math.max(Math.ceil(Math.log10(Math.max(10, ...positive))), lx0 + 2);
  const maxFrr = Math.min(1, Math.max(0.1, ...pts.map((p) => p.frr), frr || 0) * 1.1);
  const px = (fa) => m.l + ((Math.log10(Math.max(fa, 10 ** lx0)) - lx0) / (lx1 - lx0)) * W;
  const py = (v) => m.t + H - (v / maxFrr) * H;
  const g = s("g", { class: "axes" });
  for (let e = lx0; e <= lx1; e++) {
    const x = px(10 ** e);
    g.append(s("line", { x1: x, x2: x, y1: m.t, y2: m.t + H, class: "grid" }));
    g.append(s("text", { x, y: m.t + H + 16, "text-anchor": "middle", class: "tick" }, e === lx0 && hasZero ? "0" : fmt(10 ** e)));
  }
  for (const t of niceTicks(0, maxFrr, 5)) {
    const y = py(t);
    g.append(s("line", { x1: m.l, x2: m.l + W, y1: y, y2: y, class: "grid" }));
    g.append(s("text", { x: m.l - 6, y: y + 4, "text-anchor": "end", class: "tick" }, `${Math.round(t * 100)}%`));
  }
  g.append(s("line", { x1: m.l, x2: m.l + W, y1: m.t + H, y2: m.t + H, class: "axis" }));
  g.append(s("line", { x1: m.l, x2: m.l, y1: m.t, y2: m.t + H, class: "axis" }));
  g.append(s("text", { x: m.l + W / 2, y: height - 4, "text-anchor": "middle", class: "label" }, "False wakes per hour (log scale)"));
  g.append(s("text", { x: 12, y: m.t + H / 2, transform: `rotate(-90 12 ${m.t + H / 2})`, "text-anchor": "middle", class: "label" }, "Missed wake words"));
  svg.append(g);
  if (pts.length) {
    svg.append(s("polyline", { class: "series s0", points: pts.map((p) => `${px(p.fa_per_hour).toFixed(1)},${py(p.frr).toFixed(1)}`).join(" ") }));
    for (const p of pts) {
      const dot = s("circle", { cx: px(p.fa_per_hour).toFixed(1), cy: py(p.frr).toFixed(1), r: 2.5, class: "dot s0" });
      dot.append(s("title", {}, `threshold ${p.threshold.toFixed(2)}: ${fmt(p.fa_per_hour)} false wakes/h, ${(p.frr * 100).toFixed(1)} % missed`));
      svg.append(dot);
    }
  }
  let mark = null;
  if (Number.isFinite(faPerHour) && Number.isFinite(frr)) mark = [faPerHour, frr];
  else if (threshold !== null && pts.length) {
    const near = pts.reduce((a, b) => (Math.abs(b.threshold - threshold) < Math.abs(a.threshold - threshold) ? b : a));
    mark = [near.fa_per_hour, near.frr];
  }
  if (mark) {
    const cx = px(mark[0]);
    const cy = py(mark[1]);
    const ring = s("circle", { cx, cy, r: 6, class: "marker" });
    ring.append(s("title", {}, `chosen threshold${threshold !== null ? ` ${threshold.toFixed(2)}` : ""}: ${fmt(mark[0])} false wakes/h, ${(mark[1] * 100).toFixed(1)} % missed`));
    svg.append(ring);
    const label = `threshold${threshold !== null ? ` ${threshold.toFixed(2)}` : ""}`;
    svg.append(s("text", { x: Math.min(cx + 9, m.l + W - 95), y: Math.max(cy - 9, m.t + 12), class: "marker-label" }, label));
  }
  const fig = document.createElement("figure");
  fig.className = "chart-figure";
  fig.append(svg);
  const cap = document.createElement("figcaption");
  cap.textContent = pts.length
    ? "Each point is one threshold: false wakes per hour on the calibration audio (the audio that chose the threshold) against misses on held-out clips. Further left means fewer false wakes, lower means fewer misses. The ring marks the chosen threshold."
    : "No DET curve was stored with this model.";
  fig.append(cap);
  return fig;
}
