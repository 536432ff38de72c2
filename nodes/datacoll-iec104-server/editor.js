RED.nodes.registerType("datacoll-iec104-server", {
  category: "datacoll",
  color: "#c7e9c0",
  icon: "datacoll-iec104-server.svg",
  defaults: {
    name: { value: "" },
    host: { value: "127.0.0.1", required: true },
    port: {
      value: 2404,
      required: true,
      // a TCP port, 0 (any free one) to 65535 (the spinner's bounds do not stop typed text)
      validate: function (v) {
        return /^\s*\d{1,5}\s*$/.test(String(v)) && Number(v) >= 0 && Number(v) <= 65535;
      },
    },
    commonAddress: { value: 1, required: true, validate: RED.validators.number() },
    updateMs: { value: 1000, required: true, validate: RED.validators.number() },
    periodic: { value: 0, validate: RED.validators.number() },
    selectTimeout: { value: 10, validate: RED.validators.number() },
    // Seconds a master may send nothing before it is disconnected; 0 = never. Above t3 (20 s, the node's
    // link default), since the TESTFR the outstation sends after t3 of silence is what a live master
    // answers; a shorter time would close masters that are fine (issue #21).
    idleTimeout: {
      value: 30,
      validate: function (v, opt) {
        var n = Number(v);
        if (String(v).trim() !== "" && isFinite(n) && (n === 0 || n > 20)) return true;
        return opt && typeof this._ === "function"
          ? this._("datacoll-iec104-server.errors.idleTimeout")
          : false;
      },
    },
    points: {
      value: [],
      validate: function (rows) {
        if (!Array.isArray(rows)) return false;
        var kinds = ["constant", "ramp", "sine", "random-walk", "toggle", ""];
        for (var i = 0; i < rows.length; i++) {
          if (!/^\d{1,8}$/.test(String(rows[i].ioa || ""))) return false;
          if (kinds.indexOf(rows[i].generator || "") < 0) return false;
        }
        return true;
      },
    },
    commands: {
      value: [],
      validate: function (rows) {
        if (!Array.isArray(rows)) return false;
        for (var i = 0; i < rows.length; i++) {
          if (!/^\d{1,8}$/.test(String(rows[i].ioa || ""))) return false;
        }
        return true;
      },
    },
  },
  inputs: 1,
  outputs: 1,
  inputLabels: "set values",
  outputLabels: "commands executed",
  label: function () {
    return this.name || "IEC 104 outstation :" + this.port;
  },
  paletteLabel: "iec104 server",
  oneditprepare: function () {
    var cell = function (row, cls, width, placeholder, value) {
      return $('<input type="text" class="' + cls + '">')
        .css({ width: width })
        .attr("placeholder", placeholder)
        .val(value === undefined || value === null ? "" : value)
        .appendTo(row);
    };
    var select = function (row, cls, width, options, value) {
      var s = $('<select class="' + cls + '">')
        .css({ width: width })
        .appendTo(row);
      options.forEach(function (o) {
        $("<option>").val(o).text(o).appendTo(s);
      });
      s.val(value || options[0]);
      return s;
    };
    var monitorTypes = [
      "M_SP_NA_1",
      "M_DP_NA_1",
      "M_ST_NA_1",
      "M_BO_NA_1",
      "M_ME_NA_1",
      "M_ME_NB_1",
      "M_ME_NC_1",
      "M_IT_NA_1",
    ];
    var commandTypes = [
      "single-command",
      "double-command",
      "step-command",
      "setpoint-normalized",
      "setpoint-scaled",
      "setpoint-float",
    ];
    $("#node-input-points-container")
      .css("min-height", "120px")
      .editableList({
        addItem: function (row, index, data) {
          row.css({ display: "flex", gap: "4px" });
          cell(row, "p-ioa", "10%", "IOA", data.ioa);
          select(row, "p-type", "16%", monitorTypes, data.type || "M_ME_NC_1");
          cell(row, "p-value", "9%", "value", data.value);
          select(
            row,
            "p-generator",
            "15%",
            ["constant", "ramp", "sine", "random-walk", "toggle"],
            data.generator,
          );
          cell(row, "p-min", "8%", "min", data.min);
          cell(row, "p-max", "8%", "max", data.max);
          cell(row, "p-period", "9%", "period s", data.period);
          cell(row, "p-step", "8%", "step", data.step);
          cell(row, "p-group", "8%", "group", data.group);
        },
        removable: true,
        sortable: true,
      });
    (this.points || []).forEach(function (p) {
      $("#node-input-points-container").editableList("addItem", p);
    });
    $("#node-input-commands-container")
      .css("min-height", "80px")
      .editableList({
        addItem: function (row, index, data) {
          row.css({ display: "flex", gap: "4px" });
          cell(row, "c-ioa", "12%", "IOA", data.ioa);
          select(row, "c-type", "28%", commandTypes, data.type);
          select(
            row,
            "c-accept",
            "14%",
            ["true", "false"],
            String(data.accept === undefined ? "true" : data.accept),
          );
          select(row, "c-sbo", "14%", ["false", "true"], String(data.sbo === undefined ? "false" : data.sbo));
          cell(row, "c-feedback", "16%", "feedback IOA", data.feedback);
        },
        removable: true,
        sortable: true,
      });
    (this.commands || []).forEach(function (c) {
      $("#node-input-commands-container").editableList("addItem", c);
    });
  },
  oneditsave: function () {
    var read = function (container, fields) {
      var out = [];
      $(container)
        .editableList("items")
        .each(function () {
          var r = $(this);
          var row = {};
          fields.forEach(function (f) {
            row[f[0]] = String(r.find("." + f[1]).val() || "").trim();
          });
          out.push(row);
        });
      return out;
    };
    this.points = read("#node-input-points-container", [
      ["ioa", "p-ioa"],
      ["type", "p-type"],
      ["value", "p-value"],
      ["generator", "p-generator"],
      ["min", "p-min"],
      ["max", "p-max"],
      ["period", "p-period"],
      ["step", "p-step"],
      ["group", "p-group"],
    ]);
    this.commands = read("#node-input-commands-container", [
      ["ioa", "c-ioa"],
      ["type", "c-type"],
      ["accept", "c-accept"],
      ["sbo", "c-sbo"],
      ["feedback", "c-feedback"],
    ]);
  },
});
