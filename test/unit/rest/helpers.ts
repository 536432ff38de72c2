/** A REST API over a fresh memory store, called as the datacoll-api node calls it. */
import { MemoryStore } from "../../../src/core/store/memory-store";
import { handle } from "../../../src/core/rest/router";
import type { RestActions, RestContext, RestResponse } from "../../../src/core/rest/types";
import type { Store } from "../../../src/core/store/store";

export interface Api {
  readonly store: Store;
  call(method: string, path: string, body?: unknown, opts?: CallOptions): Promise<RestResponse>;
  close(): Promise<void>;
}

export interface CallOptions {
  readonly contentType?: string;
  readonly query?: Record<string, string>;
  readonly maxBodyBytes?: number;
}

export function api(
  actions?: RestActions,
  now = (): number => 1_700_000_000_000,
  store: Store = new MemoryStore({ namespace: "t:", instanceId: "test" }),
  onStoreUnreachable?: (reason: string) => void,
): Api {
  const ctx: RestContext = {
    store,
    basePath: "/api",
    maxBodyBytes: 100_000,
    now,
    ...(actions ? { actions } : {}),
    ...(onStoreUnreachable ? { onStoreUnreachable } : {}),
  };
  return {
    store,
    call(method, path, body, opts = {}) {
      const [p, qs] = path.split("?");
      const query: Record<string, string> = {
        ...Object.fromEntries(new URLSearchParams(qs ?? "")),
        ...opts.query,
      };
      const contentType = opts.contentType ?? (body === undefined ? undefined : "application/json");
      const text = body === undefined || typeof body === "string" ? body : JSON.stringify(body);
      return handle(
        { method, path: p, query, headers: contentType ? { "content-type": contentType } : {}, body: text },
        opts.maxBodyBytes === undefined ? ctx : { ...ctx, maxBodyBytes: opts.maxBodyBytes },
      );
    },
    close: () => store.close(),
  };
}

/** A small plant: a Modbus device with one term, two items bound to it, a formula device. */
export async function seed(a: Api): Promise<void> {
  const ok = async (method: string, path: string, body: unknown): Promise<void> => {
    const r = await a.call(method, path, body);
    if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  await ok("POST", "/v1/devices", { id: "plc1", protocol: "modbus-tcp", host: "10.0.0.5" });
  await ok("POST", "/v1/devices", { id: "calc", protocol: "formula" });
  await ok("POST", "/v1/terms", { id: "t1", device_id: "plc1", address: 1 });
  await ok("POST", "/v1/terms", { id: "c1", deviceId: "calc" });
  await ok("POST", "/v1/items", { id: "power", unit: "kW" });
  await ok("POST", "/v1/items", { id: "energy", unit: "kWh" });
  await ok("POST", "/v1/terms/t1/items", { item_id: "power", address: "HR40001" });
  await ok("POST", "/v1/terms/t1/items", { item_id: "energy", address: "HR40003" });
  await ok("POST", "/v1/terms/c1/items", { item_id: "power" });
}
