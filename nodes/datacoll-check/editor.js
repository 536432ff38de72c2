RED.nodes.registerType("datacoll-check", {
  category: "datacoll",
  color: "#e2a86b",
  icon: "datacoll-check.svg",
  defaults: {
    name: { value: "" },
    manager: { value: "", type: "datacoll-manager", required: false },
    scopeMode: { value: "pattern" },
    scope: { value: "" },
    lowLow: { value: "", validate: RED.validators.number(true) },
    low: { value: "", validate: RED.validators.number(true) },
    high: { value: "", validate: RED.validators.number(true) },
    highHigh: { value: "", validate: RED.validators.number(true) },
    hysteresis: { value: "", validate: RED.validators.number(true) },
    ratePerSecond: { value: "", validate: RED.validators.number(true) },
    staleSeconds: { value: "", validate: RED.validators.number(true) },
    quality: { value: false },
    verify: { value: "" },
    onDelay: { value: "", validate: RED.validators.number(true) },
    offDelay: { value: "", validate: RED.validators.number(true) },
    severity: { value: "", validate: RED.validators.number(true) },
    message: { value: "" },
  },
  inputs: 1,
  outputs: 2,
  inputLabels: "DataPoints, ack / shelve",
  outputLabels: ["DataPoints with alarm state", "alarm transitions"],
  label: function () {
    return this.name || "check";
  },
  paletteLabel: "check",
  oneditprepare: function () {
    if (!this.scopeMode) $("#node-input-scopeMode").val("pattern");
    var toggle = function () {
      $(".datacoll-check-pattern").toggle($("#node-input-scopeMode").val() !== "registry");
    };
    $("#node-input-scopeMode").on("change", toggle);
    toggle();
  },
});
