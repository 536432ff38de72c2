/**
 * Device ownership across instances (docs/architecture.md §7): each registry device is polled by one live
 * instance, chosen through leases in Redis.
 *
 * - A lease is a key `<ns>lease:device:<id>` holding the owner's instance id with a TTL (default 10 s),
 *   taken with SET NX PX and renewed every third of the TTL by a compare-and-expire script, so only the
 *   owner can renew or release it.
 * - The owner stops polling a device at the local deadline `time the renewal was sent + TTL - margin`.
 *   Redis starts the TTL when it processes the command, which is after the send, so the owner always
 *   stops before the key can expire and another instance can take it: never two pollers at once, even
 *   when the owner loses Redis (it simply cannot renew, and stops at its deadline). A timer of its own
 *   fires at the deadline, apart from the lease rounds: a round stuck on a command Redis does not answer
 *   (a stalled or paused server, a failover) must not hold the stop back (docs/scale-out.md, "Lease
 *   deadlines"). An answer that arrives after the deadline it would extend counts for nothing.
 * - Live instances announce themselves in a sorted set scored by their heartbeat expiry. Each instance
 *   holds at most its fair share, ceil(devices / live instances): a newcomer takes free devices, and
 *   instances above their share hand extras back (stop first, then release), so balance returns after
 *   a restart. A dead instance's leases expire and the others take its devices within one TTL plus one
 *   renewal period.
 * - Replication is asynchronous, so a Redis that comes back (a restart, a Sentinel failover) can lack a
 *   lease written just before. The holder, whose local deadline has not passed, takes its own lease
 *   back when the renewal finds the key gone; the others take no lease they did not hold for one TTL
 *   after their connection came back (or first came up, for an instance started while Redis was away),
 *   by which time every holder of a lost key has either stopped at its deadline or taken it back
 *   (docs/scale-out.md, "Failover").
 */
import type { Clock, TimerHandle } from "../../transport/connection";

export interface LeaseBackend {
  /** Register this instance as alive until now + ttl; answers how many instances are alive. */
  heartbeat(ttlMs: number): Promise<number>;
  /** Take each free lease for this instance; answers which were taken. */
  acquire(deviceIds: readonly string[], ttlMs: number): Promise<boolean[]>;
  /** Extend leases this instance holds; false where it no longer holds one. */
  renew(deviceIds: readonly string[], ttlMs: number): Promise<boolean[]>;
  /** Give leases back (only those this instance holds) and, with `leaving`, its heartbeat too. */
  release(deviceIds: readonly string[], leaving: boolean): Promise<void>;
  /**
   * Which of these leases nobody holds right now: a hint that lets a round try only free leases (acquire
   * still decides). Without it every lease this instance lacks is tried.
   */
  free?(deviceIds: readonly string[]): Promise<boolean[]>;
  /**
   * When the backend's connection last came back after it was lost, or first came up after failed
   * attempts (undefined: up at the first attempt and never lost). Redis may have come back without the
   * leases written just before (a restart without persistence, a failover to a replica that had not
   * received them), so for one TTL after that this instance takes no lease it did not hold: every holder
   * of a lost key stops at its local deadline before then, or takes its own lease back first.
   */
  reconnectedAt?(): number | undefined;
}

export interface LeaseEvents {
  /** This instance may poll the device from now on. */
  gained(deviceId: string): void;
  /** This instance must stop polling the device now (it lost or is handing back the lease). */
  lost(deviceId: string, reason: "expired" | "taken" | "rebalance" | "removed" | "closing"): void;
}

export interface LeaseOptions {
  readonly ttlMs: number;
  /** How long before the local deadline polling stops, for clock-rate differences. Default ttl / 10. */
  readonly marginMs?: number;
  /** Picks which free leases to try, so instances racing for the same free devices mostly differ. */
  readonly random?: () => number;
}

export const DEFAULT_LEASE_MS = 10_000;

export class LeaseKeeper {
  private wanted = new Set<string>();
  /** Held device → local deadline after which it must not be polled. */
  private readonly held = new Map<string, number>();
  private timer: TimerHandle | undefined;
  /** Fires at the earliest local deadline, whatever the lease round is waiting for. */
  private deadlineTimer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private lastError: string | undefined;
  private readonly ttl: number;
  private readonly margin: number;
  private readonly random: () => number;

  constructor(
    private readonly clock: Clock,
    private readonly backend: LeaseBackend,
    private readonly events: LeaseEvents,
    opts: LeaseOptions = { ttlMs: DEFAULT_LEASE_MS },
  ) {
    this.ttl = opts.ttlMs;
    this.margin = opts.marginMs ?? Math.floor(opts.ttlMs / 10);
    this.random = opts.random ?? Math.random;
  }

  /** Devices this instance could poll; ones it holds but no longer wants are stopped and released. */
  setDevices(deviceIds: Iterable<string>): void {
    this.wanted = new Set(deviceIds);
    const gone = [...this.held.keys()].filter((id) => !this.wanted.has(id));
    for (const id of gone) {
      this.held.delete(id);
      this.events.lost(id, "removed");
    }
    if (gone.length > 0) void this.backend.release(gone, false).catch((err: unknown) => this.noteError(err));
    this.armDeadline();
    this.schedule(0);
  }

  holds(deviceId: string): boolean {
    return this.held.has(deviceId);
  }

