import { RedisStore } from "../../../src/core/store/redis-store";
import { uniqueNamespace } from "../../support/services";
import { storeContract } from "./contract";
import { deleteNamespace, openRedisStore } from "./redis-admin";

storeContract("RedisStore", {
  open: (namespace, opts) =>
    openRedisStore({ namespace, instanceId: opts?.instanceId ?? "test", bounds: opts?.bounds }),
  namespace: () => uniqueNamespace(),
  cleanup: (namespace) => deleteNamespace(namespace),
  async settle(store) {
    if (store instanceof RedisStore) await store.settle();
  },
});
