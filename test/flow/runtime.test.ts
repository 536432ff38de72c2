import assert from "node:assert/strict";
import { helper, nodeRedVersion } from "../support/node-red";

describe("test runtime", function () {
  before(function (done) {
    helper.startServer(done);
  });
  after(function (done) {
    helper.stopServer(done);
  });

  it("runs on the Node-RED this run asked for", function () {
    // npm test: the devDependency (4.1); npm run test:compat: Node-RED 5 under Node 22.
    const running = helper._RED.version();
    // A runtime inside a git checkout reports its version with a "-git" suffix.
    assert.equal(running.replace(/-git$/, ""), nodeRedVersion());
    const major = Number(running.split(".")[0]);
    if (process.env.NODE_RED_PATH) {
      assert.ok(major >= 5, `compat run expected Node-RED 5+, got ${running}`);
      assert.ok(Number(process.versions.node.split(".")[0]) >= 22, `compat run expected Node 22+`);
    } else {
      assert.equal(major, 4, `npm test expected Node-RED 4.x, got ${running}`);
    }
  });
});
