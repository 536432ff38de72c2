/**
 * A save node's settings as the editor stores them (text fields, blanks for defaults) turned into
 * BatchWriter options, checked here so a bad field is named before any connection is made. The writer
 * checks what it owns (batch size, table names, custom SQL) itself; this adds what only a saver has:
 * the overflow policy, the deadband and the backlog's size, and the timings a Node-RED saver needs.
 */
import { DataCollError } from "../errors";
import type { BatchWriterOptions, OverflowPolicy } from "./batch-writer";
import { parsePartitionPolicy, type PartitionPolicy } from "./partitions";

/** The fields as the editor sends them. */
export interface SaveFields {
  historyTable?: string;
  alarmsTable?: string;
  createTables?: boolean;
  batchSize?: string | number;
  maxDelay?: string | number;
  saveUnchanged?: boolean;
  deadband?: string | number;
  customSql?: string;
  overflow?: string;
  backlogSize?: string | number;
  durable?: boolean;
  /** day, month (blank) or none. */
  partition?: string;
  retentionDays?: string | number;
  partitionsAhead?: string | number;
  migrateTables?: boolean;
}

export type SaveSettings = Omit<BatchWriterOptions, "mysql" | "backlog" | "deadLetters" | "concurrency"> & {
  readonly overflow: OverflowPolicy;
  readonly backlogCapacity: number;
  readonly partitions: PartitionPolicy;
};

const POLICIES: readonly OverflowPolicy[] = ["drop-oldest", "drop-newest", "block"];
const blank = (v: unknown): boolean => v === undefined || v === null || String(v).trim() === "";
const num = (v: unknown): number | undefined => (blank(v) ? undefined : Number(v));

/** The fields as writer options; throws a DataCollError naming the field at fault. */
export function parseSaveSettings(def: SaveFields): SaveSettings {
  const overflow = blank(def.overflow) ? "drop-oldest" : def.overflow;
  if (!(POLICIES as readonly unknown[]).includes(overflow))
    throw new DataCollError("invalid", `overflow must be one of ${POLICIES.join(", ")}`, "overflow");
  const deadband = num(def.deadband) ?? 0;
  if (!Number.isFinite(deadband) || deadband < 0)
    throw new DataCollError("invalid", "deadband must be a number of 0 or more", "deadband");
  const backlogCapacity = num(def.backlogSize) ?? 100_000;
  if (!Number.isInteger(backlogCapacity) || backlogCapacity < 1 || backlogCapacity > 10_000_000)
    throw new DataCollError(
      "invalid",
      "backlogSize must be a whole number from 1 to 10000000",
      "backlogSize",
    );
  return {
    tables: {
      history: blank(def.historyTable) ? undefined : String(def.historyTable).trim(),
      alarms: blank(def.alarmsTable) ? undefined : String(def.alarmsTable).trim(),
    },
    createTables: def.createTables !== false,
    customSql: blank(def.customSql) ? undefined : def.customSql,
    batchSize: num(def.batchSize),
    maxDelayMs: num(def.maxDelay),
    saveUnchanged: def.saveUnchanged !== false,
    deadband,
    overflow: overflow as OverflowPolicy,
    backlogCapacity,
    durable: def.durable === true,
    partitions: parsePartitionPolicy(def),
    // Inside Node-RED's 15 s close limit, so a black-holed server cannot hold a redeploy past it.
    queryTimeoutMs: 10_000,
    // A plant wants history back within seconds of MySQL returning, not after a 30 s backoff step.
    retryMaxMs: 5_000,
  };
}
