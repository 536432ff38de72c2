RED.nodes.registerType("datacoll-modbus", {
  category: "config",
  defaults: {
    name: { value: "" },
    deviceId: { value: "", validate: RED.validators.regex(/^[^\s:]{0,64}$/) },
    host: {
      value: "127.0.0.1",
      required: true,
      validate: RED.validators.regex(/^[A-Za-z0-9.\-:[\]]{1,253}$/),
    },
    port: {
      value: 502,
      required: true,
      // a TCP port, 1 to 65535 (the spinner's bounds do not stop typed text)
      validate: function (v) {
        return /^\s*\d{1,5}\s*$/.test(String(v)) && Number(v) >= 1 && Number(v) <= 65535;
      },
    },
    timeout: { value: 1000, required: true, validate: RED.validators.number() },
    inFlight: { value: 1, required: true, validate: RED.validators.number() },
    queueSize: { value: 1000, required: true, validate: RED.validators.number() },
    backoff: { value: 1000, required: true, validate: RED.validators.number() },
    backoffMax: { value: 30000, required: true, validate: RED.validators.number() },
    acceptRewrittenUnit: { value: false },
    // How frames are carried (issue #20); a device saved before the setting is "tcp" (migration 1).
    transport: { value: "tcp" },
    // Resends after a timeout; blank = 2 over UDP (datagrams get lost), 0 over TCP or serial (issue #20).
    // A device saved before the setting has none, which means blank (the runtime reads it so).
    retries: {
      value: "",
      validate: function (v) {
        return v === undefined || /^\s*(\d|10)?\s*$/.test(v);
      },
    },
    // The serial line (issue #20), read only by the serial transports; empty data bits = 8 RTU, 7 ASCII.
    serialPort: { value: "" },
    baudRate: { value: 19200, validate: RED.validators.number(true) },
    dataBits: { value: "" },
    parity: { value: "even" },
    stopBits: { value: 1 },
    turnaround: { value: 0, validate: RED.validators.number(true) },
  },
  paletteLabel: "modbus device",
  label: function () {
    if (this.name) return this.name;
    return /^serial-/.test(this.transport) ? this.serialPort : this.host + ":" + this.port;
  },
  oneditprepare: function () {
    var node = this;
    $("#node-config-input-port").spinner({ min: 1, max: 65535 });
    $("#node-config-input-inFlight").spinner({ min: 1, max: 64 });
    // Only MBAP (TCP or UDP) has a transaction id; RTU and ASCII have none, so only one request is on
    // the wire whatever this says (help).
    $("#node-config-input-transport")
      .on("change", function () {
        $("#node-config-input-inFlight").spinner(/^(tcp|udp)$/.test($(this).val()) ? "enable" : "disable");
      })
      .trigger("change");
    // Serial transports show the line's settings instead of host and port; the port list is the
    // runtime's (GET datacoll/serial-ports), since the browser cannot see the machine's ports.
    var serialNote = $("#node-config-input-serialPort-note");
    var loadPorts = function () {
      $.getJSON("datacoll/serial-ports")
        .done(function (r) {
          var list = $("#node-config-input-serialPort-list").empty();
          (r.ports || []).forEach(function (p) {
            $("<option>").attr("value", p).appendTo(list);
          });
          serialNote.text(r.installed ? "" : r.message || "").css("color", "#c00");
        })
        .fail(function (xhr) {
          serialNote.text((xhr.responseJSON || {}).message || xhr.statusText).css("color", "#c00");
        });
    };
    $("#node-config-input-serialPort-refresh").on("click", loadPorts);
    $("#node-config-input-transport")
      .on("change", function () {
        var serial = /^serial-/.test($(this).val());
        $(".datacoll-serial-rows").toggle(serial);
        $(".datacoll-tcp-row").toggle(!serial);
        if (serial) loadPorts();
      })
      .trigger("change");

    // The unit id is only for the test (a device serves many units); it is not saved with the node.
    $("#datacoll-modbus-test").on("click", function () {
      var out = $("#datacoll-modbus-test-result");
      var field = function (name) {
        return $("#node-config-input-" + name).val();
      };
      out.text(node._("datacoll-modbus.test.running")).css("color", "");
      $.ajax({
        url: "datacoll/modbus/test",
        type: "POST",
        contentType: "application/json",
        data: JSON.stringify({
          host: field("host"),
          port: field("port"),
          timeout: field("timeout"),
          transport: field("transport"),
          serialPort: field("serialPort"),
          baudRate: field("baudRate"),
          dataBits: field("dataBits"),
          parity: field("parity"),
          stopBits: field("stopBits"),
          turnaround: field("turnaround"),
          unit: $("#datacoll-modbus-test-unit").val(),
        }),
      })
        .done(function (r) {
          out.text(r.message).css("color", r.ok ? "green" : "#c00");
        })
        .fail(function (xhr) {
          var r = xhr.responseJSON || {};
          out.text(r.message || xhr.statusText).css("color", "#c00");
        });
    });
  },
});
