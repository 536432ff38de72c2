/**
 * The read planner: coalesce a term's points into the fewest read requests per table, and map each
 * read's result back to per-point values and quality.
 *
 * Points of one table are sorted by address and merged greedily while the next point starts at most
 * `maxGap` registers (or bits) after the current read ends and the read stays within the protocol limit
 * (125 registers / 2000 bits, Modbus Application Protocol §6.1–§6.4). Reading a few unused registers in
 * a gap costs far less than another round trip, but a gap may hold addresses the device does not
 * implement and answer exception 02 for, so the gap is configurable (0 = only adjacent points merge).
 *
 * A failed read makes each of its points bad: communication failures (timeout, not sent, unit backed
 * off, disconnected) mark them NOT TOPICAL — the device may be fine, we just do not know its value now;
 * answers that are wrong (exception, malformed reply) mark them INVALID with the reason named.
 */
import type { Quality } from "../model/datapoint";
import type { ModbusReply, ModbusRequest } from "../../protocols/modbus/codec/pdu";
import { MAX_READ_BITS, MAX_READ_REGISTERS } from "../../protocols/modbus/codec/pdu";
import type { FailureKind } from "../../protocols/modbus/session/client-session";
import { DataCollError, errorMessage } from "../errors";
import { ModbusRequestError } from "./client";
import { isBitTable, pointWidth, type ModbusPointAddress, type ModbusTable } from "./point-address";
import { decodeRegistersAt, scale, type RawValue } from "./values";
import type { EngineeringValue, Scaling } from "../model/scaling";

export interface PlanPoint {
  /** The caller's name for the point (an item id or point key). */
  readonly id: string;
  readonly address: ModbusPointAddress;
  readonly scaling?: Scaling;
}

export interface PlanOptions {
  /** Unused registers/bits allowed between two points of one read. */
  readonly maxGap: number;
  readonly maxRegisters: number;
  readonly maxBits: number;
}

export const DEFAULT_PLAN_OPTIONS: PlanOptions = Object.freeze({
  maxGap: 10,
  maxRegisters: MAX_READ_REGISTERS,
  maxBits: MAX_READ_BITS,
});

export type ReadFunction = "readCoils" | "readDiscreteInputs" | "readHoldingRegisters" | "readInputRegisters";

const READ_FN: Readonly<Record<ModbusTable, ReadFunction>> = {
  coil: "readCoils",
  "discrete-input": "readDiscreteInputs",
  "holding-register": "readHoldingRegisters",
  "input-register": "readInputRegisters",
};

/** A read of the plan; `P` is the caller's point type, so its members are the caller's own objects. */
export interface PlannedRead<P extends PlanPoint = PlanPoint> {
  readonly table: ModbusTable;
  readonly address: number;
  readonly count: number;
  /** The request that performs this read, made once with the plan rather than on every poll. */
  readonly request: ModbusRequest;
  /** Each point and where its registers/bit start within this read. */
  readonly points: readonly { readonly point: P; readonly offset: number }[];
}

/** The request that performs a planned read. */
export function readRequest(read: PlannedRead): ModbusRequest {
  return read.request;
}

/** The fewest reads covering `points`, per table in the order coil, DI, HR, IR, by ascending address. */
export function planReads<P extends PlanPoint>(
  points: readonly P[],
  options: Partial<PlanOptions> = {},
): PlannedRead<P>[] {
  const o = { ...DEFAULT_PLAN_OPTIONS, ...options };
  if (!Number.isInteger(o.maxGap) || o.maxGap < 0) {
    throw new DataCollError("modbus-plan", `maximum gap ${o.maxGap} must be a whole number >= 0`, "maxGap");
  }
  if (!(o.maxRegisters >= 1 && o.maxRegisters <= MAX_READ_REGISTERS)) {
    throw new DataCollError(
      "modbus-plan",
      `registers per read must be 1..${MAX_READ_REGISTERS}`,
      "maxRegisters",
    );
  }
  if (!(o.maxBits >= 1 && o.maxBits <= MAX_READ_BITS)) {
    throw new DataCollError("modbus-plan", `bits per read must be 1..${MAX_READ_BITS}`, "maxBits");
  }
  const reads: PlannedRead<P>[] = [];
  for (const table of ["coil", "discrete-input", "holding-register", "input-register"] as const) {
    const limit = isBitTable(table) ? o.maxBits : o.maxRegisters;
    const mine = points
      .filter((p) => p.address.table === table)
      .sort((a, b) => a.address.address - b.address.address);
    let start = 0;
    let end = 0;
    let members: { point: P; offset: number }[] = [];
    const flush = (): void => {
      if (members.length > 0) {
        const count = end - start;
        const request: ModbusRequest = { fn: READ_FN[table], address: start, count };
        reads.push({ table, address: start, count, request, points: members });
      }
      members = [];
    };
    for (const p of mine) {
      const width = pointWidth(p.address);
      if (width > limit) {
        throw new DataCollError(
          "modbus-plan",
          `point ${p.id} spans ${width} registers, more than one read of ${limit} can carry`,
          "address",
        );
      }
      const a = p.address.address;
      const fits = members.length > 0 && a - end <= o.maxGap && Math.max(end, a + width) - start <= limit;
      if (!fits) {
        flush();
        start = a;
        end = a;
      }
      end = Math.max(end, a + width);
      members.push({ point: p, offset: a - start });
    }
    flush();
  }
  return reads;
}

