RED.nodes.registerType("datacoll-command", {
  category: "datacoll",
  color: "#f3b567",
  icon: "datacoll-command.svg",
  defaults: {
    name: { value: "" },
    protocol: { value: "modbus" },
    modbus: { value: "", type: "datacoll-modbus", required: false },
    iec104: { value: "", type: "datacoll-iec104", required: false },
    // Flows saved before the IEC 104 fields existed (example 01) lack them: absent is valid.
    commonAddress: { value: "", validate: (v) => v === undefined || /^$|^\d{1,5}$/.test(v) },
    ioa: { value: "", validate: (v) => v === undefined || /^$|^\d{1,8}$/.test(v) },
    commandType: { value: "single-command" },
    qualifier: { value: 0, validate: (v) => v === undefined || /^$|^\d{1,3}$/.test(v) },
    withTime: { value: false },
    sbo: { value: false },
    unit: { value: 1, required: true, validate: RED.validators.number() },
    address: {
      value: "",
      validate: RED.validators.regex(
        /^$|^(?:(C|HR)\d{1,5}|[04]\d{4,5})(\.\d{1,2})?(:[A-Za-z0-9]+(\(\d{1,3}\))?(:[A-Za-z]{4})?)?$/i,
      ),
    },
    coefficient: { value: "", validate: RED.validators.regex(/^$|^-?\d*\.?\d+(e-?\d+)?$/i) },
    base: { value: "", validate: RED.validators.regex(/^$|^-?\d*\.?\d+(e-?\d+)?$/i) },
  },
  inputs: 1,
  outputs: 1,
  inputLabels: "value to write",
  outputLabels: "confirmation",
  label: function () {
    if (this.protocol === "iec104") return this.name || "command " + (this.ioa || "msg.ioa");
    return this.name || "write " + (this.address || "msg.address");
  },
  paletteLabel: "command",
  oneditprepare: function () {
    $("#node-input-protocol")
      .on("change", function () {
        var iec = $(this).val() === "iec104";
        $(".datacoll-command-modbus").toggle(!iec);
        $(".datacoll-command-iec104").toggle(iec);
      })
      .trigger("change");
  },
});
