RED.nodes.registerType("datacoll-poll", {
  category: "datacoll",
  color: "#7fb7df",
  icon: "datacoll-poll.svg",
  defaults: {
    name: { value: "" },
    protocol: { value: "modbus" },
    modbus: { value: "", type: "datacoll-modbus" },
    termId: { value: "", required: true, validate: RED.validators.regex(/^[^\s:]{1,64}$/) },
    unit: { value: 1, required: true, validate: RED.validators.number() },
    interval: { value: 1000, required: true, validate: RED.validators.number() },
    items: {
      value: [],
      validate: function (rows) {
        if (!Array.isArray(rows)) return false;
        var seen = {};
        for (var i = 0; i < rows.length; i++) {
          var r = rows[i];
          if (!/^[^\s:]{1,64}$/.test(r.item || "") || seen[r.item]) return false;
          seen[r.item] = true;
          if (
            !/^(?:(C|DI|HR|IR)\d{1,5}|\d{5,6})(\.\d{1,2})?(:[A-Za-z0-9]+(\(\d{1,3}\))?(:[A-Za-z]{4})?)?$/i.test(
              r.address || "",
            )
          )
            return false;
        }
        return true;
      },
    },
    output: { value: "batch" },
    maxGap: { value: 10, validate: RED.validators.number() },
  },
  inputs: 1,
  outputs: 1,
  inputLabels: "read now",
  outputLabels: "DataPoints",
  label: function () {
    return this.name || "poll " + (this.termId || "");
  },
  paletteLabel: "poll",
  oneditprepare: function () {
    var node = this;
    var list = $("#node-input-items-container");
    var cell = function (row, field, width, placeholder, value) {
      return $('<input type="text" class="node-input-item-' + field + '">')
        .css({ width: width })
        .attr("placeholder", placeholder)
        .val(value === undefined || value === null ? "" : value)
        .appendTo(row);
    };
    list.css("min-height", "150px").editableList({
      addItem: function (row, index, data) {
        row.css({ display: "flex", gap: "4px" });
        cell(row, "item", "22%", "item", data.item);
        cell(row, "address", "34%", "HR0:float32:ABCD", data.address);
        cell(row, "coefficient", "13%", "coef 1", data.coefficient);
        cell(row, "base", "13%", "base 0", data.base);
        cell(row, "deadband", "13%", "deadband", data.deadband);
      },
      removable: true,
      sortable: true,
    });
    (node.items || []).forEach(function (r) {
      list.editableList("addItem", r);
    });
    var rows = function () {
      var out = [];
      list.editableList("items").each(function () {
        var r = $(this);
        var get = function (f) {
          return r
            .find(".node-input-item-" + f)
            .val()
            .trim();
        };
        out.push({
          item: get("item"),
          address: get("address"),
          coefficient: get("coefficient"),
          base: get("base"),
          deadband: get("deadband"),
        });
      });
      return out;
    };
    $("#node-input-items-import").on("click", function () {
      var text = $("#node-input-items-csv").val();
      var lines = text.split(/\r?\n/).filter(function (l) {
        return l.trim() !== "";
      });
      if (lines.length < 2) return;
      var sep = [",", ";", "\t"].reduce(function (best, s) {
        return lines[0].split(s).length > lines[0].split(best).length ? s : best;
      }, ",");
      var head = lines[0].split(sep).map(function (h) {
        return h.trim().toLowerCase();
      });
      if (head.indexOf("item") < 0 || head.indexOf("address") < 0) {
        RED.notify(node._("datacoll-poll.errors.csvHeader"), "error");
        return;
      }
      list.editableList("empty");
      lines.slice(1).forEach(function (line) {
        var cells = line.split(sep).map(function (c) {
          return c.trim().replace(/^"(.*)"$/, "$1");
        });
        var r = {};
        head.forEach(function (h, i) {
          r[h] = cells[i];
        });
        list.editableList("addItem", r);
      });
    });
    $("#node-input-items-export").on("click", function () {
      var lines = ["item,address,coefficient,base,deadband"].concat(
        rows().map(function (r) {
          return [r.item, r.address, r.coefficient, r.base, r.deadband].join(",");
        }),
      );
      $("#node-input-items-csv").val(lines.join("\n"));
    });
    this._rows = rows;
  },
  oneditsave: function () {
    this.items = this._rows();
  },
  oneditresize: function (size) {
    var height = size.height - 320;
    $("#node-input-items-container").editableList("height", Math.max(150, height));
  },
});