/** One point's outcome: a value with good quality, or no value with the quality and reason. */
export type PointReading =
  | {
      readonly id: string;
      readonly ok: true;
      readonly raw: RawValue;
      readonly value: EngineeringValue;
      readonly quality: Quality;
    }
  | { readonly id: string; readonly ok: false; readonly quality: Quality; readonly error: string };

export type ReadOutcome =
  | { readonly kind: "ok"; readonly values: readonly number[] | readonly boolean[] }
  | { readonly kind: "failed"; readonly failure: { readonly kind: FailureKind; readonly message: string } };

const COMMUNICATION: ReadonlySet<FailureKind> = new Set<FailureKind>([
  "timeout",
  "queue-timeout",
  "queue-full",
  "unit-backoff",
  "disconnected",
  "closed",
]);

const NOT_TOPICAL: Quality = Object.freeze({ notTopical: true });
const INVALID: Quality = Object.freeze({ invalid: true });
const GOOD: Quality = Object.freeze({});

/**
 * The quality and reason for every point of a read that failed or came back short, or undefined when
 * the read carries a value for each of its points.
 */
export function readFailure(
  read: PlannedRead,
  outcome: ReadOutcome,
): { readonly quality: Quality; readonly error: string } | undefined {
  if (outcome.kind === "failed") {
    const quality = COMMUNICATION.has(outcome.failure.kind) ? NOT_TOPICAL : INVALID;
    return { quality, error: outcome.failure.message };
  }
  if (outcome.values.length < read.count) {
    const error = `read of ${read.count} at ${read.address} returned ${outcome.values.length} values`;
    return { quality: INVALID, error };
  }
  return undefined;
}

/**
 * The raw value of the point whose registers (or bit, when `bits`) start at `values[offset]` of a whole
 * read (readFailure said so). No copies: this runs for every point of every poll.
 */
export function pointRaw(
  point: PlanPoint,
  offset: number,
  values: readonly number[] | readonly boolean[],
  bits: boolean,
): RawValue {
  return bits
    ? Boolean(values[offset])
    : decodeRegistersAt(point.address, values as readonly number[], offset);
}

/** Map a read's result to its points. */
export function mapReadResult(read: PlannedRead, outcome: ReadOutcome): PointReading[] {
  const failure = readFailure(read, outcome);
  if (failure !== undefined) {
    const { quality, error } = failure;
    return read.points.map(({ point }) => ({ id: point.id, ok: false, quality, error }));
  }
  const values = outcome.kind === "ok" ? outcome.values : [];
  const bits = isBitTable(read.table);
  // A plain loop, no per-point copies: this runs for every point of every poll.
  const out = new Array<PointReading>(read.points.length);
  for (let i = 0; i < read.points.length; i++) {
    const { point, offset } = read.points[i];
    const raw = pointRaw(point, offset, values, bits);
    out[i] = { id: point.id, ok: true, raw, value: scale(point.address, raw, point.scaling), quality: GOOD };
  }
  return out;
}

/** Anything that can perform a request, e.g. ModbusClient. */
export interface ModbusRequester {
  request(unit: number, request: ModbusRequest): Promise<ModbusReply>;
}

// Anything other than a request failure (a bug, a closed client's TypeError) says nothing about the
// device's value being stale, so it is reported as invalid.
function failureOf(err: unknown): { kind: FailureKind; message: string } {
  if (err instanceof ModbusRequestError) return err.failure;
  return { kind: "malformed-reply", message: errorMessage(err) };
}

/** Perform one read of a plan for `unit`; never rejects (a failure is the outcome). */
export async function performRead(
  requester: ModbusRequester,
  unit: number,
  read: PlannedRead,
): Promise<ReadOutcome> {
  try {
    const reply = await requester.request(unit, read.request);
    return { kind: "ok", values: reply.kind === "bits" || reply.kind === "registers" ? reply.values : [] };
  } catch (err) {
    return { kind: "failed", failure: failureOf(err) };
  }
}

/** Perform every read of a plan for `unit` (concurrently; the session's in-flight limit paces them). */
export async function runReads(
  requester: ModbusRequester,
  unit: number,
  reads: readonly PlannedRead[],
): Promise<PointReading[]> {
  const results = await Promise.all(
    reads.map(async (read) => mapReadResult(read, await performRead(requester, unit, read))),
  );
  // Array.prototype.flat is a generic, slow path in V8; most terms are a single read anyway.
  if (results.length === 1) return results[0];
  const out: PointReading[] = [];
  for (const r of results) for (let i = 0; i < r.length; i++) out.push(r[i]);
  return out;
}
