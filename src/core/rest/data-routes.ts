/**
 * The paths about data and the running system: protocols, formula_check, a point's samples (`datas`),
 * device_call and device_ctrl, and beyond the older API latest values, alarms and device status.
 */
import { DataCollError } from "../errors";
import { isPlainObject, normalizeId } from "../model/fields";
import type { Protocol } from "../model/device";
import { pointKey, splitPointKey, type DataPoint, type PointKey } from "../model/datapoint";
import { parsePointKey } from "../model/formula";
import { checkFormula } from "../formula/check";
import { compilePattern } from "../bus/pattern";
import { pointIds } from "./point-index";
import { ENVELOPE_VERSION, EventIds } from "../bus/envelope";
import type { AlarmState } from "../store/store";
import { RestError, badRequest, notFound, statusOf } from "./errors";
import { legacyNotFound, olderTime, olderValue } from "./legacy";
import { queryText, type Call, type Route } from "./route";
import { ref, listOf, TEXT } from "./schemas";
import type { RestActions } from "./types";

const DEFAULT_COUNT = 100;
const MAX_COUNT = 10_000;
/**
 * What `datas` answers without `count`: the older system returned a point's whole history, and its
 * clients ask for no count, so all that is kept — the manager's default *History* is this many too.
 */
const DATAS_COUNT = MAX_COUNT;

function countOf(c: Call, def: number): number {
  const raw = queryText(c.query, "count");
  if (raw === undefined || raw === "") return def;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_COUNT)
    throw badRequest(
      `count must be a whole number from 1 to ${MAX_COUNT}, not ${JSON.stringify(raw.slice(0, 20))}`,
      "count",
    );
  return n;
}

/** The point of a `/devices/{d}/terms/{t}/items/{i}` path, or the older 404. */
async function pathPoint(c: Call): Promise<PointKey> {
  let key: PointKey;
  const missing = (): RestError =>
    legacyNotFound("term_item", `point ${c.params.d}:${c.params.t}:${c.params.i} does not exist`);
  try {
    key = pointKey(normalizeId(c.params.d, "d"), normalizeId(c.params.t, "t"), normalizeId(c.params.i, "i"));
  } catch {
    throw missing();
  }
  if (!(await c.ctx.store.registry.getPoint(key))) throw missing();
  return key;
}

/** The point of a `/devices/{d}/terms/{t}/items/{i}` path when the registry has it. */
async function knownPoint(c: Call): Promise<PointKey | undefined> {
  try {
    return await pathPoint(c);
  } catch (err) {
    if (err instanceof RestError && err.status === 404) return undefined;
    throw err;
  }
}

/**
 * `{time: value}`, newest first: the older system's shape of a point's data, with its times (Python
 * isoformat, UTC) and its values as text, as its Redis hash held them.
 */
function timeValues(points: readonly DataPoint[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of points) {
    const time = olderTime(p.ts);
    if (!(time in out)) out[time] = olderValue(p.value);
  }
  return out;
}

/**
 * A `?pattern=` that shows a wildcard sent unescaped: in a query `+` means a space, and `#` starts the
 * URL's fragment, which the server never sees (`plc1:#` arrives as `plc1:`). Neither a space nor an
 * empty last segment can be meant, so the answer says how to send the wildcards.
 */
function checkEscaped(pattern: string): void {
  const shown = JSON.stringify(pattern.slice(0, 100));
  const how = "escape # as %23 and + as %2B (e.g. ?pattern=plc1:%2B:power, ?pattern=plc1:%23)";
  if (/\s/.test(pattern)) {
    throw badRequest(
      `pattern ${shown} holds a space: a + sent unescaped in a URL arrives as a space; ${how}`,
      "pattern",
    );
  }
  if (pattern.endsWith(":")) {
    throw badRequest(
      `pattern ${shown} ends in ":": a # sent unescaped in a URL ends it there; ${how}`,
      "pattern",
    );
  }
}

