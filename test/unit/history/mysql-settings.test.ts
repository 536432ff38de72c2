import assert from "node:assert/strict";
import type { RawMysqlSettings } from "../../../src/core/history/mysql-settings";
import { explainConnectionError, parseMysqlSettings } from "../../../src/core/history/mysql-settings";
import { rejection } from "../../support-history/rejection";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";

function fieldOf(raw: RawMysqlSettings): string | undefined {
  return rejection(() => parseMysqlSettings(raw)).field;
}

describe("MySQL settings", function () {
  it("fills defaults around a database name", function () {
    assert.deepEqual(parseMysqlSettings({ database: "scada" }), {
      host: "127.0.0.1",
      port: 3306,
      database: "scada",
      user: "root",
      password: "",
      poolSize: 4,
      tls: undefined,
      connectTimeoutMs: 10_000,
    });
  });

  it("keeps what the editor saved, numbers given as text included, and the password untrimmed", function () {
    const s = parseMysqlSettings({
      host: "db.plant.local",
      port: "3307",
      database: "hist",
      user: "saver",
      password: " p@ss ",
      poolSize: "8",
      connectTimeoutMs: 2500,
      tls: true,
      ca: PEM,
      rejectUnauthorized: "false",
    });
    assert.equal(s.port, 3307);
    assert.equal(s.poolSize, 8);
    assert.equal(s.password, " p@ss ");
    assert.deepEqual(s.tls, { ca: PEM, cert: undefined, key: undefined, rejectUnauthorized: false });
  });

  it("names the field at fault", function () {
    assert.equal(fieldOf({}), "database");
    assert.equal(fieldOf({ database: "a-b" }), "database");
    assert.equal(fieldOf({ database: "d", host: "a b" }), "host");
    assert.equal(fieldOf({ database: "d", port: 0 }), "port");
    assert.equal(fieldOf({ database: "d", port: "33o6" }), "port");
    assert.equal(fieldOf({ database: "d", poolSize: 1.5 }), "poolSize");
    assert.equal(fieldOf({ database: "d", poolSize: 65 }), "poolSize");
    assert.equal(fieldOf({ database: "d", connectTimeoutMs: 5 }), "connectTimeoutMs");
    assert.equal(fieldOf({ database: "d", password: 5 }), "password");
    assert.equal(fieldOf({ database: "d", user: "u".repeat(81) }), "user");
    assert.equal(fieldOf({ database: "d", tls: "yes" }), "tls");
    assert.equal(fieldOf({ database: "d", tls: true, ca: "not pem" }), "ca");
    assert.equal(fieldOf({ database: "d", tls: true, cert: PEM }), "key");
    assert.equal(
      fieldOf({ database: "d", tls: true, key: PEM.replace(/CERTIFICATE/g, "PRIVATE KEY") }),
      "cert",
    );
  });

  it("ignores TLS files when TLS is off", function () {
    assert.equal(parseMysqlSettings({ database: "d", tls: false, ca: "whatever" }).tls, undefined);
  });

  it("explains connection failures in plain words", function () {
    const s = parseMysqlSettings({ database: "hist", host: "db", port: 3307, user: "saver" });
    const say = (code: string) => explainConnectionError(s, Object.assign(new Error("x"), { code }));
    assert.match(say("ECONNREFUSED"), /Nothing is listening at db:3307/);
    assert.match(say("ER_ACCESS_DENIED_ERROR"), /refused user "saver"/);
    assert.match(say("ER_BAD_DB_ERROR"), /database "hist" does not exist/);
    assert.match(say("ENOTFOUND"), /host name db could not be found/);
    assert.match(say("HANDSHAKE_NO_SSL_SUPPORT"), /does not offer TLS/);
    assert.match(say("ODD"), /Could not connect to db:3307: x/);
    // mysql2 wraps a failed TLS handshake; the words come from Node's message.
    const tls = (message: string) =>
      explainConnectionError(s, Object.assign(new Error(message), { code: "HANDSHAKE_SSL_ERROR" }));
    assert.match(tls("self-signed certificate in certificate chain"), /not signed by a trusted CA/);
    assert.match(tls("unable to verify the first certificate"), /not signed by a trusted CA/);
    assert.match(
      tls("Hostname/IP does not match certificate's altnames: IP: 10.0.0.1 is not in the cert's list"),
      /not issued for "db"/,
    );
    assert.match(tls("certificate has expired"), /has expired/);
    assert.match(tls("wrong version number"), /TLS handshake with db:3307 failed: wrong version number/);
  });
});
