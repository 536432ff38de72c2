RED.nodes.registerType("datacoll-manager", {
  category: "config",
  defaults: {
    name: { value: "" },
    store: { value: "embedded", required: true },
    redisUrl: {
      value: "redis://127.0.0.1:6379",
      validate: function (v) {
        return $("#node-config-input-store").val() !== "redis" && this.store !== "redis"
          ? true
          : /^rediss?:\/\/\S+$/.test(v);
      },
    },
    redisCa: { value: "" },
    redisCert: { value: "" },
    redisRejectUnauthorized: { value: true },
    namespace: { value: "dc:", required: true, validate: RED.validators.regex(/^[A-Za-z0-9_.-]{1,64}:$/) },
    instanceId: { value: "" },
    runDevices: { value: true },
    // Flows saved before the lease setting existed (examples 03, 04, 06, 07) lack it: absent is valid.
    leaseMs: { value: 10000, validate: (v) => v === undefined || RED.validators.number()(v) },
    // Empty: a minute of samples at the instance's rate (src/core/store/outage-buffer.ts).
    outageBuffer: { value: "", validate: (v) => v === undefined || /^\s*(|auto|\d+)\s*$/.test(String(v)) },
  },
  credentials: {
    password: { type: "password" },
    redisKey: { type: "password" },
  },
  label: function () {
    if (this.name) return this.name;
    return this.store === "redis" ? this.namespace + " @ " + this.redisUrl : this.namespace + " (embedded)";
  },
  oneditprepare: function () {
    var toggle = function () {
      var redis = $("#node-config-input-store").val() === "redis";
      $(".datacoll-manager-redis").toggle(redis);
      $(".datacoll-manager-tls").toggle(redis && /^rediss:/.test($("#node-config-input-redisUrl").val()));
    };
    $("#node-config-input-store").on("change", toggle);
    $("#node-config-input-redisUrl").on("change keyup", toggle);
    toggle();
  },
});
