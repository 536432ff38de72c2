RED.nodes.registerType("datacoll-data", {
  category: "datacoll",
  color: "#7fb7df",
  icon: "datacoll-data.svg",
  defaults: {
    name: { value: "" },
    manager: { value: "", type: "datacoll-manager", required: true },
    pattern: {
      value: "#",
      validate: RED.validators.regex(/^\s*$|^([^\s:#*+]+|[*+#])(:([^\s:#*+]+|[*+#])){0,2}$/),
    },
    output: { value: "batch" },
    onlyChange: { value: false },
    maxRate: { value: "", validate: RED.validators.number(true) },
  },
  inputs: 0,
  outputs: 1,
  outputLabels: "DataPoints",
  label: function () {
    return this.name || "data " + (this.pattern || "#");
  },
  paletteLabel: "data",
});