  get heldCount(): number {
    return this.held.size;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  /** Run one round now (renew, expire, rebalance); the timer does this every third of the TTL. */
  round(): Promise<void> {
    this.running ??= this.doRound().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stop polling everything, hand every lease back at once and stop the timer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    if (this.deadlineTimer !== undefined) this.clock.clearTimer(this.deadlineTimer);
    this.deadlineTimer = undefined;
    await this.running;
    const ids = [...this.held.keys()];
    this.held.clear();
    for (const id of ids) this.events.lost(id, "closing");
    try {
      await this.backend.release(ids, true);
    } catch (err) {
      // Redis is away: the leases expire on their own within one TTL.
      this.noteError(err);
    }
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      void this.round().then(() => this.schedule(this.nextDelay()));
    }, ms);
  }

  /** A third of the TTL, or sooner when a held lease's local deadline comes first. */
  private nextDelay(): number {
    let delay = Math.floor(this.ttl / 3);
    const now = this.clock.now();
    for (const deadline of this.held.values()) delay = Math.min(delay, Math.max(0, deadline - now));
    return delay;
  }

  private expireLocally(now: number): void {
    for (const [id, deadline] of this.held) {
      if (now >= deadline) {
        this.held.delete(id);
        this.events.lost(id, "expired");
      }
    }
  }

  /** (Re)arm the deadline timer for the earliest held deadline; none while nothing is held. */
  private armDeadline(): void {
    if (this.deadlineTimer !== undefined) this.clock.clearTimer(this.deadlineTimer);
    this.deadlineTimer = undefined;
    if (this.closed || this.held.size === 0) return;
    const first = Math.min(...this.held.values());
    this.deadlineTimer = this.clock.setTimer(
      () => {
        this.deadlineTimer = undefined;
        this.expireLocally(this.clock.now());
        this.armDeadline();
      },
      Math.max(0, first - this.clock.now()),
    );
  }

  private async doRound(): Promise<void> {
    if (this.closed) return;
    const sent = this.clock.now();
    const deadline = sent + this.ttl - this.margin;
    this.expireLocally(sent);
    try {
      // While it may take no lease, this instance does not announce itself either: counted live, it
      // would make the others hand back devices it cannot take yet.
      const quiet = this.quiet(sent);
      const live = quiet ? 1 : Math.max(1, await this.backend.heartbeat(this.ttl));
      const heldIds = [...this.held.keys()];
      if (heldIds.length > 0) {
        const renewed = await this.backend.renew(heldIds, this.ttl);
        // A key gone while its holder's deadline has not passed was lost by Redis, not expired: take it back.
        const gone = heldIds.filter((id, i) => !renewed[i] && this.held.has(id));
        if (gone.length > 0) {
          const back = await this.backend.acquire(gone, this.ttl);
          gone.forEach((id, i) => (renewed[heldIds.indexOf(id)] = back[i] === true));
        }
        const late = this.clock.now() >= deadline;
        heldIds.forEach((id, i) => {
          if (!this.held.has(id)) return; // stopped at its deadline while the answer was on its way
          if (renewed[i] && !late) this.held.set(id, deadline);
          else {
            this.held.delete(id);
            this.events.lost(id, renewed[i] ? "expired" : "taken");
          }
        });
        this.armDeadline();
      }
      if (this.closed) return;
      const share = Math.ceil(this.wanted.size / live);
      // Asked again now: a round begun before the connection came back had its commands queued until it
      // was ready, and the quiet period that began meanwhile holds for this round too.
      const mayTake = !quiet && !this.quiet(this.clock.now());
      if (this.held.size > share) {
        const extra = [...this.held.keys()].slice(share);
        for (const id of extra) {
          this.held.delete(id);
          this.events.lost(id, "rebalance");
        }
        await this.backend.release(extra, false);
      } else if (this.held.size < share && mayTake) {
        const want = share - this.held.size;
        let tryIds = [...this.wanted].filter((id) => !this.held.has(id));
        if (this.backend.free && tryIds.length > want) {
          // Try only leases that are free, picked at random. Trying a fixed slice of the list instead
          // (as this once did) can miss every free lease round after round when others hold the slice:
          // with 30 devices on three instances, five devices stayed unpolled for good.
          const free = await this.backend.free(tryIds);
          tryIds = pick(
            tryIds.filter((_, i) => free[i]),
            want,
            this.random,
          );
        }
        const taken = tryIds.length > 0 ? await this.backend.acquire(tryIds, this.ttl) : [];
        let gained = 0;
        // A lease whose answer came after its deadline would be polled past it: handed back at once.
        const late = this.clock.now() >= deadline;
        tryIds.forEach((id, i) => {
          if (!taken[i]) return;
          if (late || gained >= want || this.closed || !this.wanted.has(id)) {
            void this.backend.release([id], false).catch((err: unknown) => this.noteError(err));
            return;
          }
          gained++;
          this.held.set(id, deadline);
          this.events.gained(id);
        });
        this.armDeadline();
      }
      this.lastError = undefined;
    } catch (err) {
      // Without Redis nothing is renewed; held devices stop at their local deadlines (armDeadline).
      this.noteError(err);
    }
  }

  /** Within one TTL of the backend's connection coming back (see LeaseBackend.reconnectedAt). */
  private quiet(now: number): boolean {
    const back = this.backend.reconnectedAt?.();
    return back !== undefined && now < back + this.ttl;
  }

  private noteError(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
  }
}

/** `n` of `ids` chosen at random (partial Fisher-Yates). */
function pick(ids: string[], n: number, random: () => number): string[] {
  const k = Math.min(n, ids.length);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (ids.length - i));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  return ids.slice(0, k);
}

/** One instance, no Redis: every device is this instance's. */
export class LocalLeaseBackend implements LeaseBackend {
  async heartbeat(): Promise<number> {
    return 1;
  }
  async acquire(deviceIds: readonly string[]): Promise<boolean[]> {
    return deviceIds.map(() => true);
  }
  async renew(deviceIds: readonly string[]): Promise<boolean[]> {
    return deviceIds.map(() => true);
  }
  async release(): Promise<void> {}
}
