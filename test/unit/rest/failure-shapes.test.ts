/**
 * The answers to requests that failed before a route handler ran (router.ts `failure`, `unrouted`): the
 * shape follows the path — plain text on the older system's paths, JSON `{error, field?, message}` on
 * the others — and errors from the HTTP layer in front (Express's body parsers, its URL decoding) become
 * the client's 4xx in words of ours, never their text about the server.
 */
import assert from "node:assert/strict";
import { Router } from "../../../src/core/rest/router";
import { toRestError } from "../../../src/core/rest/errors";
import { errorMessage } from "../../../src/core/errors";

const router = new Router();

/** An error as body-parser makes them: an HTTP status and a type naming the problem. */
function parserError(message: string, status: number, type: string, extra: object = {}): Error {
  return Object.assign(new Error(message), { status, statusCode: status, type, expose: true }, extra);
}

describe("REST answers to requests refused before a route", function () {
  it("knows the older system's paths by their route, whatever the method, else by /v1/", function () {
    assert.equal(router.isLegacyPath("/v1/devices"), true);
    assert.equal(router.isLegacyPath("/v1/devices/%E0%A4%A"), true, "decided on the raw path");
    assert.equal(router.isLegacyPath("/v1/latest"), false, "a v1 path of ours answers JSON");
    assert.equal(router.isLegacyPath("/v1/nothing/here"), true);
    assert.equal(router.isLegacyPath("/v2/devices"), false);
    assert.equal(router.isLegacyPath("/v2/terms/%ZZ/items"), false);
    assert.equal(router.isLegacyPath("/"), true, "the older index");
  });

  it("answers a body parser's errors as 400, 413 and 415 in the path's shape", function () {
    const bad = parserError(
      "Expected double-quoted property name in JSON at position 10",
      400,
      "entity.parse.failed",
    );
    const v1 = router.failure(bad, "/v1/devices");
    assert.equal(v1.status, 400);
    assert.match(v1.headers["content-type"], /^text\/plain/);
    assert.match(String(v1.body), /^the body is not valid JSON \(Expected/);
    const v2 = router.failure(bad, "/v2/devices");
    assert.equal(v2.status, 400);
    assert.match(v2.headers["content-type"], /^application\/json/);
    assert.deepEqual(Object.keys(v2.body as object), ["error", "message"]);
    assert.equal((v2.body as { error: string }).error, "invalid");

    const big = router.failure(
      parserError("request entity too large", 413, "entity.too.large", { limit: 5_242_880 }),
      "/v2/items",
    );
    assert.equal(big.status, 413);
    assert.deepEqual(big.body, {
      error: "too-large",
      message: "the request body is larger than 5242880 bytes",
    });
    const charset = router.failure(
      parserError('unsupported charset "LATIN2"', 415, "charset.unsupported"),
      "/v1/items",
    );
    assert.equal(charset.status, 415);
    assert.equal(charset.body, 'the body cannot be read: unsupported charset "LATIN2"');
  });

  it("answers a path Express could not decode as 400, and hides other 4xx texts of the HTTP layer", function () {
    const uri = Object.assign(new URIError("Failed to decode param '/work/x/%E0%A4%A'"), { status: 400 });
    const r = router.failure(uri, "/v1/devices/%E0%A4%A");
    assert.deepEqual([r.status, r.body], [400, "the path is not valid URL encoding"]);
    const other = router.failure(
      Object.assign(new Error("at /usr/lib/x.js:1:2"), { status: 431 }),
      "/v2/devices",
    );
    assert.deepEqual(other.body, { error: "invalid", message: "the request cannot be read" });
  });

  it("answers an unexpected error as 500 without file paths", function () {
    const e = toRestError(new Error("ENOENT: no such file or directory, open '/home/op/.node-red/x.json'"));
    assert.equal(e.status, 500);
    assert.equal(e.message, "ENOENT: no such file or directory, open '…'");
    assert.equal(toRestError(new Error("C:\\Users\\op\\x.js failed")).message, "… failed");
  });

  it("answers the store out of reach as 503 naming it, never with the client library's text", function () {
    const ioredis = Object.assign(
      new Error(
        'Reached the max retries per request limit (which is 3). Refer to "maxRetriesPerRequest" option for details.',
      ),
      { name: "MaxRetriesPerRequestError" },
    );
    for (const err of [
      ioredis,
      new Error("Connection is closed."),
      new Error("connect ECONNREFUSED 10.0.0.9:6390"),
    ]) {
      const e = toRestError(err, "Redis at 10.0.0.9:6390");
      assert.equal(e.status, 503);
      assert.equal(e.code, "unavailable");
      assert.equal(e.message, "Redis at 10.0.0.9:6390 is unreachable, try again later");
    }
    assert.equal(toRestError(ioredis).message, "the store is unreachable, try again later");
    // Logs say what happened, not which option of the client library to look up.
    assert.equal(errorMessage(ioredis), "Redis did not answer: the connection to it is down");
    assert.equal(errorMessage(new Error("Connection is closed.")), "Connection is closed.");
  });

  it("answers a request no http in node took by the route table: 404, 405 with Allow, or not routed", function () {
    const patch = router.unrouted("PATCH", "/v1/devices");
    assert.deepEqual(
      [patch.status, patch.headers.allow, patch.body],
      [405, "GET, POST", "PATCH is not allowed here"],
    );
    assert.match(patch.headers["content-type"], /^text\/plain/);
    const v2 = router.unrouted("PATCH", "/v2/devices");
    assert.equal(v2.headers.allow, "GET, POST, DELETE");
    assert.deepEqual(v2.body, { error: "method-not-allowed", message: "PATCH is not allowed here" });
    const unknown = router.unrouted("GET", "/v9/things");
    assert.equal(unknown.status, 404);
    assert.match(unknown.headers["content-type"], /^application\/json/);
    // The API takes PUT here, but the flow has no http in node for it.
    const notWired = router.unrouted("PUT", "/v1/devices/d1");
    assert.equal(notWired.status, 405);
    assert.match(String(notWired.body), /no http in node of this flow passes PUT requests/);
    assert.equal(router.unrouted("GET", "/v1/devices/%E0%A4%A").status, 400);
    assert.equal(router.knowsPath("/v1/devices/d1"), true);
    assert.equal(router.knowsPath("/static/logo.png"), false);
  });
});
