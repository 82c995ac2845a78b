// Draws every <canvas data-chart="ID"> from the JSON spec in <script id="ID">, on load and after
// each htmx swap. Specs come from tend/web/kpi_series.py: type (line, bar, waterfall,
// sparkline), unit, currency, labels, datasets. Lines differ by dash and point style as well as
// colour, and every chart has a table beside it, so colour is never the only signal.
(function () {
  "use strict";
  const PALETTE = ["#3b6fd8", "#c2621a", "#1f8a4c", "#7a3bd8", "#b3261e", "#4b5563"];
  const POINTS = ["circle", "rect", "triangle", "rectRot", "star", "crossRot"];
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function formatter(unit, currency) {
    const plain = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });
    if (unit === "money" && currency) {
      const money = new Intl.NumberFormat("en", {
        style: "currency", currency: currency, maximumFractionDigits: 0,
      });
      return (v) => money.format(v);
    }
    const suffix = {
      ratio: " %", percent: " %", hours: " h", days: " days", minutes: " min", ms: " ms",
    }[unit] || "";
    return (v) => plain.format(v) + suffix;
  }

  function lineDatasets(spec) {
    return spec.datasets.map((d, i) => ({
      label: d.label,
      data: d.data,
      borderColor: d.color || PALETTE[i % PALETTE.length],
      backgroundColor: d.color || PALETTE[i % PALETTE.length],
      borderDash: d.dash || [],
      pointStyle: POINTS[i % POINTS.length],
      pointRadius: spec.type === "sparkline" ? 0 : 3,
      borderWidth: 2,
      spanGaps: true,
      tension: 0.2,
    }));
  }

  function barDatasets(spec) {
    return spec.datasets.map((d, i) => ({
      label: d.label,
      data: d.data,
      backgroundColor: d.color || PALETTE[i % PALETTE.length],
      borderRadius: 3,
    }));
  }

  function waterfallDatasets(spec) {
    const colours = { total: "#4b5563", up: "#1f8a4c", down: "#b3261e" };
    const d = spec.datasets[0];
    return [{
      label: d.label,
      data: d.data,
      backgroundColor: spec.kinds.map((k) => colours[k]),
      borderRadius: 3,
    }];
  }

  function config(spec) {
    const format = formatter(spec.unit, spec.currency);
    const sparkline = spec.type === "sparkline";
    const horizontal = Boolean(spec.horizontal);
    const valueAxis = {
      beginAtZero: spec.type !== "line",
      stacked: Boolean(spec.stacked),
      ticks: { callback: (v) => format(v) },
    };
    const categoryAxis = { stacked: Boolean(spec.stacked), ticks: { autoSkip: true } };
    const datasets = spec.type === "waterfall" ? waterfallDatasets(spec)
      : spec.type === "bar" ? barDatasets(spec) : lineDatasets(spec);
    return {
      type: spec.type === "line" || sparkline ? "line" : "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: reducedMotion ? false : {},
        indexAxis: horizontal ? "y" : "x",
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { display: !sparkline && spec.datasets.length > 1, labels: { usePointStyle: true } },
          tooltip: {
            enabled: true,
            callbacks: {
              label: (ctx) => {
                let v = ctx.raw;
                if (Array.isArray(v)) { v = spec.amounts[ctx.dataIndex]; }
                return `${ctx.dataset.label}: ${v === null ? "no data" : format(v)}`;
              },
            },
          },
        },
        scales: sparkline ? { x: { display: false }, y: { display: false } }
          : horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
      },
    };
  }

  function draw(canvas) {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") {
      return;
    }
    const existing = Chart.getChart(canvas);
    if (existing) {
      existing.destroy();
    }
    const chart = new Chart(canvas, config(JSON.parse(source.textContent)));
    canvas.dataset.drawn = "true";
    return chart;
  }

  function drawAll(root) {
    root.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", () => drawAll(document));
  document.addEventListener("htmx:afterSettle", (event) => drawAll(event.detail.elt || document));
})();
