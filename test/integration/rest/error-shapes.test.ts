/**
 * Requests the API refuses before a route handler runs — malformed JSON, a path that is not valid URL
 * encoding, a method no route takes, a body over the limit, a charset nobody reads — answered in the
 * API's own shape over real HTTP by a real Node-RED (its editor at `/`, as by default, so every body
 * passes the admin app's parsers first), with both mountings: `http in → datacoll-api → http response`
 * and the `datacoll-rest` subflow. The older system's paths answer plain text, the others JSON
 * `{error, field?, message}`; no answer holds HTML, a stack frame or a file path, and none is logged.
 */
import assert from "node:assert/strict";
import { NodeRedProcess } from "../../support/node-red-process";
import { until } from "../../support/net";
import { apiFlow, httpRequest, type Reply } from "./http-flow";

const TAB = "etab";
const LIMIT = 1_000_000;

/** Both mountings on one manager: `http in → datacoll-api → http response` at /api, the subflow at /rest. */
function flows(): Record<string, unknown>[] {
  return [
    ...apiFlow({ tab: TAB, manager: { namespace: "es:" }, api: { maxBody: LIMIT } }),
    {
      id: "rest",
      type: "datacoll-rest",
      z: TAB,
      name: "rest",
      MANAGER: "es:",
      URL: "/rest/*",
      MAX_BODY: LIMIT,
      x: 400,
      y: 300,
      wires: [],
    },
  ];
}

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly body?: string | Buffer;
  readonly type?: string;
  readonly status: number;
  /** v1: plain text; v2: JSON. */
  readonly shape: "text" | "json";
  readonly says: RegExp;
  readonly allow?: string;
}

const bigJson = (bytes: number): string => JSON.stringify({ id: "x", name: "n".repeat(bytes) });

const CASES: readonly Case[] = [
  {
    name: "malformed JSON (v1)",
    method: "POST",
    path: "/v1/devices",
    body: '{"id":"x",',
    type: "application/json",
    status: 400,
    shape: "text",
    says: /not valid JSON/,
  },
  {
    name: "malformed JSON (v2)",
    method: "POST",
    path: "/v2/devices",
    body: '[{"id":"x",',
    type: "application/json",
    status: 400,
    shape: "json",
    says: /not valid JSON/,
  },
  {
    name: "a bad percent-escape (v1)",
    method: "GET",
    path: "/v1/devices/%E0%A4%A",
    status: 400,
    shape: "text",
    says: /not valid URL encoding/,
  },
  {
    name: "a bad percent-escape (v2)",
    method: "POST",
    path: "/v2/terms/%E0%A4%A/items",
    body: "[]",
    type: "application/json",
    status: 400,
    shape: "json",
    says: /not valid URL encoding/,
  },
  {
    name: "PATCH on a known path (v1)",
    method: "PATCH",
    path: "/v1/devices",
    status: 405,
    shape: "text",
    says: /PATCH is not allowed/,
    allow: "GET, POST",
  },
  {
    name: "PATCH on a known path (v2)",
    method: "PATCH",
    path: "/v2/devices",
    status: 405,
    shape: "json",
    says: /PATCH is not allowed/,
    allow: "GET, POST, DELETE",
  },
  {
    name: "a body over the API's limit (v1)",
    method: "POST",
    path: "/v1/devices",
    body: bigJson(LIMIT + 1000),
    type: "application/json",
    status: 413,
    shape: "text",
    says: new RegExp(`larger than ${LIMIT} bytes`),
  },
  {
    name: "a body over the editor's 5 MB limit too (v1)",
    method: "POST",
    path: "/v1/devices",
    body: bigJson(6_000_000),
    type: "application/json",
    status: 413,
    shape: "text",
    says: new RegExp(`larger than ${LIMIT} bytes`),
  },
  {
    name: "a body over the editor's 5 MB limit too (v2)",
    method: "POST",
    path: "/v2/devices",
    body: bigJson(6_000_000),
    type: "application/json",
    status: 413,
    shape: "json",
    says: new RegExp(`larger than ${LIMIT} bytes`),
  },
  {
    name: "a charset nobody reads (v2)",
    method: "POST",
    path: "/v2/devices",
    body: "[]",
    type: "application/json; charset=latin2",
    status: 415,
    shape: "json",
    says: /unsupported charset/,
  },
  {
    name: "an unknown path",
    method: "GET",
    path: "/v9/things",
    status: 404,
    shape: "json",
    says: /no API path/,
  },
];

