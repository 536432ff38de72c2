// The Trends page: the chosen points' history from the chosen history source (a datacoll-save node's
// MySQL tables) over a range, aggregated in SQL into buckets. Each point gets a chart of its own (its
// own scale; units differ): a min–max band and an average line per bucket, and between buckets the
// value in force held flat — a point saved only on change has no rows while it stays put, so the line is
// drawn as steps from the value in force at the range's start, never interpolated. Buckets holding a
// sample of bad quality are shaded. Dragging across a chart, or the + and − buttons, zooms: the page
// asks again with a finer step. Every bucket carries its figures in data attributes, which is what the
// browser tests read (and what a user's own script may too).
(function () {
  "use strict";
  var D = window.DataColl;
  var charts = document.getElementById("charts");
  var rangeSelect = document.getElementById("trend-range");
  var custom = document.getElementById("trend-custom");
  var fromInput = document.getElementById("trend-from");
  var toInput = document.getElementById("trend-to");
  var spanText = document.getElementById("trend-span");
  var pointInput = document.getElementById("trend-point");
  var chips = document.getElementById("trend-chips");

  // Steps a reader can name, so bucket edges fall on round times.
  var STEPS = [
    1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 108e5, 216e5, 432e5, 864e5,
  ];
  var MIN_SPAN = 60e3;
  var H = 180;
  var M = { left: 52, right: 10, top: 8, bottom: 20 };

  var selected = [];
  var zoom = null; // {from, to} while zoomed in or out of the chosen range
  var asked = 0;
  var answered = 0;

  function chosenRange() {
    return D.rangeOf(rangeSelect, fromInput, toInput);
  }
  function plotWidth() {
    return Math.max(200, (charts.clientWidth || 800) - 24);
  }
  /** The smallest named step giving no more buckets than the chart has room for (about 3 px each). */
  function stepFor(span) {
    var most = Math.max(60, Math.min(300, Math.floor((plotWidth() - M.left - M.right) / 3)));
    for (var i = 0; i < STEPS.length; i++) if (span / STEPS[i] <= most) return STEPS[i];
    return Math.ceil(span / most / 864e5) * 864e5;
  }
  function label(ts, span) {
    var d = new Date(ts);
    return span <= 864e5
      ? d.toLocaleTimeString()
      : d.toLocaleDateString() + " " + d.toLocaleTimeString().slice(0, 5);
  }

  function renderChips() {
    chips.textContent = "";
    selected.forEach(function (key) {
      var chip = D.el("span", { class: "chip", "data-key": key }, key);
      var x = D.el("button", { type: "button", title: "remove " + key }, "×");
      x.addEventListener("click", function () {
        selected = selected.filter(function (k) {
          return k !== key;
        });
        renderChips();
        query();
      });
      chip.appendChild(x);
      chips.appendChild(chip);
    });
    document.getElementById("charts-empty").style.display = selected.length ? "none" : "";
  }

  function addPoint() {
    var key = pointInput.value.trim();
    if (!key || selected.indexOf(key) >= 0) return;
    selected.push(key);
    pointInput.value = "";
    renderChips();
    query();
  }

  function query() {
    var range = zoom || chosenRange();
    charts.textContent = "";
    if (!selected.length || !range) return;
    var step = stepFor(range.to - range.from);
    var n = ++asked;
    spanText.textContent =
      label(range.from, range.to - range.from) + " – " + label(range.to, range.to - range.from);
    D.source()
      .then(function (source) {
        if (!source) throw new Error("no history source runs: deploy a flow with a datacoll-save node");
        return D.getJSON(
          "api/history?source=" +
            encodeURIComponent(source) +
            "&points=" +
            encodeURIComponent(selected.join(",")) +
            "&from=" +
            Math.round(range.from) +
            "&to=" +
            Math.round(range.to) +
            "&step=" +
            step +
            "&agg=min,max,avg,first,last,count",
        );
      })
      .then(
        function (result) {
          if (n !== asked) return; // a newer question is on its way
          answered++;
          charts.textContent = "";
          charts.setAttribute("data-from", result.from);
          charts.setAttribute("data-to", result.to);
          charts.setAttribute("data-step", result.step);
          result.series.forEach(function (s) {
            charts.appendChild(chart(s, result.from, result.to, result.step));
          });
          charts.setAttribute("data-answers", answered);
        },
        function (err) {
          if (n !== asked) return;
          charts.textContent = "";
          charts.appendChild(D.el("div", { class: "error" }, err.message));
        },
      );
  }

  function chart(series, from, to, step) {
    var box = D.el("div", { class: "chart", "data-key": series.key });
    box.appendChild(D.el("h3", {}, series.key));
    var W = plotWidth();
    var svg = D.svgEl("svg", { viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "none" });
    box.appendChild(svg);
    var buckets = (series.buckets || []).filter(function (b) {
      return b.count > 0;
    });
    var initial = series.initial && typeof series.initial.value === "number" ? series.initial.value : null;
    var values = [];
    if (initial !== null) values.push(initial);
    buckets.forEach(function (b) {
      [b.min, b.max, b.avg].forEach(function (v) {
        if (typeof v === "number") values.push(v);
      });
    });
    if (!values.length) {
      var none = D.svgEl("text", { x: M.left, y: H / 2 });
      none.textContent = "no history of this point in this range";
      svg.appendChild(none);
      return box;
    }
    var lo = Math.min.apply(null, values);
    var hi = Math.max.apply(null, values);
    var pad = hi > lo ? (hi - lo) * 0.08 : Math.abs(hi) * 0.05 || 1;
    lo -= pad;
    hi += pad;
    var x = function (t) {
      return M.left + ((Math.min(Math.max(t, from), to) - from) / (to - from)) * (W - M.left - M.right);
    };
    var y = function (v) {
      return M.top + ((hi - v) / (hi - lo)) * (H - M.top - M.bottom);
    };
    var r = function (n) {
      return n.toFixed(1);
    };

    // Axes: three values up the side, start, middle and end times along the bottom.
    [hi - pad, (hi + lo) / 2, lo + pad].forEach(function (v) {
      svg.appendChild(
        D.svgEl("line", { class: "grid", x1: M.left, x2: W - M.right, y1: r(y(v)), y2: r(y(v)) }),
      );
      var t = D.svgEl("text", { x: M.left - 4, y: r(y(v) + 3), "text-anchor": "end" });
      t.textContent = D.fmt(Number(v.toPrecision(4)));
      svg.appendChild(t);
    });
    [from, (from + to) / 2, to].forEach(function (ts, i) {
      var t = D.svgEl("text", { x: r(x(ts)), y: H - 5, "text-anchor": ["start", "middle", "end"][i] });
      t.textContent = label(ts, to - from);
      svg.appendChild(t);
    });
    svg.appendChild(D.svgEl("line", { class: "axis", x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom }));

    buckets.forEach(function (b) {
      if (!b.quality) return;
      var shade = D.svgEl("rect", {
        class: "badq",
        "data-t": b.t,
        "data-quality": b.quality,
        x: r(x(b.t)),
        y: M.top,
        width: r(Math.max(1, x(b.t + step) - x(b.t))),
        height: H - M.top - M.bottom,
      });
      svg.appendChild(shade);
      svg.appendChild(
        D.svgEl("rect", {
          class: "badmark",
          x: r(x(b.t)),
          y: H - M.bottom - 3,
          width: r(Math.max(2, x(b.t + step) - x(b.t))),
          height: 3,
        }),
      );
    });

    var avg = "";
    var hold = "";
    var inForce = initial;
    var heldFrom = from;
    var joined = false;
    buckets.forEach(function (b) {
      var x0 = x(b.t);
      var x1 = x(b.t + step);
      if (b.t > heldFrom) joined = false;
      // Held flat up to the bucket, then straight up or down to the bucket's first value: a step.
      var enter = typeof b.first === "number" ? b.first : b.avg;
      if (inForce !== null && x0 > x(heldFrom))
        hold +=
          "M" +
          r(x(heldFrom)) +
          "," +
          r(y(inForce)) +
          "H" +
          r(x0) +
          (typeof enter === "number" ? "V" + r(y(enter)) : "");
      if (typeof b.min === "number" && typeof b.max === "number") {
        var band = D.svgEl("rect", {
          class: "band",
          "data-t": b.t,
          "data-count": b.count,
          "data-min": b.min,
          "data-max": b.max,
          "data-avg": b.avg,
          "data-quality": b.quality,
          x: r(x0),
          y: r(y(b.max)),
          width: r(Math.max(1, x1 - x0)),
          height: r(Math.max(1, y(b.min) - y(b.max))),
        });
        var title = D.svgEl("title");
        title.textContent =
          label(b.t, to - from) +
          ": avg " +
          D.fmt(b.avg) +
          ", min " +
          D.fmt(b.min) +
          ", max " +
          D.fmt(b.max) +
          ", " +
          b.count +
          " samples" +
          (b.quality ? ", bad quality" : "");
        band.appendChild(title);
        svg.appendChild(band);
      }
      // Buckets side by side are joined by a vertical step; after a gap the line starts afresh.
      if (typeof b.avg === "number")
        avg += (joined ? "V" + r(y(b.avg)) : "M" + r(x0) + "," + r(y(b.avg))) + "H" + r(x1);
      joined = typeof b.avg === "number";
      var last = typeof b.last === "number" ? b.last : b.avg;
      if (typeof last === "number") inForce = last;
      heldFrom = b.t + step;
    });
    // The value in force after the last saved change holds to the range's end (or to now, if sooner).
    var end = Math.min(to, Date.now());
    if (inForce !== null && end > heldFrom)
      hold += "M" + r(x(heldFrom)) + "," + r(y(inForce)) + "H" + r(x(end));
    if (hold) svg.appendChild(D.svgEl("path", { class: "hold", d: hold }));
    if (avg) svg.appendChild(D.svgEl("path", { class: "avg", d: avg }));
    if (initial !== null) box.setAttribute("data-initial", initial);

    // Drag across the chart to zoom into that stretch.
    var sel = D.svgEl("rect", { class: "sel", x: 0, y: M.top, width: 0, height: H - M.top - M.bottom });
    svg.appendChild(sel);
    var startX = null;
    var toView = function (e) {
      var rect = svg.getBoundingClientRect();
      return ((e.clientX - rect.left) / rect.width) * W;
    };
    var timeAt = function (vx) {
      return from + ((vx - M.left) / (W - M.left - M.right)) * (to - from);
    };
    svg.addEventListener("pointerdown", function (e) {
      startX = toView(e);
      svg.setPointerCapture(e.pointerId);
    });
    svg.addEventListener("pointermove", function (e) {
      if (startX === null) return;
      var now = toView(e);
      sel.setAttribute("x", r(Math.min(startX, now)));
      sel.setAttribute("width", r(Math.abs(now - startX)));
    });
    svg.addEventListener("pointerup", function (e) {
      if (startX === null) return;
      var endX = toView(e);
      var a = timeAt(Math.min(startX, endX));
      var b = timeAt(Math.max(startX, endX));
      var dragged = Math.abs(endX - startX) >= 6; // a click or a shaky tap is not a zoom
      startX = null;
      sel.setAttribute("width", 0);
      if (!dragged) return;
      zoomTo(Math.max(a, from), Math.min(b, to));
    });
    return box;
  }

  function zoomTo(from, to) {
    if (to - from < MIN_SPAN) {
      var mid = (from + to) / 2;
      from = mid - MIN_SPAN / 2;
      to = mid + MIN_SPAN / 2;
    }
    zoom = { from: from, to: to };
    query();
  }
  function zoomBy(factor) {
    var range = zoom || chosenRange();
    if (!range) return;
    var mid = (range.from + range.to) / 2;
    var half = ((range.to - range.from) * factor) / 2;
    zoomTo(mid - half, mid + half);
  }

  document.getElementById("trend-add").addEventListener("click", addPoint);
  pointInput.addEventListener("keydown", function (e) {
    if (e.key === "Enter") addPoint();
  });
  rangeSelect.addEventListener("change", function () {
    custom.hidden = rangeSelect.value !== "custom";
    if (rangeSelect.value === "custom") {
      var r = zoom || { from: Date.now() - 36e5, to: Date.now() };
      fromInput.value = D.localInput(r.from);
      toInput.value = D.localInput(r.to);
    }
    zoom = null;
    query();
  });
  document.getElementById("trend-apply").addEventListener("click", function () {
    zoom = null;
    query();
  });
  document.getElementById("zoom-in").addEventListener("click", function () {
    zoomBy(0.5);
  });
  document.getElementById("zoom-out").addEventListener("click", function () {
    zoomBy(2);
  });
  document.getElementById("zoom-reset").addEventListener("click", function () {
    zoom = null;
    query();
  });
  D.onSource(function () {
    if (D.view() === "trends") query();
  });
  D.onView(function (v) {
    if (v === "trends") D.reloadSources().then(query, query);
  });
  renderChips();
})();