/** The older 404s of device_call and device_ctrl, in its order: device, term, item, then term item. */
async function checkPointInOrder(c: Call, key: PointKey): Promise<void> {
  const reg = c.ctx.store.registry;
  const ids = splitPointKey(key);
  if (ids === undefined || !(await reg.getDevice(ids.deviceId)))
    throw legacyNotFound("device", `device ${ids?.deviceId ?? key} does not exist`);
  if (!(await reg.getTerm(ids.termId))) throw legacyNotFound("term", `term ${ids.termId} does not exist`);
  if (!(await reg.getItem(ids.itemId))) throw legacyNotFound("item", `item ${ids.itemId} does not exist`);
  if (!(await reg.getPoint(key))) throw legacyNotFound("term_item", `point ${key} does not exist`);
}

/**
 * The fields the older system answered device_call and device_ctrl with — `device_id`, `term_id`,
 * `item_id`, `time` (its isoformat text, UTC) and `value` (a number) — which the reply carries besides
 * its own.
 */
function olderReply(key: PointKey, ts: number, value: unknown): Record<string, unknown> {
  const ids = splitPointKey(key);
  return {
    device_id: ids?.deviceId,
    term_id: ids?.termId,
    item_id: ids?.itemId,
    time: olderTime(ts),
    value,
  };
}

/** A point named in a body by `key` or by its three ids (snake or camel case). */
function bodyPoint(body: unknown): PointKey {
  if (!isPlainObject(body))
    throw badRequest("the body must name a point: key, or device_id, term_id and item_id");
  if (body.key !== undefined) return parsePointKey(body.key, "key");
  const id = (snake: string, camel: string): string => normalizeId(body[snake] ?? body[camel], snake);
  return pointKey(id("device_id", "deviceId"), id("term_id", "termId"), id("item_id", "itemId"));
}

function controlValue(body: unknown): number | boolean | string {
  const v = isPlainObject(body) ? body.value : undefined;
  if (typeof v === "boolean" || typeof v === "string" || (typeof v === "number" && Number.isFinite(v)))
    return v;
  throw badRequest("value must be a number, true/false or text", "value");
}

function actionsOf(c: Call, what: string): RestActions {
  if (!c.ctx.actions) {
    throw new RestError(
      503,
      "unavailable",
      `${what} needs the device runtime, and no running manager provides it to this API node yet`,
    );
  }
  return c.ctx.actions;
}

/** An error from the runtime (timeout, negative confirmation, device offline) as the client sees it. */
async function viaRuntime<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof RestError) throw err;
    if (err instanceof DataCollError) {
      // The runtime's own refusals: the device runs elsewhere or not yet, or takes no commands.
      if (err.code === "not-running") throw new RestError(503, err.code, err.message);
      if (err.code === "unsupported") throw new RestError(400, err.code, err.message);
      // In the runtime's own words: the older "term_item not found!" is for points the registry lacks.
      const status = statusOf(err);
      throw new RestError(status === 500 ? 502 : status, err.code, err.message, err.field);
    }
    throw new RestError(502, "device", err instanceof Error ? err.message : String(err));
  }
}

const PARAM = /\bp[1-9][0-9]{0,2}\b/g;

const PROTOCOL_MAP = { type: "object", additionalProperties: { type: "string" } } as const;

/**
 * The device protocols, described as the older system described them (its texts kept where it had the
 * protocol, so a client matching them finds them). gdwnx and gdw376 had no driver there and have none
 * here: their devices are stored and not run.
 */
const DEVICE_PROTOCOLS: Readonly<Record<Protocol, string>> = {
  iec104: "DL/T 634.5104-2009(远动设备及系统传输规约)",
  "modbus-tcp": "GB/T 19582-2008(基于Modbus协议的工业自动化网络规范) over TCP",
  formula: "公式计算（配置计算公式，数据来源为其他物理采集设备）",
  virtual: "虚拟设备（直连终端，公式计算终端）",
  gdwnx: "Q/GDW xnx-2014(电力能效监测系统通信协议)",
  gdw376: "Q/GDW 376.1-2009(电力用户用电信息采集系统通信协议)",
};

