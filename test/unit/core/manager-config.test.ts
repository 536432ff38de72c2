import assert from "node:assert/strict";
import { DataCollError } from "../../../src/core/errors";
import {
  DEFAULT_NAMESPACE,
  parseManagerSettings,
  redisConnectOptions,
} from "../../../src/core/manager-config";

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DataCollError, "expected a DataCollError");
    return err.field;
  }
  assert.fail("expected the settings to be rejected");
}

/** The message of a Redis URL's refusal, checked to name the redisUrl field. */
function urlRefusal(redisUrl: string): string {
  try {
    parseManagerSettings({ store: "redis", redisUrl });
  } catch (err) {
    assert.ok(err instanceof DataCollError);
    assert.equal(err.field, "redisUrl");
    return err.message;
  }
  return assert.fail(`${redisUrl} was accepted`);
}

describe("manager settings", function () {
  it("defaults to the embedded store, namespace dc: and host+pid as instance id", function () {
    const s = parseManagerSettings({});
    assert.equal(s.store, "embedded");
    assert.equal(s.namespace, DEFAULT_NAMESPACE);
    assert.match(s.instanceId, new RegExp(`-${process.pid}$`));
  });

  it("keeps a Redis URL, password and namespace as given", function () {
    const s = parseManagerSettings({
      store: "redis",
      redisUrl: "rediss://cache.plant:6380/2",
      redisPassword: "s3cret",
      namespace: "plant-a:",
      instanceId: "node-red-1",
    });
    assert.deepEqual(s, {
      store: "redis",
      redisUrl: "rediss://cache.plant:6380/2",
      redisPassword: "s3cret",
      redisTls: { ca: undefined, cert: undefined, key: undefined, rejectUnauthorized: true },
      namespace: "plant-a:",
      instanceId: "node-red-1",
      outageBuffer: "auto",
      historyLength: 10_000,
    });
  });

  it("takes Sentinel by its sentinels and master name, and gives every connection those options", function () {
    const s = parseManagerSettings({
      store: "redis",
      redisMode: "sentinel",
      sentinels: "127.0.0.1:26379, sentinel-2:26380\nsentinel-3:26381",
      sentinelName: "plant",
      instanceId: "i",
    });
    assert.deepEqual(s.redisSentinel, {
      sentinels: [
        { host: "127.0.0.1", port: 26379 },
        { host: "sentinel-2", port: 26380 },
        { host: "sentinel-3", port: 26381 },
      ],
      name: "plant",
      password: undefined,
    });
    assert.deepEqual(redisConnectOptions(s), { sentinels: s.redisSentinel?.sentinels, name: "plant" });
    assert.throws(() => parseManagerSettings({ store: "redis", redisMode: "sentinel" }), /sentinels/);
    assert.throws(
      () => parseManagerSettings({ store: "redis", redisMode: "sentinel", sentinels: "host-without-port" }),
      /host:port/,
    );
  });

  it("sizes the outage buffer by a minute of the rate unless given in points; 0 keeps none", function () {
    const redis = { store: "redis", instanceId: "i" };
    assert.equal(parseManagerSettings({ ...redis }).outageBuffer, "auto");
    assert.equal(parseManagerSettings({ ...redis, outageBuffer: "" }).outageBuffer, "auto");
    assert.equal(parseManagerSettings({ ...redis, outageBuffer: "auto" }).outageBuffer, "auto");
    assert.equal(parseManagerSettings({ ...redis, outageBuffer: "25000" }).outageBuffer, 25_000);
    assert.equal(parseManagerSettings({ ...redis, outageBuffer: 0 }).outageBuffer, 0);
    assert.throws(() => parseManagerSettings({ ...redis, outageBuffer: "-1" }), /outageBuffer/);
    assert.throws(() => parseManagerSettings({ ...redis, outageBuffer: "lots" }), /outageBuffer/);
    assert.throws(() => parseManagerSettings({ ...redis, outageBuffer: 2.5 }), /outageBuffer/);
    assert.equal(parseManagerSettings({ outageBuffer: "9" }).outageBuffer, undefined, "embedded: no outage");
  });

  it("keeps 10,000 samples of history a point unless given another whole number from 1", function () {
    assert.equal(parseManagerSettings({}).historyLength, 10_000);
    assert.equal(parseManagerSettings({ historyLength: "" }).historyLength, 10_000);
    assert.equal(parseManagerSettings({ historyLength: " 100 " }).historyLength, 100);
    assert.equal(parseManagerSettings({ store: "redis", historyLength: 1 }).historyLength, 1);
    for (const bad of ["0", "-5", "2.5", "many", "1000001"])
      assert.throws(() => parseManagerSettings({ historyLength: bad }), /historyLength/, bad);
  });

  it("gives every connection the password and, for rediss://, the TLS options", function () {
    const pem = (what: string): string => `-----BEGIN ${what}-----\nAAAA\n-----END ${what}-----`;
    const s = parseManagerSettings({
      store: "redis",
      redisUrl: "rediss://ops@cache.plant:6380",
      redisPassword: "s3cret",
      redisCa: pem("CERTIFICATE"),
      redisCert: ` ${pem("CERTIFICATE")} `,
      redisKey: pem("PRIVATE KEY"),
      redisRejectUnauthorized: "false",
    });
    assert.deepEqual(redisConnectOptions(s), {
      password: "s3cret",
      tls: {
        ca: pem("CERTIFICATE"),
        cert: pem("CERTIFICATE"),
        key: pem("PRIVATE KEY"),
        rejectUnauthorized: false,
      },
    });
    // TLS options of a plain redis:// URL are not used (the form keeps them while hidden).
    const plain = parseManagerSettings({
      store: "redis",
      redisUrl: "redis://h:1",
      redisCa: pem("CERTIFICATE"),
    });
    assert.deepEqual(redisConnectOptions(plain), {});
  });

  it("refuses a password in the URL (it would be saved in the flow file), and bad TLS text", function () {
    for (const redisUrl of ["redis://:s3cret@h:6379", "rediss://user:s3cret@h:6379/1"]) {
      const message = urlRefusal(redisUrl);
      assert.match(message, /must not contain a password/);
      assert.doesNotMatch(message, /s3cret/, "the error must not repeat the password");
    }
    const tls = { store: "redis", redisUrl: "rediss://h:6380" } as const;
    assert.equal(
      fieldOf(() => parseManagerSettings({ ...tls, redisCa: "not a certificate" })),
      "redisCa",
    );
    assert.equal(
      fieldOf(() => parseManagerSettings({ ...tls, redisKey: "-----BEGIN PRIVATE KEY-----" })),
      "redisCert",
    );
  });

  it("gives every connection the sentinels, the master's name and both passwords in Sentinel mode", function () {
    const pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";
    const s = parseManagerSettings({
      store: "redis",
      redisMode: "sentinel",
      redisUrl: "redis://ignored:6379",
      sentinels: " 10.0.0.5:26379, 10.0.0.6:26380\n[::1]:26381 ",
      sentinelName: "plant-a",
      sentinelPassword: "sentinel-secret",
      redisPassword: "redis-secret",
    });
    assert.deepEqual(redisConnectOptions(s), {
      password: "redis-secret",
      sentinels: [
        { host: "10.0.0.5", port: 26379 },
        { host: "10.0.0.6", port: 26380 },
        { host: "::1", port: 26381 },
      ],
      name: "plant-a",
      sentinelPassword: "sentinel-secret",
    });
    // TLS is a switch of its own in Sentinel mode (there is no rediss:// URL): servers and sentinels.
    const tls = parseManagerSettings({
      store: "redis",
      redisMode: "sentinel",
      sentinels: "s1:26379",
      sentinelTls: true,
      redisCa: pem,
    });
    const tlsOptions = { ca: pem, rejectUnauthorized: true };
    assert.deepEqual(redisConnectOptions(tls), {
      tls: tlsOptions,
      sentinels: [{ host: "s1", port: 26379 }],
      name: "mymaster",
      sentinelTLS: tlsOptions,
      enableTLSForSentinelMode: true,
    });
    // A flow saved before the mode existed is standalone, as it always was.
    assert.equal(parseManagerSettings({ store: "redis", redisUrl: "redis://h:1" }).redisSentinel, undefined);
  });

  it("refuses a Sentinel setting it cannot use, naming the field", function () {
    const base = { store: "redis", redisMode: "sentinel" } as const;
    assert.equal(
      fieldOf(() => parseManagerSettings(base)),
      "sentinels",
    );
    for (const sentinels of ["s1", "s1:0", "s1:70000", "s1:26379, :1", "s 1:2:3"]) {
      assert.equal(
        fieldOf(() => parseManagerSettings({ ...base, sentinels })),
        "sentinels",
        sentinels,
      );
    }
    assert.equal(
      fieldOf(() => parseManagerSettings({ ...base, sentinels: "s1:26379", sentinelName: "a b" })),
      "sentinelName",
    );
    assert.equal(
      fieldOf(() => parseManagerSettings({ ...base, redisMode: "cluster", sentinels: "s1:26379" })),
      "redisMode",
    );
  });

  it("refuses a URL that names a Redis Cluster, saying why", function () {
    for (const redisUrl of ["redis://n1:7000,n2:7001", "redis://n1:7000/?cluster=true"]) {
      assert.match(urlRefusal(redisUrl), /Redis Cluster, which DataColl does not run on/);
    }
  });

  it("names the field at fault", function () {
    assert.equal(
      fieldOf(() => parseManagerSettings({ store: "mongo" })),
      "store",
    );
    assert.equal(
      fieldOf(() => parseManagerSettings({ store: "redis", redisUrl: "http://x" })),
      "redisUrl",
    );
    assert.equal(
      fieldOf(() => parseManagerSettings({ namespace: "no-colon" })),
      "namespace",
    );
    assert.equal(
      fieldOf(() => parseManagerSettings({ namespace: 42 })),
      "namespace",
    );
  });
});
