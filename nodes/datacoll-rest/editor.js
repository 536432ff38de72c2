// Node-RED replaces this definition with the one it makes from the subflow (RED.nodes.registerSubflow in
// datacoll-rest.ts); it is kept, with the same properties, for tools that read the package's .html.
RED.nodes.registerType("datacoll-rest", {
  category: "datacoll",
  color: "#a6bbcf",
  icon: "datacoll-api.svg",
  defaults: {
    name: { value: "" },
    MANAGER: { value: "dc:" },
    URL: { value: "/api/*" },
    MAX_BODY: { value: 1000000 },
  },
  inputs: 0,
  outputs: 0,
  paletteLabel: "rest",
  label: function () {
    return this.name || "rest " + this.URL;
  },
});
