RED.nodes.registerType("datacoll-modbus-server", {
  category: "datacoll",
  color: "#c7e9c0",
  icon: "datacoll-modbus-server.svg",
  defaults: {
    name: { value: "" },
    host: { value: "127.0.0.1", required: true },
    port: {
      value: 5020,
      required: true,
      // a TCP port, 0 (any free one) to 65535 (the spinner's bounds do not stop typed text)
      validate: function (v) {
        return /^\s*\d{1,5}\s*$/.test(String(v)) && Number(v) >= 0 && Number(v) <= 65535;
      },
    },
    units: {
      value: "1",
      required: true,
      validate: RED.validators.regex(/^\s*\d{1,3}(\s*[,; ]\s*\d{1,3})*\s*$/),
    },
    updateMs: { value: 1000, required: true, validate: RED.validators.number() },
    // How frames are carried (issue #20); a simulator saved before the setting is "tcp" (migration 2).
    transport: { value: "tcp" },
    // The serial line (issue #20), read only by the serial transports; empty data bits = 8 RTU, 7 ASCII.
    serialPort: { value: "" },
    baudRate: { value: 19200, validate: RED.validators.number(true) },
    dataBits: { value: "" },
    parity: { value: "even" },
    stopBits: { value: 1 },
    turnaround: { value: 0, validate: RED.validators.number(true) },
    // Seconds a client may send nothing before it is disconnected; 0 = never (issue #21).
    idleTimeout: {
      value: 30,
      validate: function (v, opt) {
        var n = Number(v);
        if (String(v).trim() !== "" && isFinite(n) && n >= 0) return true;
        return opt && typeof this._ === "function"
          ? this._("datacoll-modbus-server.errors.idleTimeout")
          : false;
      },
    },
    // Unknown unit ids: "silent" as a device on a network, exception 0B as a gateway, or "auto": 0B for
    // RTU over TCP/UDP (a gateway), silent otherwise (issue #20). Older flows get "silent" (migration 3).
    unknownUnit: { value: "auto" },
    // Read device identification objects (FC 43/14); blank basic ones answer the simulator's defaults.
    vendorName: { value: "" },
    productCode: { value: "" },
    revision: { value: "" },
    productName: { value: "" },
    modelName: { value: "" },
    generators: {
      value: [],
      validate: function (rows) {
        if (!Array.isArray(rows)) return false;
        for (var i = 0; i < rows.length; i++) {
          if (
            !/^(?:(C|DI|HR|IR)\d{1,5}|\d{5,6})(\.\d{1,2})?(:[A-Za-z0-9]+(\(\d{1,3}\))?(:[A-Za-z]{4})?)?$/i.test(
              rows[i].address || "",
            )
          )
            return false;
          if (["constant", "ramp", "sine", "random-walk"].indexOf(rows[i].kind) < 0) return false;
        }
        return true;
      },
    },
  },
  inputs: 1,
  outputs: 1,
  inputLabels: "set values",
  outputLabels: "client writes",
  label: function () {
    if (this.name) return this.name;
    return "Modbus simulator " + (/^serial-/.test(this.transport) ? this.serialPort : ":" + this.port);
  },
  paletteLabel: "modbus server",
  oneditprepare: function () {
    // Serial transports show the line's settings instead of host and port; the port list is the
    // runtime's (GET datacoll/serial-ports), since the browser cannot see the machine's ports.
    var serialNote = $("#node-input-serialPort-note");
    var loadPorts = function () {
      $.getJSON("datacoll/serial-ports")
        .done(function (r) {
          var ports = $("#node-input-serialPort-list").empty();
          (r.ports || []).forEach(function (p) {
            $("<option>").attr("value", p).appendTo(ports);
          });
          serialNote.text(r.installed ? "" : r.message || "").css("color", "#c00");
        })
        .fail(function (xhr) {
          serialNote.text((xhr.responseJSON || {}).message || xhr.statusText).css("color", "#c00");
        });
    };
    $("#node-input-serialPort-refresh").on("click", loadPorts);
    $("#node-input-transport")
      .on("change", function () {
        var serial = /^serial-/.test($(this).val());
        $(".datacoll-serial-rows").toggle(serial);
        $(".datacoll-tcp-row").toggle(!serial);
        if (serial) loadPorts();
      })
      .trigger("change");
    var list = $("#node-input-generators-container");
    var cell = function (row, field, width, placeholder, value) {
      return $('<input type="text" class="node-input-gen-' + field + '">')
        .css({ width: width })
        .attr("placeholder", placeholder)
        .val(value === undefined || value === null ? "" : value)
        .appendTo(row);
    };
    list.css("min-height", "120px").editableList({
      addItem: function (row, index, data) {
        row.css({ display: "flex", gap: "4px" });
        cell(row, "unit", "8%", "unit", data.unit);
        cell(row, "address", "24%", "HR0:float32", data.address);
        var kind = $('<select class="node-input-gen-kind">').css({ width: "18%" }).appendTo(row);
        ["constant", "ramp", "sine", "random-walk"].forEach(function (k) {
          $("<option>").val(k).text(k).appendTo(kind);
        });
        kind.val(data.kind || "sine");
        cell(row, "value", "10%", "value", data.value);
        cell(row, "min", "9%", "min", data.min);
        cell(row, "max", "9%", "max", data.max);
        cell(row, "period", "10%", "period s", data.period);
        cell(row, "step", "8%", "step", data.step);
      },
      removable: true,
      sortable: true,
    });
    (this.generators || []).forEach(function (g) {
      list.editableList("addItem", g);
    });
  },
  oneditsave: function () {
    var out = [];
    $("#node-input-generators-container")
      .editableList("items")
      .each(function () {
        var r = $(this);
        var g = {};
        ["unit", "address", "kind", "value", "min", "max", "period", "step"].forEach(function (f) {
          g[f] = String(r.find(".node-input-gen-" + f).val() || "").trim();
        });
        out.push(g);
      });
    this.generators = out;
  },
});
