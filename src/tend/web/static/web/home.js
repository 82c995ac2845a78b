// Draws the overview's accounts-per-stage bar chart from the JSON the page embeds.
(function () {
  "use strict";
  const source = document.getElementById("stage-chart-data");
  const canvas = document.getElementById("stage-chart");
  if (!source || !canvas || typeof Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [{ label: "Accounts", data: data.counts, backgroundColor: "#3b6fd8", borderRadius: 4 }],
    },
    options: {
      responsive: true,
      animation: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : {},
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
})();
