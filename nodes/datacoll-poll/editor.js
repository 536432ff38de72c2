RED.nodes.registerType("datacoll-poll", {
  category: "datacoll",
  color: "#7fb7df",
  icon: "datacoll-poll.svg",
  defaults: {
    name: { value: "" },
    protocol: { value: "modbus" },
    modbus: { value: "", type: "datacoll-modbus", required: false },
    iec104: { value: "", type: "datacoll-iec104", required: false },
    manager: { value: "", type: "datacoll-manager", required: false },
    // Flows saved before the IEC 104 fields existed (examples 01, 03-05) lack them: absent is valid.
    commonAddress: { value: "", validate: (v) => v === undefined || /^$|^\d{1,5}$/.test(v) },
    giInterval: { value: 0, validate: (v) => v === undefined || /^$|^\d+(\.\d+)?$/.test(v) },
    iecItems: {
      value: [],
      validate: function (rows) {
        if (!Array.isArray(rows)) return rows === undefined;
        var seen = {};
        for (var i = 0; i < rows.length; i++) {
          var r = rows[i];
          if (!/^[^\s:]{1,64}$/.test(r.item || "") || seen[r.item]) return false;
          seen[r.item] = true;
          if (!/^\d{1,8}$/.test(String(r.ioa || ""))) return false;
        }
        return true;
      },
    },
    // Modbus "read from message" mode has no term; flows saved before the mode existed lack `read`.
    read: { value: "term" },
    termId: {
      value: "",
      validate: function (v) {
        return (this.protocol !== "iec104" && this.read === "message") || /^[^\s:]{1,64}$/.test(v || "");
      },
    },
    unit: { value: 1, required: true, validate: RED.validators.number() },
    interval: { value: 1000, required: true, validate: RED.validators.number() },
    items: {
      value: [],
      validate: function (rows) {
        if (!Array.isArray(rows)) return false;
        if (this.protocol === "iec104" || this.read === "message") return true;
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
  outputLabels: function () {
    return this.protocol !== "iec104" && this.read === "message"
      ? "raw values or typed DataPoints"
      : "DataPoints";
  },
  label: function () {
    if (this.protocol !== "iec104" && this.read === "message") return this.name || "flex read";
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
    var iecList = $("#node-input-iecItems-container");
    iecList.css("min-height", "150px").editableList({
      addItem: function (row, index, data) {
        row.css({ display: "flex", gap: "4px" });
        cell(row, "ioa", "14%", "IOA", data.ioa);
        cell(row, "item", "24%", "item", data.item);
        cell(row, "type", "20%", "type (M_ME_NC_1)", data.type);
        cell(row, "coefficient", "12%", "coef 1", data.coefficient);
        cell(row, "base", "12%", "base 0", data.base);
        cell(row, "deadband", "12%", "deadband", data.deadband);
      },
      removable: true,
      sortable: true,
    });
    (node.iecItems || []).forEach(function (r) {
      iecList.editableList("addItem", r);
    });
    var iec = function () {
      return $("#node-input-protocol").val() === "iec104";
    };
    var flex = function () {
      return !iec() && $("#node-input-read").val() === "message";
    };
    $("#node-input-protocol, #node-input-read")
      .on("change", function () {
        $(".datacoll-poll-modbus").toggle(!iec());
        $(".datacoll-poll-iec104").toggle(iec());
        // A flex read answers each message with raw values (or DataPoints of the type it names): no
        // term, schedule, items or publishing.
        // Rows of one protocol were set just above; only the rows common to both are shown here again.
        if (flex()) $(".datacoll-poll-term").hide();
        else $(".datacoll-poll-term").not(".datacoll-poll-modbus, .datacoll-poll-iec104").show();
        $("#node-input-items-csv").attr(
          "placeholder",
          iec() ? "ioa,item,type,coefficient,base,deadband" : "item,address,coefficient,base,deadband",
        );
      })
      .trigger("change");
    var FIELDS = {
      modbus: ["item", "address", "coefficient", "base", "deadband"],
      iec104: ["ioa", "item", "type", "coefficient", "base", "deadband"],
    };
    var protocol = function () {
      return iec() ? "iec104" : "modbus";
    };
    var listOf = function (which) {
      return which === "iec104" ? iecList : list;
    };
    // The rows of one protocol's table (the one shown when `which` is not given).
    var rows = function (which) {
      which = which || protocol();
      var out = [];
      listOf(which)
        .editableList("items")
        .each(function () {
          var r = $(this);
          var row = {};
          FIELDS[which].forEach(function (f) {
            row[f] = String(r.find(".node-input-item-" + f).val() || "").trim();
          });
          out.push(row);
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
      var key = iec() ? "ioa" : "address";
      if (head.indexOf("item") < 0 || head.indexOf(key) < 0) {
        RED.notify(
          node._(iec() ? "datacoll-poll.errors.csvHeaderIec104" : "datacoll-poll.errors.csvHeader"),
          "error",
        );
        return;
      }
      listOf(protocol()).editableList("empty");
      lines.slice(1).forEach(function (line) {
        var cells = line.split(sep).map(function (c) {
          return c.trim().replace(/^"(.*)"$/, "$1");
        });
        var r = {};
        head.forEach(function (h, i) {
          r[h] = cells[i];
        });
        listOf(protocol()).editableList("addItem", r);
      });
    });
    $("#node-input-items-export").on("click", function () {
      var lines = [FIELDS[protocol()].join(",")].concat(
        rows().map(function (r) {
          return FIELDS[protocol()]
            .map(function (f) {
              return r[f];
            })
            .join(",");
        }),
      );
      $("#node-input-items-csv").val(lines.join("\n"));
    });
    this._rows = rows;
  },
  oneditsave: function () {
    this.items = this._rows("modbus");
    this.iecItems = this._rows("iec104");
  },
  oneditresize: function (size) {
    var height = size.height - 320;
    $("#node-input-items-container").editableList("height", Math.max(150, height));
    $("#node-input-iecItems-container").editableList("height", Math.max(150, height));
  },
});
