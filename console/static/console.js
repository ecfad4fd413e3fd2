/* clubbot staff console: draws the charts whose options the server wrote into the page.
 * Each chart is a <div class="chart" data-chart="ID"> with a <script type="application/json"
 * id="ID"> holding its ECharts option: the page stays readable (the numbers sit beside each
 * chart) if this script never runs. */
(function () {
  "use strict";
  var charts = [];
  function draw() {
    if (typeof echarts === "undefined") { return; }
    var nodes = document.querySelectorAll(".chart[data-chart]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var source = document.getElementById(node.getAttribute("data-chart"));
      if (!source) { continue; }
      var option = JSON.parse(source.textContent);
      option.aria = { enabled: true };
      var chart = echarts.init(node, null, { renderer: "canvas" });
      chart.setOption(option);
      charts.push(chart);
    }
    document.documentElement.setAttribute("data-charts-drawn", String(charts.length));
  }
  window.addEventListener("resize", function () {
    for (var i = 0; i < charts.length; i++) { charts[i].resize(); }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
  // A report's filters: say that the answer is coming (a new period is ranked first).
  var filters = document.querySelector("form.filters");
  var waiting = document.getElementById("waiting");
  if (filters && waiting) {
    filters.addEventListener("submit", function () { waiting.hidden = false; });
  }
})();