/**
 * A term's protocol is a label the older system stored and nothing read (a term talks its device's
 * protocol): its labels as it listed them, plus the protocols with a driver here.
 */
const TERM_PROTOCOLS: Readonly<Record<string, string>> = {
  gdw130: "Q/GDW 130-2005(电力负荷管理系统数据传输规约)",
  Modbus: "GB/T 19582-2008(基于Modbus协议的工业自动化网络规范)",
  dlt645: "DL/T 645-2007(多功能电能表通信协议)",
  formula: DEVICE_PROTOCOLS.formula,
  iec104: DEVICE_PROTOCOLS.iec104,
  "modbus-tcp": DEVICE_PROTOCOLS["modbus-tcp"],
};

const ids = new EventIds();

function alarmPath(c: Call): { key: PointKey; condition: string } {
  return { key: parsePointKey(c.params.key, "key"), condition: normalizeId(c.params.condition, "condition") };
}

async function findAlarm(c: Call): Promise<AlarmState> {
  const { key, condition } = alarmPath(c);
  const a = (await c.ctx.store.alarms(key)).find((x) => x.condition === condition);
  if (!a) throw notFound(`there is no ${condition} alarm on ${key}`, "condition");
  return a;
}

export function dataRoutes(): Route[] {
  const pointPath = "/v1/devices/{d}/terms/{t}/items/{i}/datas";
  return [
    {
      method: "GET",
      path: "/v1/device_protocols",
      legacy: true,
      tag: "api",
      summary: "The device protocols: name → description (gdwnx and gdw376 are stored, not run)",
      ok: { schema: PROTOCOL_MAP, description: "protocol name → description" },
      errors: [],
      handler: async () => ({ body: DEVICE_PROTOCOLS }),
    },
    {
      method: "GET",
      path: "/v1/term_protocols",
      legacy: true,
      tag: "api",
      summary: "Term protocol labels: name → description (a term talks its device's protocol)",
      ok: { schema: PROTOCOL_MAP, description: "protocol name → description" },
      errors: [],
      handler: async () => ({ body: TERM_PROTOCOLS }),
    },
    {
      method: "POST",
      path: "/v1/formula_check",
      legacy: true,
      tag: "formulas",
      summary: "Check a formula expression: OK, or what is wrong in plain words",
      body: { schema: ref("FormulaCheck"), required: true },
      ok: { schema: TEXT, description: "OK", text: true },
      errors: [],
      handler: async (c) => {
        const b = c.body;
        const expression = isPlainObject(b)
          ? (b.expression ?? b.formula)
          : typeof b === "string"
            ? b
            : undefined;
        if (typeof expression !== "string") throw badRequest("expression is required", "expression");
        // The older client bound parameters as fields of the body: {formula, p1: "d:t:i", …}.
        const olderParams = isPlainObject(b)
          ? Object.entries(b).filter(([k]) => /^p[1-9][0-9]{0,2}$/.test(k))
          : [];
        const given =
          isPlainObject(b) && b.params === undefined && olderParams.length > 0
            ? Object.fromEntries(olderParams)
            : isPlainObject(b)
              ? b.params
              : undefined;
        const placeholder = new Set<string>();
        let params: Record<string, PointKey>;
        if (isPlainObject(given)) {
          params = {};
          for (const [n, k] of Object.entries(given)) params[n] = typeof k === "string" ? k : String(k);
        } else {
          // Without bindings, every pN in the text stands for some point: only the expression is checked.
          params = {};
          const names = Array.isArray(given) ? given.map(String) : (expression.match(PARAM) ?? []);
          for (const n of names) {
            params[n] = `?:?:${n}`;
            placeholder.add(params[n]);
          }
        }
        const known = new Set((await c.ctx.store.registry.listPoints()).map((p) => p.key));
        const r = checkFormula(expression, params, (k) => placeholder.has(k) || known.has(k));
        if (r.ok) return { body: "OK", text: true };
        // Always 200, as the older system answered: the text says what is wrong.
        return { body: r.problems.map((p) => p.message).join("; "), text: true };
      },
    },
    {
      method: "GET",
      path: pointPath,
      legacy: true,
      kind: "term_item",
      tag: "data",
      summary: "A point's newest samples as {time: value}; {} for a point with none (or none at all)",
      query: [
        {
          name: "count",
          description: `how many (default all kept, at most ${MAX_COUNT})`,
          schema: { type: "integer" },
        },
      ],
      ok: { schema: ref("TimeValues"), description: "time (UTC, with microseconds) → value, newest first" },
      errors: [],
      handler: async (c) => {
        const count = countOf(c, DATAS_COUNT);
        // The older system read whatever data the names held: a point it never heard of had none.
        const key = await knownPoint(c);
        return { body: key === undefined ? {} : timeValues(await c.ctx.store.history(key, count)) };
      },
    },
    {
      method: "POST",
      path: pointPath,
      legacy: true,
      kind: "term_item",
      tag: "data",
      summary: "Write a value by hand (quality substituted, cause manual)",
      body: {
        schema: { type: "object", required: ["value"], properties: { value: {}, time: { type: "number" } } },
        required: true,
      },
      ok: { schema: TEXT, description: "OK", text: true },
      errors: [404],
      handler: async (c) => {
        const key = await pathPoint(c);
        const b = c.body;
        const value = controlValue(b);
        const t = isPlainObject(b) ? (b.time ?? b.ts) : undefined;
        if (t !== undefined && (typeof t !== "number" || !Number.isFinite(t) || t < 0))
          throw badRequest("time must be epoch milliseconds", "time");
        const now = c.ctx.now();
        const point: DataPoint = {
          key,
          deviceId: c.params.d,
          termId: c.params.t,
          itemId: c.params.i,
          value,
          ts: t ?? now,
          quality: { substituted: true },
          cause: "manual",
        };
        if (c.ctx.publish) await c.ctx.publish([point]);
        else {
          const store = c.ctx.store;
          await store.ingest({
            v: ENVELOPE_VERSION,
            instance: store.instanceId,
            id: ids.next(),
            ts: now,
            points: [point],
          });
        }
        return { body: "OK", text: true };
      },
    },
    {
      method: "GET",
      path: `${pointPath}/{index}`,
      legacy: true,
      kind: "term_item",
      tag: "data",
      summary: "One sample of a point as {time: value}: 0 is the oldest kept, -1 the newest",
      ok: {
        schema: ref("TimeValues"),
        description: 'one time → value; {"null": null} when there is no such sample',
      },
      errors: [],
      handler: async (c) => {
        const text = c.params.index;
        const index = Number(text);
        if (!/^-?\d{1,15}$/.test(text)) throw badRequest("index must be a whole number", "index");
        const key = await knownPoint(c);
        // Past the newest 10,000 is past either end, as for an index past the history: a pair of nulls.
        if (index >= MAX_COUNT || index < -MAX_COUNT) return { body: { null: null } };
        // As a list of samples in arrival order: negative indexes count from the newest.
        const samples =
          key === undefined ? [] : await c.ctx.store.history(key, index < 0 ? -index : MAX_COUNT);
        const sample = index < 0 ? samples[-index - 1] : samples[samples.length - 1 - index];
        // The older answer for an index past either end: one pair of nulls, not a 404.
        return { body: sample === undefined ? { null: null } : timeValues([sample]) };
      },
    },
    {
      method: "POST",
      path: "/v1/device_call",
      legacy: true,
      kind: "term_item",
      tag: "data",
      summary: "Read a point from its device now and answer with the fresh sample",
      body: { schema: ref("PointRef"), required: true },
      ok: { schema: ref("DataPoint"), description: "the sample read" },
      errors: [404, 502, 503],
      handler: async (c) => {
        const key = bodyPoint(c.body);
        await checkPointInOrder(c, key);
        const actions = actionsOf(c, "device_call");
        const sample = await viaRuntime(() => actions.call(key));
        // A read the device did not answer comes back as a bad-quality sample with the reason.
        if (sample.error !== undefined && (sample.quality.invalid || sample.quality.notTopical))
          throw new RestError(502, "device", sample.error);
        return { body: { ...olderReply(key, sample.ts, sample.value), ...sample } };
      },
    },
    {
      method: "POST",
      path: "/v1/device_ctrl",
      legacy: true,
      kind: "term_item",
      tag: "data",
      summary: "Send a command or setpoint to a point and answer with the device's confirmation",
      body: { schema: ref("Control"), required: true },
      ok: { schema: ref("Confirmation"), description: "the confirmation" },
      errors: [404, 502, 503],
      handler: async (c) => {
        const key = bodyPoint(c.body);
        const value = controlValue(c.body);
        await checkPointInOrder(c, key);
        const actions = actionsOf(c, "device_ctrl");
        const done = await viaRuntime(() => actions.control(key, value));
        return { body: { ...olderReply(key, done.ts, done.value), ...done } };
      },
    },
    {
      method: "GET",
      path: "/v1/latest",
      legacy: false,
      tag: "data",
      summary: "The latest value of every point matching a pattern (device:term:item, * and # as wildcards)",
      query: [
        {
          name: "pattern",
          description:
            "e.g. plc1, plc1:t1, *:*:power; empty: every point. In a URL escape # as %23 and + as %2B: " +
            "an unescaped + arrives as a space and an unescaped # ends the URL, so a pattern holding a " +
            'space or ending in ":" is refused (400)',
          schema: TEXT,
        },
      ],
      ok: { schema: listOf(ref("DataPoint")), description: "latest samples of points that have one" },
      errors: [],
      handler: async (c) => {
        const pattern = queryText(c.query, "pattern") ?? "";
        checkEscaped(pattern);
        const matcher = compilePattern(pattern);
        const now = c.ctx.now();
        const registryKeys = async (): Promise<PointKey[]> =>
          (await pointIds(c.ctx.store.registry, now)).filter((p) => matcher.matches(p)).map((p) => p.key);
        if (c.ctx.latest) {
          const view = c.ctx.latest;
          const { bytes, etag } = await view.answer(matcher.pattern, now, async () => {
            const keys = await registryKeys();
            // The view is seeded by now, so the feed-only keys (flow-drawn devices) are known to it.
            for (const k of view.feedOnlyKeys()) {
              const ids = splitPointKey(k);
              if (ids !== undefined && matcher.matches(ids)) keys.push(k);
            }
            return keys;
          });
          return { body: bytes, encoded: true, etag };
        }
        const latest = await c.ctx.store.latestMany(await registryKeys());
        return { body: latest.filter((p): p is DataPoint => p !== undefined) };
      },
    },
    {
      method: "GET",
      path: "/v1/alarms",
      legacy: false,
      tag: "alarms",
      summary: "Alarm states, of every point or of one (?key=)",
      query: [{ name: "key", description: "a point key", schema: TEXT }],
      ok: { schema: listOf(ref("Alarm")), description: "alarm states" },
      errors: [],
      handler: async (c) => {
        const k = queryText(c.query, "key");
        return { body: await c.ctx.store.alarms(k === undefined ? undefined : parsePointKey(k, "key")) };
      },
    },
    {
      method: "POST",
      path: "/v1/alarms/{key}/{condition}/ack",
      legacy: false,
      tag: "alarms",
      summary: "Acknowledge an alarm",
      ok: { schema: ref("Alarm"), description: "the alarm after acknowledgement" },
      errors: [404],
      handler: async (c) => {
        const a = await findAlarm(c);
        // A check node holding the alarm acknowledges it and stores the new state; when none here holds
        // it (not running, or on another instance), the stored state is the alarm and is changed here.
        const handled = c.ctx.actions?.ackAlarm ? await c.ctx.actions.ackAlarm(a.key, a.condition) : false;
        if (!handled) await c.ctx.store.putAlarm({ ...a, acked: true });
        const after = (await c.ctx.store.alarms(a.key)).find((x) => x.condition === a.condition);
        // An alarm that had cleared is over once acknowledged: its check node keeps no record of it.
        return { body: after ?? { ...a, acked: true, active: false, state: "normal" } };
      },
    },
    {
      method: "POST",
      path: "/v1/alarms/{key}/{condition}/shelve",
      legacy: false,
      tag: "alarms",
      summary: "Shelve an alarm until a time or for some minutes",
      body: { schema: ref("Shelve"), required: true },
      ok: { schema: ref("Alarm"), description: "the alarm as shelved" },
      errors: [404],
      handler: async (c) => {
        const a = await findAlarm(c);
        const b = isPlainObject(c.body) ? c.body : {};
        const now = c.ctx.now();
        let until: number;
        if (typeof b.until === "number" && Number.isFinite(b.until) && b.until > now) until = b.until;
        else if (
          typeof b.minutes === "number" &&
          Number.isFinite(b.minutes) &&
          b.minutes > 0 &&
          b.minutes <= 525_600
        )
          until = now + b.minutes * 60_000;
        else
          throw badRequest(
            "give until (epoch ms in the future) or minutes (up to a year)",
            b.until !== undefined ? "until" : "minutes",
          );
        const handled = c.ctx.actions?.shelveAlarm
          ? await c.ctx.actions.shelveAlarm(a.key, a.condition, until)
          : false;
        if (!handled) {
          const shelved: AlarmState & { shelvedUntil: number } = { ...a, shelvedUntil: until };
          await c.ctx.store.putAlarm(shelved);
        }
        return { body: await findAlarm(c) };
      },
    },
    {
      method: "GET",
      path: "/v1/status",
      legacy: false,
      tag: "devices",
      summary: "The status of every device that reported one",
      ok: { schema: listOf(ref("DeviceStatus")), description: "statuses with the device id" },
      errors: [],
      handler: async (c) => ({
        body: [...(await c.ctx.store.allDeviceStatus())].map(([id, s]) => ({ id, ...s })),
      }),
    },
    {
      method: "GET",
      path: "/v1/devices/{id}/status",
      legacy: false,
      tag: "devices",
      summary: "A device's status: online, last seen, last error, owner",
      ok: { schema: ref("DeviceStatus"), description: "the status; online false when none was reported" },
      errors: [404],
      handler: async (c) => {
        const id = normalizeId(c.params.id, "id");
        if (!(await c.ctx.store.registry.getDevice(id))) throw notFound(`device ${id} does not exist`, "id");
        const s = await c.ctx.store.deviceStatus(id);
        return { body: { id, ...(s ?? { online: false }) } };
      },
    },
    {
      method: "GET",
      path: "/v1/devices/{id}/frames",
      legacy: false,
      tag: "devices",
      summary: "A device's frame log, newest first: every octet in and out, as hex (device option frameLog)",
      query: [
        {
          name: "count",
          description: `how many, 1 to ${MAX_COUNT} (default ${DEFAULT_COUNT})`,
          schema: TEXT,
        },
      ],
      ok: { schema: listOf(ref("Frame")), description: "frames, newest first; empty when none were logged" },
      errors: [404],
      handler: async (c) => {
        const id = normalizeId(c.params.id, "id");
        if (!(await c.ctx.store.registry.getDevice(id))) throw notFound(`device ${id} does not exist`, "id");
        return { body: await c.ctx.store.frames(id, countOf(c, DEFAULT_COUNT)) };
      },
    },
  ];
}
