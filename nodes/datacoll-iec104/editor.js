RED.nodes.registerType("datacoll-iec104", {
  category: "config",
  defaults: {
    name: { value: "" },
    deviceId: { value: "", validate: RED.validators.regex(/^[^\s:]{0,64}$/) },
    host: {
      value: "127.0.0.1",
      required: true,
      validate: RED.validators.regex(
        /^\s*[A-Za-z0-9.\-:[\]_]{1,253}(\s*[,; ]\s*[A-Za-z0-9.\-:[\]_]{1,253}){0,7}\s*$/,
      ),
    },
    port: {
      value: 2404,
      required: true,
      // a TCP port, 1 to 65535 (the spinner's bounds do not stop typed text)
      validate: function (v) {
        return /^\s*\d{1,5}\s*$/.test(String(v)) && Number(v) >= 1 && Number(v) <= 65535;
      },
    },
    commonAddress: { value: 1, required: true, validate: RED.validators.number() },
    originator: { value: 0, required: true, validate: RED.validators.number() },
    // "k" and "w" are names the editor keeps for itself; the runtime renames them in older flows
    // (nodes/lib/migrations/iec104-1-window-names.ts).
    windowK: { value: 12, required: true, validate: RED.validators.number() },
    windowW: { value: 8, required: true, validate: RED.validators.number() },
    t0: { value: 30, required: true, validate: RED.validators.number() },
    t1: { value: 15, required: true, validate: RED.validators.number() },
    t2: { value: 10, required: true, validate: RED.validators.number() },
    t3: { value: 20, required: true, validate: RED.validators.number() },
    giOnStart: { value: true },
    giInterval: { value: 0, validate: RED.validators.number() },
    ciInterval: { value: 0, validate: RED.validators.number() },
    clockSyncOnStart: { value: false },
    clockSyncInterval: { value: 0, validate: RED.validators.number() },
    backoff: { value: 1000, validate: RED.validators.number() },
    backoffMax: { value: 30000, validate: RED.validators.number() },
    frameLog: { value: false },
  },
  paletteLabel: "iec104 device",
  label: function () {
    return this.name || this.host + ":" + this.port + " CA " + this.commonAddress;
  },
  oneditprepare: function () {
    var node = this;
    $("#node-config-input-port").spinner({ min: 1, max: 65535 });
    $("#node-config-input-commonAddress").spinner({ min: 1, max: 65534 });
    $("#datacoll-iec104-test").on("click", function () {
      var out = $("#datacoll-iec104-test-result");
      var form = {};
      // Every field the device node validates, so a value it would refuse is named before deploying.
      [
        "host",
        "port",
        "commonAddress",
        "originator",
        "windowK",
        "windowW",
        "t0",
        "t1",
        "t2",
        "t3",
        "giInterval",
        "ciInterval",
        "clockSyncInterval",
        "backoff",
        "backoffMax",
      ].forEach(function (name) {
        form[name] = $("#node-config-input-" + name).val();
      });
      form.giOnStart = $("#node-config-input-giOnStart").is(":checked");
      form.clockSyncOnStart = $("#node-config-input-clockSyncOnStart").is(":checked");
      out.text(node._("datacoll-iec104.test.running")).css("color", "");
      $.ajax({
        url: "datacoll/iec104/test",
        type: "POST",
        contentType: "application/json",
        data: JSON.stringify(form),
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
