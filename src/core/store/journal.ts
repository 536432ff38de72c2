/**
 * The embedded store's file: what keeps the registry and alarm state across Node-RED restarts, Full
 * deploys and `kill -9`. One file per namespace in a directory the caller gives (the Node-RED user
 * directory), written as a journal:
 *
 *     <crc32 of the JSON, 8 hex digits> <one JSON record>\n
 *
 * The first record is a snapshot of every durable key; each later record is one atomic batch of writes
 * (a registry write, an alarm change). A batch is appended and flushed to the disk (fdatasync) before the
 * caller is answered, so after a crash the file holds exactly the batches that were acknowledged, plus at
 * most one torn line at its end, which replay drops. Corruption anywhere else is refused, never guessed
 * around. Compaction writes a new snapshot to a temporary file, flushes it and renames it over the
 * journal, so the file is at every moment either the old journal or the new snapshot.
 *
 * Plain `fs` and no native module: nothing to build on install, and the format is a text file an operator
 * can read (docs/embedded-store.md). A lock file beside it keeps a second process off the same file.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { DataCollError, errorMessage } from "../errors";
import type { RegistryOp } from "./registry";

export const JOURNAL_VERSION = 1;

/** The durable keys of a namespace: hashes and sets as plain objects. */
export interface JournalState {
  readonly rev: number;
  readonly hashes: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly sets: ReadonlyMap<string, ReadonlySet<string>>;
}

interface SnapshotRecord {
  readonly t: "snapshot";
  readonly v: number;
  readonly namespace: string;
  readonly rev: number;
  readonly hashes: Record<string, Record<string, string>>;
  readonly sets: Record<string, string[]>;
}

/**
 * One write as a JSON array, `["hset", key, field, value]`, `["hdel", key, field]`, `["sadd", key,
 * member]`, `["srem", key, member]` or `["del", key]`: a plant-sized import is hundreds of thousands of
 * writes, and the names of object fields would be a third of the line.
 */
type WireOp = readonly string[];

interface BatchRecord {
  readonly t: "batch";
  /** The registry revision after the batch; absent for writes that do not change the registry. */
  readonly rev?: number;
  readonly ops: readonly WireOp[];
}

function toWire(op: RegistryOp): WireOp {
  switch (op.op) {
    case "hset":
      return [op.op, op.key, op.field, op.value];
    case "hdel":
      return [op.op, op.key, op.field];
    case "sadd":
    case "srem":
      return [op.op, op.key, op.member];
    case "del":
      return [op.op, op.key];
  }
}

function fromWire(w: unknown): RegistryOp | undefined {
  if (!Array.isArray(w) || !w.every((x) => typeof x === "string")) return undefined;
  const [op, key, a, b] = w as string[];
  if (op === "hset" && w.length === 4) return { op, key, field: a, value: b };
  if (op === "hdel" && w.length === 3) return { op, key, field: a };
  if ((op === "sadd" || op === "srem") && w.length === 3) return { op, key, member: a };
  if (op === "del" && w.length === 2) return { op, key };
  return undefined;
}

