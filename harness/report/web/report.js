// Draws the charts of a `gpusoak report --html` page with uPlot (inlined above this script) from
// the JSON in #report-data. Each chart's <figure> gets data-status (drawn, no-data, failed),
// data-points (values drawn) and data-ink (canvas pixels in series colours), and <body> gets
// data-report="ready" when every chart is done: a headless browser's DOM dump is the proof that
// the page rendered, and a person sees "no data" where a chart has none.
"use strict";
(function () {
  const body = document.body;
  // Saturated colours only: data-ink counts pixels that are clearly coloured, which the grey grid,
  // axes and text never are.
  const palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                   "#e377c2", "#17becf", "#bcbd22", "#8c564b", "#0b6e4f"];

  function fmtBytes(v) {
    if (v == null) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let a = Math.abs(v), i = 0;
    while (a >= 1024 && i < units.length - 1) { a /= 1024; i++; }
    return (v < 0 ? "-" : "") + (i ? +a.toPrecision(3) : Math.round(a)) + " " + units[i];
  }
  function fmtSeconds(v) {
    if (v == null) return "–";
    const a = Math.abs(v);
    if (a === 0) return "0";
    if (a < 1e-3) return +(v * 1e6).toPrecision(3) + " µs";
    if (a < 1) return +(v * 1e3).toPrecision(3) + " ms";
    return +v.toPrecision(3) + " s";
  }
  function fmtCount(v) {
    if (v == null) return "–";
    return Math.abs(v) >= 1e6 ? v.toExponential(2) : String(+v.toFixed(2));
  }
  function fmtRunTime(v) {
    if (v == null) return "–";
    if (v < 120) return +v.toFixed(1) + " s";
    if (v < 7200) return +(v / 60).toFixed(1) + " min";
    return +(v / 3600).toFixed(2) + " h";
  }
  const formats = { bytes: fmtBytes, seconds: fmtSeconds, count: fmtCount };

  const figures = Array.from(document.querySelectorAll("figure.chart"));
  let settled = 0;
  function settle(fig, status, note) {
    const first = fig.dataset.status === "pending";
    fig.dataset.status = status;
    fig.querySelector(".chart-note").textContent = note || "";
    if (first && ++settled === figures.length) body.dataset.report = "ready";
  }

  // Values in the drawn x range and the pixels in series colours, after every redraw.
  function measure(fig, u) {
    let points = 0;
    for (let i = 1; i < u.series.length; i++) {
      const ys = u.data[i];
      const [i0, i1] = u.series[i].idxs || [0, ys.length - 1];
      for (let k = i0; k <= i1; k++) if (ys[k] != null) points++;
    }
    const canvas = u.ctx.canvas;
    const px = u.ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let ink = 0;
    for (let k = 0; k < px.length; k += 4) {
      const hi = Math.max(px[k], px[k + 1], px[k + 2]), lo = Math.min(px[k], px[k + 1], px[k + 2]);
      if (px[k + 3] > 100 && hi - lo > 60) ink++;
    }
    fig.dataset.points = points;
    fig.dataset.ink = ink;
    settle(fig, "drawn");
  }

  // null in the data means "no sample of this line at this time". Between two samples that are
  // close in time (lines sampled at different times) the line is joined: uPlot joins over
  // undefined. Across a long absence (a phase the scenario sat out) it breaks: uPlot leaves a gap
  // at null, instead of a straight line that looks like data.
  function withGaps(x, y) {
    const at = [];
    y.forEach((v, i) => { if (v != null) at.push(i); });
    const steps = [];
    for (let k = 1; k < at.length; k++) steps.push(x[at[k]] - x[at[k - 1]]);
    steps.sort((a, b) => a - b);
    const typical = steps.length ? steps[Math.floor(steps.length / 2)] : 0;
    const out = y.slice();
    for (let k = 1; k < at.length; k++) {
      if (x[at[k]] - x[at[k - 1]] > 3 * typical) continue;
      for (let i = at[k - 1] + 1; i < at[k]; i++) out[i] = undefined;
    }
    return out;
  }

  function draw(fig, c) {
    const empty = c.series.filter((s) => s.y.every((v) => v == null)).map((s) => s.label);
    fig.dataset.emptySeries = empty.join("|");
    const points = c.series.reduce((n, s) => n + s.y.filter((v) => v != null).length, 0);
    if (points === 0) {
      fig.dataset.points = "0";
      fig.classList.add("no-data");
      settle(fig, "no-data", "no data: the run stored no samples for this chart");
      return;
    }
    if (typeof uPlot !== "function") {
      settle(fig, "failed", "chart not drawn: the uPlot library is missing from this file");
      return;
    }
    const fmt = formats[c.unit] || fmtCount;
    const plot = fig.querySelector(".plot");
    const opts = {
      width: Math.max(320, plot.clientWidth),
      height: 220,
      scales: { x: { time: false } },
      series: [{ label: "run time", value: (u, v) => fmtRunTime(v) }].concat(c.series.map((s, i) => ({
        label: empty.includes(s.label) ? s.label + " (no data)" : s.label,
        stroke: palette[i % palette.length],
        width: 1.5,
        dash: s.dashed ? [6, 4] : undefined,
        // uPlot hides point markers when the x axis is dense, which made a series with one value
        // among many gaps (a scenario sampled once) draw nothing at all: sparse series get markers.
        points: { show: s.y.filter((v) => v != null).length <= 12 },
        value: (u, v) => fmt(v),
      }))),
      axes: [
        { values: (u, splits) => splits.map(fmtRunTime) },
        { size: 70, values: (u, splits) => splits.map(fmt) },
      ],
      hooks: { draw: [(u) => measure(fig, u)] },
    };
    new uPlot(opts, [c.x].concat(c.series.map((s) => withGaps(c.x, s.y))), plot);
  }

  try {
    const data = JSON.parse(document.getElementById("report-data").textContent);
    figures.forEach((fig, i) => {
      try {
        draw(fig, data.charts[i]);
      } catch (e) {
        settle(fig, "failed", "chart not drawn: " + e);
      }
    });
  } catch (e) {
    body.dataset.report = "error: " + e;
    figures.forEach((fig) => settle(fig, "failed", "chart not drawn: " + e));
  }
})();
