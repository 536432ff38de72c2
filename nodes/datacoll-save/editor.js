RED.nodes.registerType("datacoll-save", {
  category: "datacoll",
  color: "#c0a0d0",
  icon: "datacoll-save.svg",
  defaults: {
    name: { value: "" },
    mysql: { value: "", type: "datacoll-mysql", required: true },
    manager: { value: "", type: "datacoll-manager", required: false },
    historyTable: {
      value: "dc_history",
      required: true,
      validate: RED.validators.regex(/^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/),
    },
    alarmsTable: {
      value: "dc_alarms",
      required: true,
      validate: RED.validators.regex(/^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/),
    },
    createTables: { value: true },
    batchSize: { value: 1000, required: true, validate: RED.validators.number() },
    maxDelay: { value: 200, required: true, validate: RED.validators.number() },
    saveUnchanged: { value: true },
    deadband: { value: 0, validate: RED.validators.number(true) },
    customSql: { value: "" },
    overflow: { value: "drop-oldest" },
    backlogSize: { value: 100000, required: true, validate: RED.validators.number() },
    durable: { value: false },
    // Blank in flows saved before partitions existed: month, the default (save-settings.ts).
    partition: { value: "month" },
    partitionsAhead: { value: 3, validate: RED.validators.number(true) },
    retentionDays: { value: 0, validate: RED.validators.number(true) },
    migrateTables: { value: false },
  },
  inputs: 1,
  outputs: 2,
  inputLabels: "DataPoints, alarm transitions",
  outputLabels: ["messages accepted", "dead letters"],
  label: function () {
    return this.name || "save " + (this.historyTable || "");
  },
  paletteLabel: "save",
  oneditprepare: function () {
    var toggle = function () {
      $(".datacoll-save-deadband").toggle(!$("#node-input-saveUnchanged").is(":checked"));
    };
    $("#node-input-saveUnchanged").on("change", toggle);
    toggle();
  },
});
