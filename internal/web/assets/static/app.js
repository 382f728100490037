// wfpwatch dashboard: the chart of the overview, the live view, the copy
// button, and forms that leave empty filters out of the URL. No library,
// no inline script (the Content-Security-Policy forbids it); data is put
// into the page with textContent only.
"use strict";
(function () {
  var SVG = "http://www.w3.org/2000/svg";
  var body = document.body;
  var query = body.getAttribute("data-query") || "";
  var page = body.getAttribute("data-page");

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  // Forms: leave empty fields out, so the URL says only what was asked.
  Array.prototype.forEach.call(document.querySelectorAll("form.filters"), function (f) {
    f.addEventListener("submit", function () {
      Array.prototype.forEach.call(f.elements, function (i) {
        if (i.name && i.value === "") i.disabled = true;
      });
    });
  });

  // Copy buttons.
  Array.prototype.forEach.call(document.querySelectorAll("button[data-target]"), function (b) {
    b.addEventListener("click", function () {
      var t = document.getElementById(b.getAttribute("data-target")).textContent;
      if (navigator.clipboard) {
        navigator.clipboard.writeText(t).then(function () { b.textContent = "Copied"; }, function () { b.textContent = "Select and copy"; });
      }
    });
  });

  function seriesKey(p) {
    if ((p.verdict === "block" || p.verdict === "drop") && (p.direction === "inbound" || p.direction === "outbound")) return p.verdict + "-" + p.direction;
    return "other";
  }

  // The overview chart: one line per verdict and direction, drawn as SVG.
  function drawChart(box, data) {
    var keys = ["block-inbound", "block-outbound", "drop-inbound", "drop-outbound", "other"];
    var step = data.step * 1000;
    var t0 = Math.floor(Date.parse(data.since) / step) * step;
    var t1 = Date.parse(data.until);
    var n = Math.max(1, Math.ceil((t1 - t0) / step));
    var series = {}, max = 0;
    keys.forEach(function (k) { series[k] = {}; });
    data.points.forEach(function (p) {
      var i = Math.round((Date.parse(p.t) - t0) / step);
      var s = series[seriesKey(p)];
      s[i] = (s[i] || 0) + p.n;
      if (s[i] > max) max = s[i];
    });
    var W = Math.max(400, box.clientWidth || 1000), H = 240, L = 50, B = 20;
    var g = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "chart-svg", role: "img" });
    g.appendChild(svg("line", { x1: L, y1: H - B, x2: W, y2: H - B, class: "axis" }));
    g.appendChild(svg("line", { x1: L, y1: 0, x2: L, y2: H - B, class: "axis" }));
    var top = svg("text", { x: L - 4, y: 12, class: "tick", "text-anchor": "end" });
    top.textContent = String(max);
    g.appendChild(top);
    [0, 1].forEach(function (j) {
      var t = svg("text", { x: j ? W : L, y: H - 4, class: "tick", "text-anchor": j ? "end" : "start" });
      t.textContent = new Date(j ? t1 : t0).toISOString().replace("T", " ").slice(0, 16) + "Z";
      g.appendChild(t);
    });
    var x = function (i) { return L + (W - L) * (i + 0.5) / n; };
    var y = function (v) { return (H - B) - (H - B - 16) * (max ? v / max : 0); };
    var drawn = 0;
    keys.forEach(function (k) {
      var s = series[k], pts = [];
      var any = false;
      for (var i = 0; i < n; i++) { if (s[i]) { any = true; break; } }
      if (!any) return;
      for (var i = 0; i < n; i++) pts.push(x(i).toFixed(1) + "," + y(s[i] || 0).toFixed(1));
      g.appendChild(svg("polyline", { points: pts.join(" "), class: "line " + k }));
      if (n <= 400) {
        for (var i = 0; i < n; i++) {
          if (!s[i]) continue;
          var c = svg("circle", { cx: x(i).toFixed(1), cy: y(s[i]).toFixed(1), r: 2.5, class: "pt " + k });
          var tt = svg("title", {});
          tt.textContent = k + " " + new Date(t0 + i * step).toISOString() + ": " + s[i];
          c.appendChild(tt);
          g.appendChild(c);
          drawn++;
        }
      } else {
        drawn += n;
      }
    });
    box.textContent = "";
    box.appendChild(g);
    box.setAttribute("data-points", String(drawn));
    if (!drawn) box.appendChild(el("p", "muted", "no events in this range"));
  }

  if (page === "overview") {
    var box = document.getElementById("chart");
    fetch("/api/series?" + query + (query ? "&" : "") + "step=auto", { credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || r.statusText); return j; }); })
      .then(function (j) { drawChart(box, j); })
      .catch(function (e) { box.textContent = ""; box.appendChild(el("p", "error", "chart: " + e.message)); });
  }

  // Tops the server left to the script (hosts: counted from the events).
  Array.prototype.forEach.call(document.querySelectorAll("table.deferred"), function (tbl) {
    var by = tbl.getAttribute("data-by");
    var tb = tbl.querySelector("tbody");
    fetch("/api/top?" + query + (query ? "&" : "") + "by=" + encodeURIComponent(by), { credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || r.statusText); return j; }); })
      .then(function (j) {
        tb.textContent = "";
        if (!j.rows.length) { var tr = el("tr"); tr.appendChild(el("td", "muted", "no events in this range")); tb.appendChild(tr); }
        j.rows.forEach(function (row) {
          var tr = el("tr");
          tr.appendChild(el("td", "", row.value));
          tr.appendChild(el("td", "n", String(row.count)));
          tr.appendChild(el("td", "n", (100 * row.share).toFixed(1) + "%"));
          tb.appendChild(tr);
        });
        tbl.setAttribute("data-loaded", "1");
      })
      .catch(function (e) { tb.textContent = ""; var tr = el("tr"); tr.appendChild(el("td", "error", by + ": " + e.message)); tb.appendChild(tr); });
  });

  // The live view: Server-Sent Events of new events, newest on top.
  if (page === "live") {
    var rows = document.getElementById("live-rows");
    var status = document.getElementById("live-status");
    var count = document.getElementById("live-count");
    var pause = document.getElementById("pause");
    var paused = false, held = [], total = 0;
    var src = new EventSource("/api/live" + (query ? "?" + query : ""));
    function cell(tr, text, cls) { tr.appendChild(el("td", cls, text === undefined || text === null || text === "" ? "-" : String(text))); }
    function ep(x) { if (!x || !x.ip) return "-"; return x.ip.indexOf(":") >= 0 ? "[" + x.ip + "]:" + x.port : x.ip + ":" + x.port; }
    function show(m) {
      var e = m.event, w = e.wfp || {}, p = e.process || {}, net = e.network || {};
      var tr = el("tr", w.verdict || "");
      cell(tr, (e["@timestamp"] || "").replace("T", " ").slice(0, 19) + "Z");
      cell(tr, w.verdict); cell(tr, w.reason); cell(tr, net.direction); cell(tr, p.name);
      cell(tr, ep(w.local)); cell(tr, ep(w.remote));
      cell(tr, (e.rule && (e.rule.name || e.rule.id)) || (w.filter && (w.filter.name || w.filter.id)) || w.filter_origin);
      var td = el("td"), a = el("a", "", "why?");
      a.href = "/event/" + encodeURIComponent(m.id);
      td.appendChild(a); tr.appendChild(td);
      rows.insertBefore(tr, rows.firstChild);
      while (rows.children.length > 500) rows.removeChild(rows.lastChild);
    }
    src.addEventListener("hello", function () { status.textContent = "connected"; });
    src.addEventListener("problem", function (ev) { status.textContent = "problem: " + ev.data; });
    src.addEventListener("event", function (ev) {
      var m = JSON.parse(ev.data);
      total++;
      count.textContent = String(total);
      if (paused) { held.push(m); if (held.length > 5000) held.shift(); return; }
      show(m);
    });
    src.onerror = function () { status.textContent = "reconnecting…"; };
    pause.addEventListener("click", function () {
      paused = !paused;
      pause.textContent = paused ? "Resume" : "Pause";
      status.textContent = paused ? "paused (" + "new events are held)" : "connected";
      if (!paused) { held.forEach(show); held = []; }
    });
  }
})();
