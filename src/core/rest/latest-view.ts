/**
 * The latest sample of every point, kept up to date from the manager's bus, for
 * `GET /v1/latest`: reading and re-serialising a thousand samples from the store on every request cost
 * more than Node-RED's whole HTTP path (bench/rest.bench.ts). Samples published here or by other
 * instances arrive on the bus before they are stored, so the view is never behind the store in normal
 * operation; it is read again from the store on any registry change and at least every `maxAgeMs`, so a
 * sample the bus missed (Redis away) is late by that much at most.
 */
import { randomBytes } from "node:crypto";
import { pointJson } from "../bus/envelope";
import type { DataPoint, PointKey } from "../model/datapoint";
import type { Store } from "../store/store";
import { pointIds } from "./point-index";

/**
 * An answer kept for a pattern: its bytes, made once, and an entity tag naming them, so the HTTP layer
 * neither encodes nor hashes 100 KiB on every request and a client that polls with `If-None-Match` gets
 * a 304 while nothing changed.
 */
export interface LatestAnswer {
  readonly bytes: Buffer;
  readonly etag: string;
}

/** Subscribe to every sample; returns the unsubscribe. */
export type SampleFeed = (listener: (points: readonly DataPoint[]) => void) => () => void;

export const LATEST_MAX_AGE_MS = 1000;
const MAX_ANSWERS = 64;

/**
 * A sample and, once an answer needed it, its JSON: the feed only stores (a map write per sample, whatever
 * the plant's data rate), and each sample is serialised at most once, when first asked for.
 */
interface Entry {
  readonly point: DataPoint;
  json?: string;
}

export class LatestView {
  private entries = new Map<PointKey, Entry>();
  private seededAt = Number.NEGATIVE_INFINITY;
  private seeding: Promise<void> | undefined;
  /** Keys the feed updated while a store read was in flight: the feed's value is the newer one. */
  private readonly fresh = new Set<PointKey>();
  private readonly offFeed: () => void;
  private readonly offChange: () => void;
  /** Bumped by every sample batch, store read and registry change: an answer made at a version holds. */
  private version = 0;
  /** The last answer per pattern: dashboards poll the same patterns far more often than data changes. */
  private readonly answers = new Map<string, { readonly version: number; readonly answer: LatestAnswer }>();
  private registryKeys: ReadonlySet<PointKey> = new Set();
  /** Entity tags are this view's own (a random prefix) and never repeat within it (a serial). */
  private readonly tagPrefix = randomBytes(6).toString("hex");
  private answerSerial = 0;

  constructor(
    private readonly store: Store,
    feed: SampleFeed,
    private readonly maxAgeMs = LATEST_MAX_AGE_MS,
  ) {
    this.offFeed = feed((points) => {
      for (const p of points) {
        this.entries.set(p.key, { point: p });
        if (this.seeding) this.fresh.add(p.key);
      }
      this.version++;
    });
    this.offChange = store.registry.onChange(() => {
      this.seededAt = Number.NEGATIVE_INFINITY;
      this.version++;
    });
  }

  /** A JSON array of the latest samples of `keys` that have one, in the order given. */
  async jsonOf(keys: readonly PointKey[], now: number): Promise<string> {
    await this.seeded(now);
    return this.encode(keys);
  }

  /**
   * The answer for `pattern`: reused while nothing changed (no sample, store read or registry change),
   * otherwise made from the keys `keysOf` lists — asked only then, after the view is seeded, so it may
   * use `feedOnlyKeys()`.
   */
  async answer(
    pattern: string,
    now: number,
    keysOf: () => Promise<readonly PointKey[]>,
  ): Promise<LatestAnswer> {
    await this.seeded(now);
    const version = this.version;
    const kept = this.answers.get(pattern);
    if (kept !== undefined && kept.version === version) return kept.answer;
    const answer: LatestAnswer = {
      bytes: Buffer.from(this.encode(await keysOf())),
      etag: `"${this.tagPrefix}-${++this.answerSerial}"`,
    };
    // Bounded: patterns come from clients.
    if (this.answers.size >= MAX_ANSWERS) this.answers.clear();
    this.answers.set(pattern, { version, answer });
    return answer;
  }

  private async seeded(now: number): Promise<void> {
    if (!(now >= this.seededAt && now - this.seededAt < this.maxAgeMs)) await this.seed(now);
  }

  private encode(keys: readonly PointKey[]): string {
    const parts: string[] = [];
    for (const k of keys) {
      const e = this.entries.get(k);
      if (e !== undefined) parts.push((e.json ??= pointJson(e.point)));
    }
    return `[${parts.join(",")}]`;
  }

  private seed(now: number): Promise<void> {
    this.seeding ??= (async () => {
      try {
        this.fresh.clear();
        const keys = (await pointIds(this.store.registry, now)).map((p) => p.key);
        const stored = await this.store.latestMany(keys);
        const next = new Map<PointKey, Entry>();
        for (const p of stored) if (p !== undefined) next.set(p.key, { point: p });
        // Points outside the registry (flow-drawn poll nodes) are known only from the feed: keep them.
        const inRegistry = new Set(keys);
        for (const [k, e] of this.entries) if (!inRegistry.has(k) && !next.has(k)) next.set(k, e);
        this.registryKeys = inRegistry;
        for (const k of this.fresh) {
          const e = this.entries.get(k);
          if (e !== undefined) next.set(k, e);
        }
        this.entries = next;
        this.seededAt = now;
        this.version++;
      } finally {
        this.seeding = undefined;
      }
    })();
    return this.seeding;
  }

  /** Keys with a sample that are not registry points (flow-drawn devices), sorted. */
  feedOnlyKeys(): PointKey[] {
    const out: PointKey[] = [];
    for (const k of this.entries.keys()) if (!this.registryKeys.has(k)) out.push(k);
    return out.sort();
  }

  close(): void {
    this.offFeed();
    this.offChange();
  }
}
