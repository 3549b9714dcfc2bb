/*
 * Charts drawn with the vendored Chart.js (static/vendor/chart.umd.min.js), no inline scripts:
 *
 *   <script type="application/json" id="X">{"labels": [...], "series": {"sent": [...], ...}}</script>
 *   <canvas data-chart-source="X"></canvas>
 *
 * draws a stacked bar chart, one dataset per series, in fixed colours per series name.
 */
(function () {
  "use strict";

  var COLOURS = {
    sent: "#16a34a",
    retried: "#eab308",
    failed: "#dc2626",
    suppressed: "#6b7280"
  };

  function readData(id) {
    var island = document.getElementById(id);
    if (!island) {
      return null;
    }
    try {
      return JSON.parse(island.textContent);
    } catch (e) {
      return null;
    }
  }

  function datasets(series, names) {
    return Object.keys(series).map(function (name) {
      return {
        label: (names || {})[name] || name.charAt(0).toUpperCase() + name.slice(1),
        data: series[name],
        backgroundColor: COLOURS[name] || "#4f46e5",
        stack: "messages"
      };
    });
  }

  function draw(canvas) {
    var data = readData(canvas.getAttribute("data-chart-source"));
    if (!data || typeof window.Chart === "undefined") {
      return;
    }
    var chart = new window.Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: datasets(data.series, data.names) },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
    canvas.setAttribute("data-chart-drawn", "true");
    return chart;
  }

  function init() {
    var canvases = document.querySelectorAll("canvas[data-chart-source]");
    for (var i = 0; i < canvases.length; i++) {
      draw(canvases[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
