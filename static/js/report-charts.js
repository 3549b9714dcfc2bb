/*
 * The report charts, drawn with the vendored Chart.js, no inline scripts:
 *
 *   <script type="application/json" id="X">{"labels": [...], "series": {...}, "limits": {...},
 *     "names": {...}, "limit_names": {...}}</script>
 *   <canvas data-report-chart="X" [data-kind="rates"]></canvas>
 *
 * or, in a card swapped in by htmx (which drops script elements), the same JSON in the
 * canvas's data-report-chart-json attribute.
 *
 * draws one line per series, named in the legend by "names" (in the page's language); with
 * data-kind="rates" the values are percentages and each "limits" entry is drawn as a dashed
 * horizontal line in its series' colour, named by "limit_names". Canvases swapped
 * in by htmx (the dashboard's deliverability card) are drawn when they arrive.
 */
(function () {
  "use strict";

  var COLOURS = {
    opens: "#4f46e5",
    clicks: "#16a34a",
    bounces: "#eab308",
    complaints: "#dc2626"
  };

  function readData(canvas) {
    var inline = canvas.getAttribute("data-report-chart-json");
    if (inline) {
      try {
        return JSON.parse(inline);
      } catch (e) {
        return null;
      }
    }
    var island = document.getElementById(canvas.getAttribute("data-report-chart"));
    if (!island) {
      return null;
    }
    try {
      return JSON.parse(island.textContent);
    } catch (e) {
      return null;
    }
  }

  function title(name) {
    return name.charAt(0).toUpperCase() + name.slice(1);
  }

  function datasets(data) {
    var names = data.names || {};
    var limitNames = data.limit_names || {};
    var sets = Object.keys(data.series).map(function (name) {
      return {
        label: names[name] || title(name),
        data: data.series[name],
        borderColor: COLOURS[name] || "#4f46e5",
        backgroundColor: COLOURS[name] || "#4f46e5",
        tension: 0.2,
        pointRadius: 0
      };
    });
    var limits = data.limits || {};
    Object.keys(limits).forEach(function (name) {
      sets.push({
        label: limitNames[name] || title(name) + " limit",
        data: data.labels.map(function () { return limits[name]; }),
        borderColor: COLOURS[name] || "#6b7280",
        borderDash: [6, 4],
        borderWidth: 1,
        pointRadius: 0,
        fill: false
      });
    });
    return sets;
  }

  function draw(canvas) {
    if (canvas.getAttribute("data-chart-drawn") === "true") {
      return;
    }
    var data = readData(canvas);
    if (!data || typeof window.Chart === "undefined") {
      return;
    }
    var rates = canvas.getAttribute("data-kind") === "rates";
    new window.Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets: datasets(data) },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: rates ? {} : { precision: 0 } } }
      }
    });
    canvas.setAttribute("data-chart-drawn", "true");
  }

  function drawAll(root) {
    var canvases = (root || document).querySelectorAll("canvas[data-report-chart], canvas[data-report-chart-json]");
    for (var i = 0; i < canvases.length; i++) {
      draw(canvases[i]);
    }
  }

  document.addEventListener("htmx:load", function (event) {
    drawAll(event.target);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawAll(); });
  } else {
    drawAll();
  }
})();
