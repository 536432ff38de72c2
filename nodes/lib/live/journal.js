// The Alarm journal page: every alarm transition the chosen history source (a datacoll-save node) wrote
// to its alarms table — raises, clears, acknowledgements, shelving — newest first, filtered by point,
// state and time range, a page at a time ("More" follows the route's cursor).
(function () {
  "use strict";
  var D = window.DataColl;
  var body = document.getElementById("journal");
  var empty = document.getElementById("journal-empty");
  var more = document.getElementById("journal-more");
  var pointInput = document.getElementById("journal-point");
  var stateSelect = document.getElementById("journal-state");
  var rangeSelect = document.getElementById("journal-range");
  var custom = document.getElementById("journal-custom");
  var fromInput = document.getElementById("journal-from");
  var toInput = document.getElementById("journal-to");
  var asked = 0;
  var next = null;
  var filters = null;

  /** What an operator calls the transition, from the state machine's before and after. */
  function eventOf(r) {
    if (r.state === "shelved") return "shelved";
    if (r.previous === "shelved") return "unshelved";
    if (r.state === "raised") return "raised";
    if (r.state === "acked" || (r.state === "normal" && r.previous === "cleared-unacked"))
      return "acknowledged";
    return "cleared";
  }

  function row(r) {
    var ev = eventOf(r);
    var tr = D.el("tr", {
      class: ev,
      "data-key": r.key,
      "data-state": r.state,
      "data-event": ev,
      "data-ts": r.ts,
    });
    tr.appendChild(D.el("td", {}, D.dateTime(r.ts)));
    tr.appendChild(D.el("td", {}, r.key));
    tr.appendChild(D.el("td", {}, r.condition));
    tr.appendChild(D.el("td", { class: ev === "raised" ? "bad" : "" }, ev));
    tr.appendChild(D.el("td", { class: "muted" }, r.previous + " → " + r.state));
    tr.appendChild(D.el("td", {}, r.severity));
    tr.appendChild(D.el("td", {}, r.text));
    tr.appendChild(D.el("td", { class: "num" }, D.fmt(r.value)));
    tr.appendChild(D.el("td", {}, r.ackBy || ""));
    return tr;
  }

  function load(fresh) {
    if (fresh) {
      var r = D.rangeOf(rangeSelect, fromInput, toInput);
      if (!r) {
        empty.textContent = "Choose a from time before the to time.";
        empty.style.display = "";
        return;
      }
      filters = { from: r.from, to: r.to, point: pointInput.value.trim(), state: stateSelect.value };
      next = null;
    }
    var n = ++asked;
    // The number of the latest question, beside data-answers (the latest answered): a page test waits for
    // the answer to the question it asked, not for any answer.
    body.setAttribute("data-asked", n);
    var params =
      "&from=" +
      Math.round(filters.from) +
      "&to=" +
      Math.round(filters.to) +
      (filters.point ? "&point=" + encodeURIComponent(filters.point) : "") +
      (filters.state ? "&state=" + encodeURIComponent(filters.state) : "") +
      (next ? "&cursor=" + encodeURIComponent(next) : "") +
      "&limit=100";
    D.source()
      .then(function (source) {
        if (!source) throw new Error("no history source runs: deploy a flow with a datacoll-save node");
        return D.getJSON("api/history/alarms?source=" + encodeURIComponent(source) + params);
      })
      .then(
        function (page) {
          if (n !== asked) return;
          if (fresh) body.textContent = "";
          page.rows.forEach(function (r) {
            body.appendChild(row(r));
          });
          next = page.next || null;
          more.hidden = !next;
          empty.textContent = "No alarm events in this range.";
          empty.style.display = body.children.length ? "none" : "";
          body.setAttribute("data-answers", n);
        },
        function (err) {
          if (n !== asked) return;
          body.textContent = "";
          more.hidden = true;
          empty.textContent = err.message;
          empty.style.display = "";
        },
      );
  }

  rangeSelect.addEventListener("change", function () {
    custom.hidden = rangeSelect.value !== "custom";
    if (rangeSelect.value === "custom" && !fromInput.value) {
      fromInput.value = D.localInput(Date.now() - 864e5);
      toInput.value = D.localInput(Date.now());
    }
    if (rangeSelect.value !== "custom") load(true);
  });
  stateSelect.addEventListener("change", function () {
    load(true);
  });
  pointInput.addEventListener("change", function () {
    load(true);
  });
  document.getElementById("journal-search").addEventListener("click", function () {
    load(true);
  });
  more.addEventListener("click", function () {
    load(false);
  });
  D.onSource(function () {
    if (D.view() === "journal") load(true);
  });
  D.onView(function (v) {
    if (v === "journal")
      D.reloadSources().then(
        function () {
          load(true);
        },
        function () {
          load(true);
        },
      );
  });
})();
