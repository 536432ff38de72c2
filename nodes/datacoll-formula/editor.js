RED.nodes.registerType("datacoll-formula", {
  category: "datacoll",
  color: "#d8bfd8",
  icon: "datacoll-formula.svg",
  defaults: {
    name: { value: "" },
    manager: { value: "", type: "datacoll-manager", required: false },
    formulas: {
      value: [],
      validate: function (rows) {
        if (!Array.isArray(rows)) return false;
        var seen = {};
        for (var i = 0; i < rows.length; i++) {
          var r = rows[i];
          if (!/^[^\s:]{1,64}$/.test(r.id || "") || seen[r.id]) return false;
          seen[r.id] = true;
          if (!/^[^\s:]+:[^\s:]+:[^\s:]+$/.test(r.result || "")) return false;
          if (!r.expression || !r.expression.trim()) return false;
        }
        return true;
      },
    },
    useRegistry: { value: false },
    fromBus: { value: false },
    interval: { value: "", validate: RED.validators.number(true) },
    output: { value: "batch" },
  },
  inputs: 1,
  outputs: 1,
  inputLabels: "DataPoints (parameters)",
  outputLabels: "results as DataPoints",
  label: function () {
    return this.name || "formula";
  },
  paletteLabel: "formula",
  oneditprepare: function () {
    var list = $("#node-input-formulas-container");
    var cell = function (row, field, width, placeholder, value) {
      return $('<input type="text" class="node-input-formula-' + field + '">')
        .css({ width: width })
        .attr("placeholder", placeholder)
        .val(value === undefined || value === null ? "" : value)
        .appendTo(row);
    };
    // Each row is checked as it is typed, by the check the node runs when deployed (POST
    // datacoll/formula/test): a row that could never compute says why under it before the deploy.
    var check = function (row) {
      var value = function (f) {
        return row
          .find(".node-input-formula-" + f)
          .val()
          .trim();
      };
      var out = row.find(".node-input-formula-check");
      var expression = row.find(".node-input-formula-expression");
      if (value("expression") === "") {
        out.text("");
        expression.removeClass("input-error");
        return;
      }
      var asked = JSON.stringify({
        id: value("id"),
        expression: value("expression"),
        params: value("params"),
        result: value("result"),
      });
      row.data("asked", asked);
      $.ajax({ url: "datacoll/formula/test", type: "POST", contentType: "application/json", data: asked })
        .done(function (r) {
          if (row.data("asked") !== asked) return;
          out.text(r.ok ? "" : r.message);
          expression.toggleClass("input-error", !r.ok);
        })
        .fail(function (xhr) {
          if (row.data("asked") !== asked) return;
          var r = xhr.responseJSON || {};
          out.text(r.message || xhr.statusText);
          expression.toggleClass("input-error", true);
        });
    };
    list.css("min-height", "150px").editableList({
      addItem: function (row, index, data) {
        row.css({ display: "flex", gap: "4px", "flex-wrap": "wrap" });
        cell(row, "id", "14%", "id", data.id);
        cell(row, "expression", "30%", 'avg(p1, "5m") * p2', data.expression);
        cell(row, "params", "32%", "p1=plc1:m1:power, p2=plc1:m1:pf", data.params);
        cell(row, "result", "22%", "calc:m1:kw", data.result);
        $('<div class="node-input-formula-check">')
          .css({ width: "100%", color: "var(--red-ui-text-color-error, #c00)", "font-size": "0.9em" })
          .appendTo(row);
        var timer;
        row.find("input").on("input", function () {
          clearTimeout(timer);
          timer = setTimeout(function () {
            check(row);
          }, 400);
        });
        check(row);
      },
      removable: true,
      sortable: true,
    });
    (this.formulas || []).forEach(function (r) {
      list.editableList("addItem", r);
    });
    this._rows = function () {
      var out = [];
      list.editableList("items").each(function () {
        var r = $(this);
        var get = function (f) {
          return r
            .find(".node-input-formula-" + f)
            .val()
            .trim();
        };
        out.push({
          id: get("id"),
          expression: get("expression"),
          params: get("params"),
          result: get("result"),
        });
      });
      return out;
    };
  },
  oneditsave: function () {
    this.formulas = this._rows();
  },
  oneditresize: function (size) {
    $("#node-input-formulas-container").editableList("height", Math.max(150, size.height - 260));
  },
});
