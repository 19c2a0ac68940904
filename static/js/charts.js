// Draw the dashboard's charts (Chart.js, vendored in static/vendor). Each chart box holds a
// canvas and its data as JSON; a click on a bar opens the records behind it.
(function () {
  "use strict";
  const COLOURS = ["#1f6feb", "#2e7d32", "#e36209", "#8250df", "#c62828", "#0a7ea4", "#6e7781"];

  function draw(box) {
    const data = JSON.parse(box.querySelector('script[type="application/json"]').textContent);
    const canvas = box.querySelector("canvas");
    const stacked = data.stacked !== false; // a chart may ask for grouped bars
    const chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map((series, index) => ({
          label: series.label,
          data: series.values,
          backgroundColor: COLOURS[index % COLOURS.length],
          links: series.links,
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: { stacked, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 10 } },
          y: {
            stacked,
            beginAtZero: true,
            ticks: { precision: 0 },
            title: { display: !!data.unit, text: data.unit },
          },
        },
        plugins: { legend: { position: "bottom" } },
        onHover: (event, elements) => {
          canvas.style.cursor = elements.length ? "pointer" : "default";
        },
        onClick: (event, elements) => {
          if (!elements.length) return;
          const { datasetIndex, index } = elements[0];
          const links = chart.data.datasets[datasetIndex].links;
          if (links && links[index]) window.location.href = links[index];
        },
      },
    });
    box.dataset.drawn = "true";
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof Chart === "undefined") return;
    document.querySelectorAll("[data-chart]").forEach(draw);
  });
})();
