/* Draw every server-built plotly figure: <div data-figure="ID"> reads <script type="application/json" id="ID">. */
(function () {
  "use strict";
  if (!window.Plotly) {
    return;
  }
  var lang = (document.documentElement.lang || "").toLowerCase();
  var config = {
    displayModeBar: false, // its tooltips exist in English only
    responsive: true,
    locale: lang.indexOf("zh") === 0 ? "zh-CN" : "en",
  };
  document.querySelectorAll("[data-figure]").forEach(function (el) {
    var source = document.getElementById(el.getAttribute("data-figure"));
    if (!source) {
      return;
    }
    var figure = JSON.parse(source.textContent);
    var layout = figure.layout || {};
    if (el.clientWidth < 640) {
      // A phone: short month ticks ("%b" is 1月 in Chinese), no axis title under them, less margin.
      layout.margin = { l: 44, r: 8, t: 8, b: 24 };
      layout.xaxis = Object.assign({}, layout.xaxis, { nticks: 6, tickformat: "%b", tickangle: 0, title: { text: "" } });
      layout.legend = Object.assign({}, layout.legend, { y: -0.08 });
      layout.height = Math.min(layout.height || 360, 320);
    }
    Plotly.newPlot(el, figure.data, layout, config);
  });
})();
