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
    port: { value: 502, required: true, validate: RED.validators.number() },
    timeout: { value: 1000, required: true, validate: RED.validators.number() },
    inFlight: { value: 1, required: true, validate: RED.validators.number() },
    queueSize: { value: 1000, required: true, validate: RED.validators.number() },
    backoff: { value: 1000, required: true, validate: RED.validators.number() },
    backoffMax: { value: 30000, required: true, validate: RED.validators.number() },
    acceptRewrittenUnit: { value: false },
    // How frames are carried (issue #20); a device saved before the setting is "tcp" (migration 1).
    transport: { value: "tcp" },
    // Resends after a timeout; blank = 2 over UDP (datagrams get lost), 0 over TCP (issue #20).
    retries: { value: "", validate: RED.validators.regex(/^\s*(\d|10)?\s*$/) },
  },
  label: function () {
    return this.name || this.host + ":" + this.port;
  },
  oneditprepare: function () {
    var node = this;
    $("#node-config-input-port").spinner({ min: 1, max: 65535 });
    $("#node-config-input-inFlight").spinner({ min: 1, max: 64 });
    // RTU has no transaction id, so only one request is on the wire whatever this says (help).
    $("#node-config-input-transport")
      .on("change", function () {
        $("#node-config-input-inFlight").spinner(/^rtu-/.test($(this).val()) ? "disable" : "enable");
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
