// The live view's client: picks a manager, takes its snapshot and then the changes over Server-Sent
// Events, and renders devices, latest values with sparklines, and alarms with an acknowledge button —
// those whose condition is present apart from those that cleared and still wait for an acknowledgement.
(function () {
  "use strict";
  var D = window.DataColl;
  var base = D.base;
  var token = D.token;
  var withAuth = D.withAuth;
  var el = D.el;
  var time = D.time;
  var fmt = D.fmt;
  var select = document.getElementById("manager");
  var conn = document.getElementById("conn");
  var source = null;
  var points = {};

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

  function alarmRow(a) {
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
    return tr;
  }

  // The hub sends alarms whose condition is present, and cleared ones not yet acknowledged: the operator
  // must see at a glance which still need action on the plant and which only need a click.
  function renderAlarms(alarms) {
    var groups = { alarms: [], cleared: [] };
    alarms.forEach(function (a) {
      groups[a.active ? "alarms" : "cleared"].push(a);
    });
    Object.keys(groups).forEach(function (id) {
      var body = document.getElementById(id);
      body.textContent = "";
      document.getElementById(id + "-empty").style.display = groups[id].length ? "none" : "";
      groups[id].forEach(function (a) {
        body.appendChild(alarmRow(a));
      });
    });
  }

  function connect() {
    if (source) source.close();
    points = {};
    D.resetPointKeys();
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
      D.addPointKeys(Object.keys(points).sort());
      renderDevices(snap.devices);
      renderAlarms(snap.alarms);
    });
    source.addEventListener("points", function (e) {
      live();
      var fresh = [];
      JSON.parse(e.data).forEach(function (p) {
        if (!points[p.key]) fresh.push(p.key);
        points[p.key] = p;
        renderPoint(p, true);
      });
      D.addPointKeys(fresh);
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
      D.showView();
    })
    .catch(function (err) {
      conn.textContent =
        err && err.message === "login"
          ? "log in to the Node-RED editor first: this page uses its login"
          : "cannot reach Node-RED: " + (err && err.message);
    });
  select.addEventListener("change", connect);
})();
