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
  },
  label: function () {
    return this.name || this.host + ":" + this.port;
  },
  oneditprepare: function () {
    $("#node-config-input-port").spinner({ min: 1, max: 65535 });
    $("#node-config-input-inFlight").spinner({ min: 1, max: 64 });
  },
});
