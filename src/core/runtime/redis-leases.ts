/**
 * Leases in Redis for LeaseKeeper (see leases.ts) and SingleLease (single-lease.ts). Keys, documented in
 * docs/redis-keys.md:
 * - `<ns>lease:<kind>:<id>` string, the owner's instance id, PX = lease TTL; kind `device` for the
 *   devices an instance polls, `check` for the check node that is the active one;
 * - `<ns>instances` sorted set, member = instance id, score = heartbeat expiry (epoch ms).
 */
import type { Redis } from "ioredis";
import type { LeaseBackend } from "./leases";

// Renew only a lease we hold: compare, then extend (atomic in one script).
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
// Release only a lease we hold.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export class RedisLeaseBackend implements LeaseBackend {
  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
    private readonly instanceId: string,
    private readonly now: () => number = Date.now,
    private readonly kind: "device" | "check" = "device",
  ) {}

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

  /** The instance holding each device's lease, or null (for status and tests). */
  async owners(deviceIds: readonly string[]): Promise<(string | null)[]> {
    if (deviceIds.length === 0) return [];
    return this.redis.mget(deviceIds.map((id) => this.leaseKey(id)));
  }
}