/** What no answer may hold: markup, a stack frame, a file path. */
function leaks(text: string): string[] {
  const found: string[] = [];
  if (/<html|<!doctype|<body|<pre/i.test(text)) found.push("HTML");
  if (/\bat \S+ \(|\bat [^\s]+:\d+:\d+|Error: .*\n\s+at /.test(text)) found.push("a stack frame");
  if (/node_modules|\/(?:home|tmp|work|usr|root|opt)\/|[A-Za-z]:\\|\.(?:js|ts):\d+/.test(text))
    found.push("a file path");
  return found;
}

function check(c: Case, base: string, r: Reply): void {
  const what = `${base} ${c.name}: ${r.status} ${r.text.slice(0, 300)}`;
  assert.equal(r.status, c.status, what);
  assert.deepEqual(leaks(r.text), [], what);
  const type = String(r.headers["content-type"]);
  if (c.shape === "text") {
    assert.match(type, /^text\/plain/, what);
    assert.match(r.text, c.says, what);
  } else {
    assert.match(type, /^application\/json/, what);
    const body = r.json() as Record<string, unknown>;
    assert.equal(typeof body.error, "string", what);
    assert.equal(typeof body.message, "string", what);
    assert.ok(
      Object.keys(body).every((k) => ["error", "field", "message"].includes(k)),
      `${what}: only error, field and message`,
    );
    assert.match(String(body.message), c.says, what);
  }
  if (c.allow !== undefined) assert.equal(r.headers.allow, c.allow, what);
}

describe("REST errors in the API's own shape, in a real Node-RED", function () {
  this.timeout(120_000);
  let red: NodeRedProcess;

  async function serving(): Promise<void> {
    await until(
      async () => {
        try {
          const ok = await Promise.all(
            ["/api", "/rest"].map((b) => httpRequest(red.port, "GET", `${b}/v1/devices`)),
          );
          return ok.every((r) => r.status === 200);
        } catch {
          return false;
        }
      },
      30_000,
      "both mountings serving",
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${red.output.slice(-3000)}`);
    });
  }

  before(async function () {
    red = new NodeRedProcess("errors", flows());
    await red.start();
    await serving();
  });

  after(async function () {
    await red.stop("SIGINT");
    red.dispose();
  });

  for (const base of ["/api", "/rest"]) {
    it(`${base} (${base === "/api" ? "http in → datacoll-api → http response" : "the datacoll-rest subflow"}): every refusal in its path's shape, nothing leaked`, async function () {
      for (const c of CASES) {
        const r = await httpRequest(
          red.port,
          c.method,
          base + c.path,
          c.body,
          c.type === undefined ? {} : { "content-type": c.type },
        );
        check(c, base, r);
      }
      // The good path still works after all of that.
      const ok = await httpRequest(red.port, "POST", `${base}/v1/devices`, {
        id: `ok${base.slice(1)}`,
        protocol: "virtual",
      });
      assert.equal(ok.status, 200, ok.text);
    });
  }

  it("reads a JSON body whatever its content type says, as the older server did (curl -d calls it a form)", async function () {
    const types = ["application/x-www-form-urlencoded", "application/octet-stream", "text/plain", undefined];
    for (const base of ["/api", "/rest"]) {
      for (const [i, type] of types.entries()) {
        const id = `ct${i}${base.slice(1)}`;
        // An ampersand and an equals sign, which a form parser would split the text at.
        const body = JSON.stringify({ id, name: "测试集中器 a&b=c", protocol: "virtual" });
        const r = await httpRequest(
          red.port,
          "POST",
          `${base}/v1/devices`,
          body,
          type === undefined ? {} : { "content-type": type },
        );
        assert.equal(r.status, 200, `${base} ${String(type)}: ${r.text}`);
        const got = await httpRequest(red.port, "GET", `${base}/v1/devices/${id}`);
        assert.equal((got.json() as Record<string, string>).name, "测试集中器 a&b=c", got.text);
      }
    }
  });

  it("keeps answering after http in nodes are deployed again (their routes come after ours)", async function () {
    await red.deploy("nodes", (current) =>
      current.map((n) => (n.type === "http in" ? { ...n, name: `${String(n.name)}!` } : n)),
    );
    const list = await httpRequest(red.port, "GET", "/api/v1/devices");
    assert.equal(list.status, 200, list.text);
    assert.ok((list.json() as string[]).includes("okapi"));
    check(CASES[4], "/api", await httpRequest(red.port, "PATCH", "/api/v1/devices"));
    check(CASES[0], "/api", await httpRequest(red.port, "POST", "/api/v1/devices", '{"id":"x",'));
  });

  it("logged none of it: no stack trace, no error line", async function () {
    // Stopped, so every line it wrote is in (after() finds it stopped).
    await red.stop("SIGINT");
    const log = red.output;
    assert.deepEqual(
      leaks(log).filter((l) => l !== "a file path"),
      [],
      log.slice(-3000),
    );
    assert.doesNotMatch(log, /SyntaxError|URIError|PayloadTooLarge|UnsupportedMediaType/, log.slice(-3000));
    assert.doesNotMatch(log, /\[(?:warn|error)\].*(?:\/api|\/rest)\//, log.slice(-3000));
  });
});