// ---- CRC-32 (IEEE): zlib's where Node has it (20.15 and later), else this table, for older Node 20s.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The same CRC in JavaScript: about ten times slower than zlib's on a plant-sized snapshot. */
export function crc32Js(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const zlibCrc32: ((data: Uint8Array) => number) | undefined = (zlib as { crc32?: (d: Uint8Array) => number })
  .crc32;

export function crc32(bytes: Uint8Array): number {
  return zlibCrc32 ? zlibCrc32(bytes) : crc32Js(bytes);
}

/** A record as the three pieces of its line (checksum, JSON, newline), written without joining them. */
function line(record: SnapshotRecord | BatchRecord): Buffer[] {
  const json = Buffer.from(JSON.stringify(record), "utf8");
  const head = Buffer.from(`${crc32(json).toString(16).padStart(8, "0")} `, "ascii");
  return [head, json, Buffer.from("\n")];
}

function byteLength(parts: readonly Buffer[]): number {
  return parts.reduce((n, p) => n + p.length, 0);
}

/** Write every byte of `parts` at the end of `fd` (a short write is finished from where it stopped). */
function writeAll(fd: number, parts: Buffer[]): void {
  const total = byteLength(parts);
  let done = fs.writevSync(fd, parts);
  if (done >= total) return;
  const all = Buffer.concat(parts);
  while (done < total) done += fs.writeSync(fd, all, done, total - done);
}

/** One line's record, or undefined when its checksum or JSON is wrong. */
function readLine(text: Buffer): unknown {
  if (text.length < 10 || text[8] !== 0x20) return undefined;
  const crc = Number.parseInt(text.subarray(0, 8).toString("ascii"), 16);
  const json = text.subarray(9);
  if (!Number.isFinite(crc) || crc32(json) !== crc) return undefined;
  try {
    return JSON.parse(json.toString("utf8")) as unknown;
  } catch {
    // A checksum that matches text that is not JSON: a torn line all the same, which the caller drops.
    return undefined;
  }
}

/** The file name of a namespace's journal: `dc:` → `datacoll-dc.journal`. */
export function journalFileName(namespace: string): string {
  return `datacoll-${namespace.replace(/:$/, "")}.journal`;
}

function corrupt(file: string, why: string): DataCollError {
  return new DataCollError(
    "store-corrupt",
    `the embedded store file ${path.basename(file)} is damaged (${why}); restore it from a backup or move it away to start empty`,
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Replay a journal's bytes into the state they describe; refuses damage before the last line. */
export function replay(file: string, bytes: Buffer, namespace: string): JournalState {
  const hashes = new Map<string, Map<string, string>>();
  const sets = new Map<string, Set<string>>();
  let rev = 0;
  let start = 0;
  let lineNo = 0;
  let torn: number | undefined;
  while (start < bytes.length) {
    const end = bytes.indexOf(0x0a, start);
    const text = bytes.subarray(start, end < 0 ? bytes.length : end);
    start = end < 0 ? bytes.length : end + 1;
    lineNo++;
    const rec = end < 0 ? undefined : readLine(text);
    if (rec === undefined) {
      // A crash mid-append leaves a torn last line; anything after it means damage, not a crash.
      torn ??= lineNo;
      continue;
    }
    if (torn !== undefined) throw corrupt(file, `line ${torn} is unreadable but later lines are not`);
    if (!isRecord(rec)) throw corrupt(file, `line ${lineNo} is not a record`);
    if (lineNo === 1) {
      if (rec.t !== "snapshot" || rec.v !== JOURNAL_VERSION)
        throw corrupt(file, `it does not start with a version ${JOURNAL_VERSION} snapshot`);
      if (rec.namespace !== namespace)
        throw corrupt(file, `it holds namespace ${String(rec.namespace)}, not ${namespace}`);
      rev = typeof rec.rev === "number" ? rec.rev : 0;
      for (const [k, fields] of Object.entries(isRecord(rec.hashes) ? rec.hashes : {}))
        if (isRecord(fields))
          hashes.set(
            k,
            new Map(Object.entries(fields).filter((e): e is [string, string] => typeof e[1] === "string")),
          );
      for (const [k, members] of Object.entries(isRecord(rec.sets) ? rec.sets : {}))
        if (Array.isArray(members))
          sets.set(k, new Set(members.filter((m): m is string => typeof m === "string")));
      continue;
    }
    if (rec.t !== "batch" || !Array.isArray(rec.ops)) throw corrupt(file, `line ${lineNo} is not a batch`);
    const ops = (rec.ops as unknown[]).map(fromWire);
    // Checked whole before any is applied: a batch is all or nothing here too.
    if (ops.some((op) => op === undefined)) throw corrupt(file, `line ${lineNo} holds an unknown write`);
    for (const op of ops as RegistryOp[]) applyOp(hashes, sets, op);
    if (typeof rec.rev === "number") rev = rec.rev;
  }
  if (lineNo > 0 && torn === 1) throw corrupt(file, "its snapshot line is unreadable");
  return { rev, hashes, sets };
}

/** One write on plain maps: the same semantics as the memory keyspace (an emptied key disappears). */
export function applyOp(
  hashes: Map<string, Map<string, string>>,
  sets: Map<string, Set<string>>,
  op: RegistryOp,
): void {
  switch (op.op) {
    case "hset": {
      let h = hashes.get(op.key);
      if (!h) hashes.set(op.key, (h = new Map()));
      h.set(op.field, op.value);
      return;
    }
    case "hdel": {
      const h = hashes.get(op.key);
      h?.delete(op.field);
      if (h?.size === 0) hashes.delete(op.key);
      return;
    }
    case "sadd": {
      let s = sets.get(op.key);
      if (!s) sets.set(op.key, (s = new Set()));
      s.add(op.member);
      return;
    }
    case "srem": {
      const s = sets.get(op.key);
      s?.delete(op.member);
      if (s?.size === 0) sets.delete(op.key);
      return;
    }
    case "del":
      hashes.delete(op.key);
      sets.delete(op.key);
      return;
  }
}

// ---- the lock file

interface LockOwner {
  readonly pid: number;
  readonly host: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readOwner(lockFile: string): LockOwner | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(lockFile, "utf8")) as unknown;
    if (isRecord(v) && typeof v.pid === "number" && typeof v.host === "string")
      return { pid: v.pid, host: v.host };
  } catch {
    // Unreadable or half-written (a crash while taking the lock): nobody provably holds it.
  }
  return undefined;
}

/**
 * Take the lock file, or say who holds it. A lock left by a process that is gone (killed) is taken over;
 * so is one naming this very process id, since this process holds no lock it does not know of — after a
 * restart in a container, Node-RED often gets the pid its killed predecessor had.
 */
/** Lock files this process holds: a lock naming our pid is stale only when it is not one of these. */
const held = new Set<string>();

function takeLock(lockFile: string, journal: string): void {
  const me: LockOwner = { pid: process.pid, host: os.hostname() };
  if (held.has(lockFile)) {
    throw new DataCollError(
      "store-locked",
      `the embedded store file ${path.basename(journal)} is already open in this process`,
    );
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockFile, JSON.stringify({ ...me, since: new Date().toISOString() }), { flag: "wx" });
      held.add(lockFile);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = readOwner(lockFile);
    if (owner && owner.host !== me.host) {
      throw new DataCollError(
        "store-locked",
        `the embedded store file ${path.basename(journal)} is in use by process ${owner.pid} on host ${owner.host}; one Node-RED instance per user directory (use Redis to share a plant between instances), or delete ${path.basename(lockFile)} if that host no longer runs it`,
      );
    }
    if (owner && owner.pid !== me.pid && alive(owner.pid)) {
      throw new DataCollError(
        "store-locked",
        `the embedded store file ${path.basename(journal)} is in use by another Node-RED process (pid ${owner.pid}) on this user directory; stop it, or use Redis to share a plant between instances`,
      );
    }
    fs.rmSync(lockFile, { force: true });
  }
  throw new DataCollError("store-locked", `could not take the lock ${path.basename(lockFile)}`);
}

