RED.nodes.registerType("datacoll-manager", {
  category: "config",
  defaults: {
    name: { value: "" },
    store: { value: "embedded", required: true },
    // Flows saved before Sentinel was offered lack the mode: absent is standalone (the runtime agrees).
    redisMode: { value: "standalone" },
    redisUrl: {
      value: "redis://127.0.0.1:6379",
      validate: function (v) {
        var redis = ($("#node-config-input-store").val() || this.store) === "redis";
        var sentinel = ($("#node-config-input-redisMode").val() || this.redisMode) === "sentinel";
        return !redis || sentinel ? true : /^rediss?:\/\/\S+$/.test(v);
      },
    },
    sentinels: {
      value: "",
      validate: function (v) {
        var redis = ($("#node-config-input-store").val() || this.store) === "redis";
        var sentinel = ($("#node-config-input-redisMode").val() || this.redisMode) === "sentinel";
        return !redis || !sentinel ? true : /^\s*[^\s,:]+:\d+(\s*[\s,]\s*[^\s,:]+:\d+)*\s*$/.test(v || "");
      },
    },
    sentinelName: { value: "mymaster" },
    sentinelTls: { value: false },
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
    historyLength: {
      value: "",
      validate: (v) =>
        v === undefined ||
        /^\s*$/.test(String(v)) ||
        (/^\s*\d+\s*$/.test(String(v)) && Number(v) >= 1 && Number(v) <= 1000000),
    },
  },
  credentials: {
    password: { type: "password" },
    redisKey: { type: "password" },
    sentinelPassword: { type: "password" },
  },
  paletteLabel: "manager",
  label: function () {
    if (this.name) return this.name;
    if (this.store !== "redis") return this.namespace + " (embedded)";
    if (this.redisMode === "sentinel")
      return this.namespace + " @ sentinel " + (this.sentinelName || "mymaster");
    return this.namespace + " @ " + this.redisUrl;
  },
  oneditprepare: function () {
    var toggle = function () {
      var redis = $("#node-config-input-store").val() === "redis";
      var sentinel = $("#node-config-input-redisMode").val() === "sentinel";
      $(".datacoll-manager-redis").toggle(redis);
      $(".datacoll-manager-standalone").toggle(redis && !sentinel);
      $(".datacoll-manager-sentinel").toggle(redis && sentinel);
      var tls = sentinel
        ? $("#node-config-input-sentinelTls").prop("checked")
        : /^rediss:/.test($("#node-config-input-redisUrl").val());
      $(".datacoll-manager-tls").toggle(redis && tls);
    };
    $("#node-config-input-store, #node-config-input-redisMode, #node-config-input-sentinelTls").on(
      "change",
      toggle,
    );
    $("#node-config-input-redisUrl").on("change keyup", toggle);
    toggle();
  },
});
