/**
 * Leases in Redis for LeaseKeeper (see leases.ts) and SingleLease (single-lease.ts). Keys, documented in
 * docs/redis-keys.md:
 * - `<ns>lease:<kind>:<id>` string, the owner's instance id, PX = lease TTL; kind `device` for the
 *   devices an instance polls, `check` for the check node that is the active one;
 * - `<ns>instances` sorted set, member = instance id, score = heartbeat expiry (epoch ms).
 */
import type { Redis, RedisOptions } from "ioredis";
import { reconnectDelay } from "../store/redis-store";
import type { LeaseBackend } from "./leases";

/**
 * The reconnect backoff for the Redis connection a patient SingleLease runs on: the store's doubling
 * backoff, but capped at an eighth of the TTL (at most a sixth with the jitter). After a Redis restart the
 * holder must be back, and have taken its lease again at its next round (a third of the TTL later at
 * most), before a standby has seen the key free for its patience (a TTL). On the store's own backoff
 * (capped at 10 s) one instance's connection could come back seconds after the other's, and the standby
 * took the role from a holder that had seen what the standby missed (the 30-minute soak: an extra alarm
 * raise on 4 points).
 */
export function leaseReconnectDelay(
  attempt: number,
  ttlMs: number,
  random: () => number = Math.random,
): number {
  const cap = leaseRetryCap(ttlMs);
  return reconnectDelay(attempt, { baseMs: Math.min(100, cap), maxMs: cap }, random);
}

/**
 * Options for that connection: the backoff above, and a server still loading its data after a restart
 * looked at again as often (ioredis otherwise waits the server's loading estimate, 1–10 s).
 */
export function leaseConnectionOptions(
  ttlMs: number,
): Pick<RedisOptions, "retryStrategy" | "maxLoadingRetryTime"> {
  return {
    retryStrategy: (attempt: number) => leaseReconnectDelay(attempt, ttlMs),
    maxLoadingRetryTime: leaseRetryCap(ttlMs),
  };
}

function leaseRetryCap(ttlMs: number): number {
  return Math.max(20, Math.floor(ttlMs / 8));
}

// Renew only a lease we hold: compare, then extend (atomic in one script).
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
// Release only a lease we hold.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export class RedisLeaseBackend implements LeaseBackend {
  private lost = false;
  private backAt: number | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
    private readonly instanceId: string,
    private readonly now: () => number = Date.now,
    private readonly kind: "device" | "check" = "device",
  ) {
    // A connection that was ready and closed, then ready again: Redis may have lost recent writes. So
    // may the Redis first reached after failed attempts: this instance started while Redis was away (a
    // restart, a failover), and a holder of a lease the new master lacks may still poll until its
    // deadline. Only a first attempt that succeeds trusts the keys as they are.
    const lost = (): void => {
      this.lost = true;
    };
    redis.on("close", lost);
    redis.on("error", lost);
    redis.on("ready", () => {
      if (this.lost) this.backAt = this.now();
      this.lost = false;
    });
  }

  reconnectedAt(): number | undefined {
    return this.backAt;
  }

  leaseKey(id: string): string {
    return `${this.namespace}lease:${this.kind}:${id}`;
  }

  private get instancesKey(): string {
    return `${this.namespace}instances`;
  }

  async heartbeat(ttlMs: number): Promise<number> {
    const now = this.now();
    const res = await this.redis
      .multi()
      .zadd(this.instancesKey, now + ttlMs, this.instanceId)
      .zremrangebyscore(this.instancesKey, "-inf", now)
      .zcard(this.instancesKey)
      .exec();
    const card = res?.[2];
    if (!card || card[0]) throw card?.[0] ?? new Error("heartbeat failed");
    return Number(card[1]);
  }

  async acquire(deviceIds: readonly string[], ttlMs: number): Promise<boolean[]> {
    const p = this.redis.pipeline();
    for (const id of deviceIds) p.set(this.leaseKey(id), this.instanceId, "PX", ttlMs, "NX");
    const res = (await p.exec()) ?? [];
    return deviceIds.map((_, i) => res[i]?.[0] == null && res[i]?.[1] === "OK");
  }

  async renew(deviceIds: readonly string[], ttlMs: number): Promise<boolean[]> {
    const p = this.redis.pipeline();
    for (const id of deviceIds) p.eval(RENEW, 1, this.leaseKey(id), this.instanceId, ttlMs);
    const res = (await p.exec()) ?? [];
    const failed = res.find((r) => r[0]);
    if (failed) throw failed[0];
    return deviceIds.map((_, i) => Number(res[i]?.[1]) === 1);
  }

  async release(deviceIds: readonly string[], leaving: boolean): Promise<void> {
    const p = this.redis.pipeline();
    for (const id of deviceIds) p.eval(RELEASE, 1, this.leaseKey(id), this.instanceId);
    if (leaving) p.zrem(this.instancesKey, this.instanceId);
    await p.exec();
  }

  async free(deviceIds: readonly string[]): Promise<boolean[]> {
    return (await this.owners(deviceIds)).map((o) => o === null);
  }

  /** Whether another instance's heartbeat in `<ns>instances` is still live. */
  async othersAlive(): Promise<boolean> {
    const live = await this.redis.zrangebyscore(this.instancesKey, `(${this.now()}`, "+inf");
    return live.some((id) => id !== this.instanceId);
  }

  /** The instance holding each device's lease, or null (for status and tests). */
  async owners(deviceIds: readonly string[]): Promise<(string | null)[]> {
    if (deviceIds.length === 0) return [];
    return this.redis.mget(deviceIds.map((id) => this.leaseKey(id)));
  }
}
