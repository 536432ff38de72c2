RED.nodes.registerType("datacoll-api", {
  category: "datacoll",
  color: "#a6bbcf",
  icon: "datacoll-api.svg",
  defaults: {
    name: { value: "" },
    manager: { value: "", type: "datacoll-manager", required: false },
    managerName: { value: "" },
    basePath: { value: "/api", required: true, validate: RED.validators.regex(/^(\/[A-Za-z0-9_.~-]+)*\/?$/) },
    maxBody: { value: 1000000, required: true, validate: RED.validators.number() },
    // Absent in flows saved before: blank, the only save node running.
    history: { value: "" },
  },
  inputs: 1,
  outputs: 1,
  paletteLabel: "api",
  label: function () {
    return this.name || "api " + (this.basePath || "/");
  },
  inputLabels: "msg.req from http in",
  outputLabels: "answer for http response",
});
