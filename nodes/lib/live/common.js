// What the live view's three pages (live values, trends, alarm journal) share: the editor's login token,
// small DOM helpers, number and time formats, the page switch in the header, the chosen manager's point
// list (for the point pickers) and the list of running history sources (datacoll-save nodes).
(function () {
  "use strict";
  var base = location.pathname.replace(/\/?$/, "/");
  // With adminAuth the data routes need the editor's login. The editor keeps its token in local storage
  // under "auth-tokens" plus its own path (slashes as dashes); this page is at <editor>/datacoll/.
  var token = (function () {
    try {
      var editor = base.replace(/datacoll\/$/, "").slice(0, -1);
      var saved = JSON.parse(localStorage.getItem("auth-tokens" + editor.replace(/\//g, "-")) || "null");
      return saved && saved.access_token ? String(saved.access_token) : "";
    } catch {
      // Storage blocked or not the editor's JSON: go without a token; a 401 then says "log in" on the page.
      return "";
    }
  })();
  function withAuth(headers) {
    if (token) headers.Authorization = "Bearer " + token;
    return headers;
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      e.setAttribute(k, attrs[k]);
    });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svgEl(tag, attrs) {
    var e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs || {}).forEach(function (k) {
      e.setAttribute(k, attrs[k]);
    });
    return e;
  }
  function time(ts) {
    return ts ? new Date(ts).toLocaleTimeString() : "";
  }
  function dateTime(ts) {
    return ts ? new Date(ts).toLocaleString() : "";
  }
  function fmt(v) {
    if (typeof v === "number") {
      if (Number.isInteger(v)) return String(v);
      return Math.abs(v) >= 1000 ? v.toFixed(1) : v.toFixed(3);
    }
    return v === null || v === undefined ? "—" : String(v);
  }
  /** A datetime-local input's text for epoch ms, in the browser's time zone, to the second. */
  function localInput(ts) {
    var d = new Date(ts - new Date(ts).getTimezoneOffset() * 60000);
    return d.toISOString().slice(0, 19);
  }
  /**
   * The range a page's range list names: the last hour/day/week up to now (the option's value is the span
   * in ms), or the from–to inputs when "custom"; null while those do not make a range.
   */
  function rangeOf(select, fromInput, toInput) {
    if (select.value !== "custom") {
      var to = Date.now();
      return { from: to - Number(select.value), to: to };
    }
    var from = new Date(fromInput.value).getTime();
    var until = new Date(toInput.value).getTime();
    return isFinite(from) && isFinite(until) && from < until ? { from: from, to: until } : null;
  }
  /** GET a data route; rejects with the route's own error message (a 400 says which field is wrong). */
  function getJSON(path) {
    return fetch(base + path, { headers: withAuth({}) }).then(function (res) {
      return res.json().then(
        function (body) {
          if (res.ok) return body;
          throw new Error(
            res.status === 401 ? "log in to the Node-RED editor first" : body.message || res.statusText,
          );
        },
        function () {
          throw new Error(res.status + " " + res.statusText);
        },
      );
    });
  }

  var managerSelect = document.getElementById("manager");
  var sourceSelect = document.getElementById("source");
  var keys = {};
  var viewListeners = [];
  var sourceListeners = [];

  /** Remember point keys the manager has shown, for the pickers' suggestions. */
  function addPointKeys(list) {
    var list2 = document.getElementById("point-keys");
    list.forEach(function (k) {
      if (keys[k]) return;
      keys[k] = true;
      list2.appendChild(el("option", { value: k }));
    });
  }
  function resetPointKeys() {
    keys = {};
    document.getElementById("point-keys").textContent = "";
  }

  function currentView() {
    var v = location.hash.replace(/^#/, "");
    return v === "trends" || v === "journal" ? v : "live";
  }
  function showView() {
    var v = applyView();
    viewListeners.forEach(function (f) {
      f(v);
    });
  }
  /** Show the page the address names (no data asked for: the pages' scripts do that when told). */
  function applyView() {
    var v = currentView();
    ["live", "trends", "journal"].forEach(function (name) {
      document.getElementById("view-" + name).hidden = name !== v;
    });
    document.querySelectorAll("nav a").forEach(function (a) {
      a.classList.toggle("current", a.getAttribute("data-view") === v);
    });
    document.getElementById("source-label").hidden = v === "live" || sourceSelect.options.length < 2;
    return v;
  }
  window.addEventListener("hashchange", showView);
  // Opened at #trends or #journal, that page shows at once, even before (or without) the manager list.
  applyView();

  var sourcesLoaded = null;
  /** The running history sources; loaded once, then again when asked (a source may start later). */
  function loadSources() {
    return (sourcesLoaded = getJSON("api/history/sources").then(function (list) {
      var before = sourceSelect.value;
      sourceSelect.textContent = "";
      list.forEach(function (s) {
        sourceSelect.appendChild(el("option", { value: s.id }, s.name + " (" + s.historyTable + ")"));
      });
      if (
        before &&
        list.some(function (s) {
          return s.id === before;
        })
      )
        sourceSelect.value = before;
      document.getElementById("source-label").hidden = currentView() === "live" || list.length < 2;
      return list;
    }));
  }
  sourceSelect.addEventListener("change", function () {
    sourceListeners.forEach(function (f) {
      f();
    });
  });

  window.DataColl = {
    base: base,
    token: token,
    withAuth: withAuth,
    el: el,
    svgEl: svgEl,
    time: time,
    dateTime: dateTime,
    fmt: fmt,
    localInput: localInput,
    rangeOf: rangeOf,
    getJSON: getJSON,
    manager: function () {
      return managerSelect.value;
    },
    addPointKeys: addPointKeys,
    resetPointKeys: resetPointKeys,
    view: currentView,
    onView: function (f) {
      viewListeners.push(f);
    },
    showView: showView,
    /** The chosen history source's id ("" when none runs); waits for the list the first time. */
    source: function () {
      return (sourcesLoaded || loadSources()).then(function () {
        return sourceSelect.value;
      });
    },
    reloadSources: loadSources,
    onSource: function (f) {
      sourceListeners.push(f);
    },
  };
})();
