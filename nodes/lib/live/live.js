// The live view's client: picks a manager, takes its snapshot and then the changes over Server-Sent
// Events, and renders devices, latest values with sparklines, and alarms with an acknowledge button.
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
  var select = document.getElementById("manager");
  var conn = document.getElementById("conn");
  var source = null;
  var points = {};

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      e.setAttribute(k, attrs[k]);
    });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function time(ts) {
    return ts ? new Date(ts).toLocaleTimeString() : "";
  }
  function fmt(v) {
    if (typeof v === "number") {
      if (Number.isInteger(v)) return String(v);
      return Math.abs(v) >= 1000 ? v.toFixed(1) : v.toFixed(3);
    }
    return v === null || v === undefined ? "—" : String(v);
  }
  function quality(q) {
    var flags = Object.keys(q || {}).filter(function (k) {
      return q[k];
    });
    return flags.length ? flags.join(", ") : "good";
  }
  function spark(values) {
    var w = 90,
      h = 20;
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("width", w);
    svg.setAttribute("height", h);
    if (!values || values.length < 2) return svg;
    var min = Math.min.apply(null, values),
      max = Math.max.apply(null, values);
    var span = max - min || 1;
    var d = values
      .map(function (v, i) {
        return (
          (i ? "L" : "M") +
          ((i / (values.length - 1)) * (w - 2) + 1).toFixed(1) +
          "," +
          (h - 2 - ((v - min) / span) * (h - 4)).toFixed(1)
        );
      })
      .join("");
    var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "#2563eb");
    path.setAttribute("stroke-width", "1.5");
    svg.appendChild(path);
    return svg;
  }

  function renderDevices(devices) {
    var body = document.getElementById("devices");
    body.textContent = "";
    document.getElementById("devices-empty").style.display = devices.length ? "none" : "";
    devices.forEach(function (d) {
      var s = d.status;
      var tr = el("tr", { "data-device": d.id });
      var name = el("td");
      name.appendChild(
        el("span", {
          class: "dot " + (!s ? "unknown" : s.online ? "on" : "off"),
          title: s ? (s.online ? "online" : "offline") : "not running",
        }),
      );
      name.appendChild(document.createTextNode(d.name || d.id));
      tr.appendChild(name);
      tr.appendChild(el("td", {}, d.protocol));
      tr.appendChild(el("td", {}, s ? time(s.lastSeen) : ""));
      tr.appendChild(el("td", { class: "bad" }, (s && s.lastError) || ""));
      body.appendChild(tr);
    });
  }

  function renderPoint(p, flash) {
    var body = document.getElementById("points");
    var tr = body.querySelector('tr[data-key="' + CSS.escape(p.key) + '"]');
    var fresh = !tr;
    if (fresh) {
      tr = el("tr", { "data-key": p.key });
      for (var i = 0; i < 5; i++) tr.appendChild(el("td"));
      tr.children[1].className = "num";
      var keys = Object.keys(points).sort();
      var after = keys.indexOf(p.key) + 1;
      var next =
        after < keys.length ? body.querySelector('tr[data-key="' + CSS.escape(keys[after]) + '"]') : null;
      body.insertBefore(tr, next);
    }
    tr.children[0].textContent = p.key;
    tr.children[1].textContent = fmt(p.value);
    tr.children[2].textContent = "";
    tr.children[2].appendChild(spark(p.trend));
    var q = quality(p.quality);
    tr.children[3].textContent = q;
    tr.children[3].className = q === "good" ? "muted" : "bad";
    tr.children[4].textContent = time(p.ts);
    if (flash && !fresh) {
      tr.classList.remove("flash");
      void tr.offsetWidth;
      tr.classList.add("flash");
    }
    document.getElementById("points-empty").style.display = "none";
  }

  function renderAlarms(alarms) {
    var body = document.getElementById("alarms");
    body.textContent = "";
    document.getElementById("alarms-empty").style.display = alarms.length ? "none" : "";
    alarms.forEach(function (a) {
      var tr = el("tr", { "data-alarm": a.key + "/" + a.condition });
      tr.appendChild(el("td", {}, a.key));
      tr.appendChild(el("td", {}, a.condition));
      tr.appendChild(
        el(
          "td",
          { class: a.active ? "bad" : "muted" },
          (a.active ? "active" : "cleared") + (a.acked ? ", acknowledged" : ""),
        ),
      );
      tr.appendChild(el("td", {}, a.severity || ""));
      tr.appendChild(el("td", {}, a.message || ""));
      tr.appendChild(el("td", {}, time(a.ts)));
      var cell = el("td");
      if (!a.acked) {
        var b = el("button", { class: "ack", type: "button" }, "Acknowledge");
        b.addEventListener("click", function () {
          b.disabled = true;
          fetch(base + "api/alarms/ack", {
            method: "POST",
            headers: withAuth({ "Content-Type": "application/json" }),
            body: JSON.stringify({ manager: select.value, key: a.key, condition: a.condition }),
          }).then(function (res) {
            if (res.ok) b.textContent = "Acknowledged";
            else b.disabled = false;
          });
        });
        cell.appendChild(b);
      }
      tr.appendChild(cell);
      body.appendChild(tr);
    });
  }

  function connect() {
    if (source) source.close();
    points = {};
    document.getElementById("points").textContent = "";
    if (!select.value) return;
    source = new EventSource(
      base +
        "api/events?manager=" +
        encodeURIComponent(select.value) +
        (token ? "&access_token=" + encodeURIComponent(token) : ""),
    );
    // Any event is proof the stream is up: the header follows the data, not only the open event.
    function live() {
      conn.textContent = "live";
    }
    source.onopen = live;
    source.onerror = function () {
      conn.textContent = "reconnecting…";
    };
    source.addEventListener("snapshot", function (e) {
      live();
      var snap = JSON.parse(e.data);
      snap.points.forEach(function (p) {
        points[p.key] = p;
      });
      snap.points.forEach(function (p) {
        renderPoint(p, false);
      });
      renderDevices(snap.devices);
      renderAlarms(snap.alarms);
    });
    source.addEventListener("points", function (e) {
      live();
      JSON.parse(e.data).forEach(function (p) {
        points[p.key] = p;
        renderPoint(p, true);
      });
    });
    source.addEventListener("status", function (e) {
      live();
      var s = JSON.parse(e.data);
      renderDevices(s.devices);
      renderAlarms(s.alarms);
    });
  }

  fetch(base + "api/managers", { headers: withAuth({}) })
    .then(function (res) {
      if (res.status === 401) throw new Error("login");
      return res.json();
    })
    .then(function (list) {
      list.forEach(function (m) {
        select.appendChild(el("option", { value: m.id }, m.name));
      });
      if (!list.length) conn.textContent = "no manager running: deploy a flow with a datacoll-manager";
      connect();
    })
    .catch(function (err) {
      conn.textContent =
        err && err.message === "login"
          ? "log in to the Node-RED editor first: this page uses its login"
          : "cannot reach Node-RED: " + (err && err.message);
    });
  select.addEventListener("change", connect);
})();
