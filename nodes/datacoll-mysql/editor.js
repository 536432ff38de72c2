RED.nodes.registerType("datacoll-mysql", {
  category: "config",
  defaults: {
    name: { value: "" },
    host: {
      value: "127.0.0.1",
      required: true,
      validate: RED.validators.regex(/^[A-Za-z0-9.:_[\]-]{1,253}$/),
    },
    port: {
      value: 3306,
      required: true,
      // a TCP port, 1 to 65535 (the spinner's bounds do not stop typed text)
      validate: function (v) {
        return /^\s*\d{1,5}\s*$/.test(String(v)) && Number(v) >= 1 && Number(v) <= 65535;
      },
    },
    database: { value: "", required: true, validate: RED.validators.regex(/^[A-Za-z0-9_$]{1,64}$/) },
    user: { value: "root", required: true },
    poolSize: { value: 4, required: true, validate: RED.validators.number() },
    connectTimeout: { value: 10000, required: true, validate: RED.validators.number() },
    tls: { value: false },
    ca: { value: "" },
    cert: { value: "" },
    rejectUnauthorized: { value: true },
  },
  credentials: {
    password: { type: "password" },
    key: { type: "password" },
  },
  paletteLabel: "mysql",
  label: function () {
    return this.name || (this.user || "root") + "@" + this.host + ":" + this.port + "/" + this.database;
  },
  oneditprepare: function () {
    var node = this;
    $("#node-config-input-port").spinner({ min: 1, max: 65535 });
    $("#node-config-input-poolSize").spinner({ min: 1, max: 64 });
    var toggle = function () {
      $(".datacoll-mysql-tls").toggle($("#node-config-input-tls").is(":checked"));
    };
    $("#node-config-input-tls").on("change", toggle);
    toggle();
    $("#datacoll-mysql-test").on("click", function () {
      var out = $("#datacoll-mysql-test-result");
      var field = function (name) {
        return $("#node-config-input-" + name).val();
      };
      out.text(node._("datacoll-mysql.test.running")).css("color", "");
      $.ajax({
        url: "datacoll/mysql/test",
        type: "POST",
        contentType: "application/json",
        data: JSON.stringify({
          id: node.id,
          host: field("host"),
          port: field("port"),
          database: field("database"),
          user: field("user"),
          password: field("password"),
          poolSize: field("poolSize"),
          connectTimeoutMs: field("connectTimeout"),
          tls: $("#node-config-input-tls").is(":checked"),
          ca: field("ca"),
          cert: field("cert"),
          key: field("key"),
          rejectUnauthorized: $("#node-config-input-rejectUnauthorized").is(":checked"),
        }),
      })
        .done(function (r) {
          out.text(r.message).css("color", r.ok ? "green" : "#c00");
        })
        .fail(function (xhr) {
          var r = xhr.responseJSON || {};
          out.text(r.message || xhr.statusText).css("color", "#c00");
        });
    });
  },
});
