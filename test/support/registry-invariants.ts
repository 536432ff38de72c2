/**
 * The registry's invariants, checked on what a store holds (raw keys, not the registry's own reads, which
 * would hide a stale index entry): every term's device exists, every point's device, term and item exist,
 * no two points of a term share an address, the index sets match the records, and the reverse address
 * map matches the points both ways. One checker for every race and import test, on both stores.
 */
import { Redis } from "ioredis";
import { K } from "../../src/core/store/keys";
import type { MemoryDatabase } from "../../src/core/store/memory-store";
import type { Registry } from "../../src/core/store/registry";
import { parseDevice, type Device } from "../../src/core/model/device";
import { parseTerm, type Term } from "../../src/core/model/term";
import { parsePoint, type Point } from "../../src/core/model/point";
import { formulaPoints, parseFormula, type Formula } from "../../src/core/model/formula";
import { REDIS_URL } from "./services";

/** What a store holds under a namespace, key by key (names relative to the namespace). */
export interface RawRegistry {
  hgetall(key: string): Promise<Map<string, string>>;
  /** Every set whose name starts with `prefix`, with its members. */
  sets(prefix: string): Promise<Map<string, Set<string>>>;
  close(): Promise<void>;
}

export function memoryRaw(db: MemoryDatabase, namespace: string): RawRegistry {
  const ks = db.space(namespace);
  return {
    hgetall: (key) => Promise.resolve(new Map(ks.hashes.get(key) ?? [])),
    sets: (prefix) =>
      Promise.resolve(
        new Map([...ks.sets].filter(([k]) => k.startsWith(prefix)).map(([k, s]) => [k, new Set(s)])),
      ),
    close: () => Promise.resolve(),
  };
}

export function redisRaw(namespace: string, url = REDIS_URL): RawRegistry {
  const client = new Redis(url);
  return {
    hgetall: async (key) => new Map(Object.entries(await client.hgetall(namespace + key))),
    sets: async (prefix) => {
      const out = new Map<string, Set<string>>();
      let cursor = "0";
      do {
        const [next, keys] = await client.scan(cursor, "MATCH", `${namespace}${prefix}*`, "COUNT", 1000);
        cursor = next;
        for (const k of keys) out.set(k.slice(namespace.length), new Set(await client.smembers(k)));
      } while (cursor !== "0");
      return out;
    },
    close: async () => {
      await client.quit();
    },
  };
}

function records<T>(hash: Map<string, string>, parse: (raw: unknown) => T): Map<string, T> {
  return new Map([...hash].map(([id, text]) => [id, parse(JSON.parse(text))]));
}

/** Compare an index's sets with what the records say they must hold; a missing set is an empty one. */
function compareIndex(
  name: string,
  prefix: string,
  stored: Map<string, Set<string>>,
  expected: Map<string, Set<string>>,
  problems: string[],
): void {
  const owners = new Set([...stored.keys()].map((k) => k.slice(prefix.length)));
  for (const o of expected.keys()) owners.add(o);
  for (const owner of owners) {
    const have = stored.get(prefix + owner) ?? new Set<string>();
    const want = expected.get(owner) ?? new Set<string>();
    for (const m of have)
      if (!want.has(m)) problems.push(`${name} ${owner} lists ${m}, which is not its own`);
    for (const m of want) if (!have.has(m)) problems.push(`${name} ${owner} misses ${m}`);
  }
}

function group(entries: Iterable<[string, string]>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [owner, member] of entries) {
    let s = out.get(owner);
    if (!s) out.set(owner, (s = new Set()));
    s.add(member);
  }
  return out;
}

/**
 * Every broken invariant, in words; empty when the registry is sound. `registry` gives the address rules
 * (the reverse-map key of each point's address).
 */
export async function registryProblems(raw: RawRegistry, registry: Registry): Promise<string[]> {
  const problems: string[] = [];
  const [deviceHash, termHash, itemHash, pointHash, formulaHash, address, addressOf] = await Promise.all([
    raw.hgetall(K.devices),
    raw.hgetall(K.terms),
    raw.hgetall(K.items),
    raw.hgetall(K.points),
    raw.hgetall(K.formulas),
    raw.hgetall(K.address),
    raw.hgetall(K.addressOf),
  ]);
  const devices: Map<string, Device> = records(deviceHash, parseDevice);
  const terms: Map<string, Term> = records(termHash, parseTerm);
  const points: Map<string, Point> = records(pointHash, parsePoint);
  const formulas: Map<string, Formula> = records(formulaHash, parseFormula);

  for (const [id, d] of devices) if (d.id !== id) problems.push(`device stored as ${id} is named ${d.id}`);
  for (const [id, t] of terms) {
    if (t.id !== id) problems.push(`term stored as ${id} is named ${t.id}`);
    if (!devices.has(t.deviceId)) problems.push(`term ${id}: its device ${t.deviceId} does not exist`);
  }
  const byAddress = new Map<string, string>();
  for (const [key, p] of points) {
    if (p.key !== key) problems.push(`point stored as ${key} is named ${p.key}`);
    const device = devices.get(p.deviceId);
    const term = terms.get(p.termId);
    if (!device) problems.push(`point ${key}: its device ${p.deviceId} does not exist`);
    if (!term) problems.push(`point ${key}: its term ${p.termId} does not exist`);
    else if (term.deviceId !== p.deviceId)
      problems.push(`point ${key}: its term ${p.termId} belongs to ${term.deviceId}`);
    if (!itemHash.has(p.itemId)) problems.push(`point ${key}: its item ${p.itemId} does not exist`);
    if (p.address !== "") {
      const slot = `${p.termId}\u0000${p.address}`;
      const other = byAddress.get(slot);
      if (other !== undefined) problems.push(`points ${other} and ${key} share address ${p.address}`);
      else byAddress.set(slot, key);
    }
    const want = device && term ? registry.addressKeyFor(device, term, p.address) : undefined;
    const held = addressOf.get(key);
    if (want !== held) problems.push(`point ${key} holds address key ${held}, not ${want}`);
  }
  for (const [addr, key] of address)
    if (addressOf.get(key) !== addr)
      problems.push(`address ${addr} names point ${key}, which does not hold it`);
  for (const [key, addr] of addressOf) {
    if (!points.has(key)) problems.push(`address-of names point ${key}, which does not exist`);
    if (address.get(addr) !== key) problems.push(`point ${key} holds address ${addr}, which names another`);
  }
  for (const [id, f] of formulas)
    for (const k of formulaPoints(f))
      if (!points.has(k)) problems.push(`formula ${id}: point ${k} does not exist`);

  const [deviceTerms, termPoints, itemPoints, pointFormulas] = await Promise.all([
    raw.sets(K.deviceTerms("")),
    raw.sets(K.termPoints("")),
    raw.sets(K.itemPoints("")),
    raw.sets(K.pointFormulas("")),
  ]);
  compareIndex(
    "device-terms",
    K.deviceTerms(""),
    deviceTerms,
    group([...terms.values()].map((t) => [t.deviceId, t.id])),
    problems,
  );
  compareIndex(
    "term-points",
    K.termPoints(""),
    termPoints,
    group([...points.values()].map((p) => [p.termId, p.key])),
    problems,
  );
  compareIndex(
    "item-points",
    K.itemPoints(""),
    itemPoints,
    group([...points.values()].map((p) => [p.itemId, p.key])),
    problems,
  );
  compareIndex(
    "point-formulas",
    K.pointFormulas(""),
    pointFormulas,
    group([...formulas.values()].flatMap((f) => formulaPoints(f).map((k): [string, string] => [k, f.id]))),
    problems,
  );
  return problems;
}
