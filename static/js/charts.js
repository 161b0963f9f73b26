/*
 * Concord's interactive charts: plotly figures drawn from JSON the server wrote.
 *
 * The contract, for every page with charts:
 *   - Load this file with {% include "scorecards/_plotly_scripts.html" %} inside
 *     {% block scripts %} (at the end of <body>, so pages reached by htmx-boosted links, e.g.
 *     the alliance tabs, bring their scripts along). This file loads plotly (the URL in its
 *     data-plotly attribute) once per page, only when there is something to draw; running
 *     this file again after a boosted swap adds no second plotly and no second listener.
 *   - Build each figure on the server as a plain dict in plotly's JSON shape,
 *     {"data": [...], "layout": {...}, "config": {...}}, and write it with
 *     {{ figure|json_script:"some-id" }} (a <script type="application/json">: data, never run).
 *   - Put <div data-figure="some-id"></div> where the chart goes. Whatever the div holds
 *     (e.g. "the same data is in the table below") is shown until the chart replaces it, and
 *     stays when JavaScript or plotly is unavailable.
 * A point whose customdata is a path on this site ("/o/...") opens that page when clicked.
 * Every such div not drawn yet is drawn when the page has loaded, after each htmx swap and
 * after htmx restores a page from its history. A chart that htmx removes is purged first, and
 * a page htmx keeps for "back" is kept with its divs as the server wrote them, without
 * plotly's markup (whose inline style attributes the CSP would refuse on restore).
 * Whatever the figure says, no chart offers to send its data to plotly's cloud, nor to
 * download itself as a PNG: plotly draws that image from a blob: URL, which the CSP's
 * img-src ('self' data:) refuses (offer the data as CSV instead). On a touch screen a chart
 * does not take over dragging, so the page still scrolls past it.
 * There is no inline script anywhere, so the Content-Security-Policy needs none.
 */
(function () {
  "use strict";

  if (window.concordCharts) {  // again, after an htmx-boosted swap: draw what is new
    window.concordCharts.drawAll();
    return;
  }
  var plotlySrc = document.currentScript && document.currentScript.getAttribute("data-plotly");
  var loading = false;

  var DRAWN = "data-figure-drawn";
  var fallbacks = new WeakMap(); // a drawn chart's div -> what it held before

  function figureOf(el) {
    var source = document.getElementById(el.getAttribute("data-figure"));
    if (!source) {
      console.warn("charts.js: no figure JSON for", el);
      return null;
    }
    return JSON.parse(source.textContent);
  }

  function draw(el) {
    var figure = figureOf(el);
    if (!figure) return;
    var layout = figure.layout || {};
    var config = figure.config || {};
    config.showSendToCloud = false;
    config.plotlyServerURL = "";
    config.modeBarButtonsToRemove = (config.modeBarButtonsToRemove || []).concat(["toImage"]);
    if (window.matchMedia && window.matchMedia("(pointer: coarse)").matches) {
      layout.dragmode = false;
    }
    fallbacks.set(el, Array.prototype.slice.call(el.childNodes));
    el.setAttribute(DRAWN, "");
    el.replaceChildren();
    window.Plotly.newPlot(el, figure.data || [], layout, config).then(function () {
      // A point whose customdata is a path of ours opens it (e.g. the matrix's alliances).
      el.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        var target = point && point.customdata;
        if (typeof target === "string" && /^\/[^/]/.test(target)) window.location.assign(target);
      });
    });
  }

  function undraw(el) {
    window.Plotly.purge(el);
    el.replaceChildren.apply(el, fallbacks.get(el) || []);
    el.removeAttribute(DRAWN);
  }

  function drawAll() {
    var pending = document.querySelectorAll("[data-figure]:not([" + DRAWN + "])");
    if (!pending.length) return;
    if (!window.Plotly) {
      if (!loading && plotlySrc) {
        loading = true;
        var script = document.createElement("script");
        script.src = plotlySrc;
        script.onload = drawAll;
        document.head.appendChild(script);
      }
      return;
    }
    pending.forEach(draw);
  }
  window.concordCharts = { drawAll: drawAll };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
  document.addEventListener("htmx:afterSettle", drawAll);
  document.addEventListener("htmx:historyRestore", drawAll);
  // htmx announces each element it removes: free a chart's listeners before it goes.
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    var el = event.target;
    if (window.Plotly && el instanceof Element && el.hasAttribute(DRAWN)) window.Plotly.purge(el);
  });
  // The page is about to be kept for "back" (and then replaced): keep it undrawn, and
  // without the off-screen element plotly measures text in, which htmx would copy too. htmx
  // saves the page right after this event, in the same task; plotly gets its element back
  // before it draws again.
  document.addEventListener("htmx:beforeHistorySave", function (event) {
    if (!window.Plotly) return;
    event.detail.historyElt.querySelectorAll("[" + DRAWN + "]").forEach(undraw);
    var tester = document.getElementById("js-plotly-tester");
    if (tester && tester.parentNode) {
      var parent = tester.parentNode;
      parent.removeChild(tester);
      queueMicrotask(function () {
        if (!document.getElementById("js-plotly-tester")) parent.appendChild(tester);
      });
    }
  });
})();