// ---- the journal

/**
 * Compact once the batches since the snapshot outweigh it and this many bytes. Every start compacts
 * anyway; while running, a compaction writes the whole registry in one go (about half a second for
 * 100,000 points), so it waits until the journal is worth it rather than following each big import.
 */
export const COMPACT_MIN_BYTES = 64 << 20;

export class Journal {
  private fd: number | undefined;
  private snapshotBytes = 0;
  private tailBytes = 0;
  /** Set when a failed write may have left part of a line behind: nothing more is appended. */
  private broken: DataCollError | undefined;

  private constructor(
    readonly file: string,
    readonly namespace: string,
    private readonly lockFile: string,
    private readonly compactMinBytes: number,
  ) {}

  /**
   * Open (or create) the journal of `namespace` in `dir`: take the lock, replay the file, and compact it
   * into a fresh snapshot (which also drops a torn last line). Throws a DataCollError when the lock is
   * held or the file is damaged.
   */
  static open(
    dir: string,
    namespace: string,
    compactMinBytes = COMPACT_MIN_BYTES,
  ): { journal: Journal; state: JournalState } {
    const file = Journal.pathFor(dir, namespace);
    const lockFile = `${file}.lock`;
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      takeLock(lockFile, file);
    } catch (err) {
      if (err instanceof DataCollError) throw err;
      throw new DataCollError(
        "store-io",
        `the embedded store cannot use its directory: ${errorMessage(err)}`,
      );
    }
    const j = new Journal(file, namespace, lockFile, compactMinBytes);
    try {
      fs.rmSync(`${file}.tmp`, { force: true });
      const bytes = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
      const state =
        bytes.length === 0 ? { rev: 0, hashes: new Map(), sets: new Map() } : replay(file, bytes, namespace);
      j.compact(state);
      return { journal: j, state };
    } catch (err) {
      j.close();
      if (err instanceof DataCollError) throw err;
      throw new DataCollError(
        "store-io",
        `the embedded store cannot read ${path.basename(file)}: ${errorMessage(err)}`,
      );
    }
  }

  /** The journal's path, through symbolic links, so two spellings of one directory name one file. */
  static pathFor(dir: string, namespace: string): string {
    let real = path.resolve(dir);
    try {
      real = fs.realpathSync(real);
    } catch {
      // Not there yet: open() creates it.
    }
    return path.join(real, journalFileName(namespace));
  }

  /**
   * Append one batch and flush it to the disk. Throws (and writes nothing the next open would read) when
   * the disk refuses; the caller must then leave its memory unchanged.
   */
  append(ops: readonly RegistryOp[], rev?: number): void {
    if (this.broken) throw this.broken;
    const fd = this.fd;
    if (fd === undefined) throw new DataCollError("closed", "the embedded store file is closed");
    const wire = ops.map(toWire);
    const parts = line(rev === undefined ? { t: "batch", ops: wire } : { t: "batch", rev, ops: wire });
    const before = this.snapshotBytes + this.tailBytes;
    try {
      writeAll(fd, parts);
      fs.fdatasyncSync(fd);
    } catch (err) {
      const why = new DataCollError(
        "store-write",
        `the embedded store could not write ${path.basename(this.file)}: ${errorMessage(err)}`,
      );
      try {
        fs.ftruncateSync(fd, before);
      } catch {
        this.broken = new DataCollError(
          "store-write",
          `the embedded store file ${path.basename(this.file)} could not be repaired after a failed write; restart Node-RED`,
        );
      }
      throw why;
    }
    this.tailBytes += byteLength(parts);
  }

  /** Whether the batches since the snapshot have grown enough to be worth a compaction. */
  get wantsCompaction(): boolean {
    return this.tailBytes > Math.max(this.compactMinBytes, this.snapshotBytes);
  }

  /** Replace the file by one snapshot of `state`: written aside, flushed, renamed over, directory flushed. */
  compact(state: JournalState): void {
    if (this.broken) throw this.broken;
    const record: SnapshotRecord = {
      t: "snapshot",
      v: JOURNAL_VERSION,
      namespace: this.namespace,
      rev: state.rev,
      hashes: Object.fromEntries([...state.hashes].map(([k, h]) => [k, Object.fromEntries(h)])),
      sets: Object.fromEntries([...state.sets].map(([k, s]) => [k, [...s]])),
    };
    const parts = line(record);
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, "w");
    try {
      writeAll(fd, parts);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    syncDir(path.dirname(this.file));
    // The old descriptor now names the replaced file: appends through it would be lost.
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    try {
      this.fd = fs.openSync(this.file, "a");
    } catch (err) {
      this.broken = new DataCollError(
        "store-write",
        `the embedded store could not reopen ${path.basename(this.file)} after compacting it: ${errorMessage(err)}`,
      );
      throw this.broken;
    }
    this.snapshotBytes = byteLength(parts);
    this.tailBytes = 0;
  }

  /** Close the file and give the lock back. */
  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
    if (held.delete(this.lockFile)) fs.rmSync(this.lockFile, { force: true });
  }
}

/** Flush a directory entry (the rename) to the disk; some platforms (Windows) cannot open a directory. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Best effort where the platform does not allow it; on Linux and macOS it succeeds.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
