RED.nodes.registerType("datacoll-history", {
  category: "datacoll",
  color: "#c0a0d0",
  icon: "datacoll-history.svg",
  defaults: {
    name: { value: "" },
    mysql: { value: "", type: "datacoll-mysql", required: true },
    mode: { value: "history" },
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
    points: { value: "" },
    range: {
      value: 3600,
      required: true,
      validate: function (v) {
        var n = Number(v);
        return String(v).trim() !== "" && isFinite(n) && n > 0;
      },
    },
    // Blank: raw rows a page at a time; else the bucket width in ms.
    step: { value: "", validate: RED.validators.regex(/^\s*(\d*[1-9]\d*)?\s*$/) },
    agg: {
      value: "",
      validate: RED.validators.regex(
        /^\s*((min|max|avg|first|last|count)\s*(,\s*(min|max|avg|first|last|count)\s*)*)?$/,
      ),
    },
    limit: { value: "", validate: RED.validators.regex(/^\s*(\d*[1-9]\d*)?\s*$/) },
    point: { value: "" },
    state: { value: "" },
  },
  inputs: 1,
  outputs: 1,
  inputLabels: "query (msg.points, msg.from, msg.to, msg.step, msg.agg, msg.cursor)",
  outputLabels: "history as /v2/history answers it",
  label: function () {
    return this.name || (this.mode === "journal" ? "alarm journal" : "history " + (this.points || ""));
  },
  paletteLabel: "history",
  oneditprepare: function () {
    var toggle = function () {
      var journal = $("#node-input-mode").val() === "journal";
      $(".datacoll-history-series").toggle(!journal);
      $(".datacoll-history-journal").toggle(journal);
    };
    $("#node-input-mode").on("change", toggle);
    toggle();
  },
});
