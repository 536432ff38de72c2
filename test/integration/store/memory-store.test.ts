import { MemoryDatabase, MemoryStore } from "../../../src/core/store/memory-store";
import { uniqueNamespace } from "../../support/services";
import { storeContract } from "./contract";

const db = new MemoryDatabase();

storeContract("MemoryStore", {
  async open(namespace, opts) {
    return new MemoryStore({
      namespace,
      instanceId: opts?.instanceId ?? "test",
      database: db,
      bounds: opts?.bounds,
    });
  },
  namespace: () => uniqueNamespace(),
  async cleanup() {
    // Nothing outlives the process; each test has its own namespace.
  },
  // Messages are queued as microtasks; one macrotask turn lets them all run.
  settle: () => new Promise<void>((resolve) => setImmediate(resolve)),
});
