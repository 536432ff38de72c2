/**
 * One lease that at most one instance holds at a time: the active/standby switch for work that must be
 * done once across the instances sharing a namespace (a check node's alarms). It uses the device leases'
 * keys and scripts (`<ns>lease:<kind>:<id>`, taken `SET NX PX`, renewed and released only by the holder)
 * and their rule for when to stop: the holder gives up at its local deadline, the time it sent the last
 * successful renewal + TTL − TTL/10, which comes before Redis can expire the key, so two instances never
 * both believe they hold it. A holder that dies is replaced within TTL + TTL/3. The deadline has a timer
 * of its own, so a round stuck on a command Redis does not answer (a stalled server, a failover) does not
 * hold the stop back; a renewal answered after the deadline it would extend counts for nothing.
 *
 * With `holdThroughOutage` the holder keeps the role while it cannot reach Redis at all (nobody who can
 * reach it has a reason to think otherwise before the key expires, and a lone instance with Redis down
 * should go on working) and gives it up only when Redis answers that someone else holds it; a key that
 * vanished meanwhile (Redis restarted empty) is taken again in the same round.
 *
 * With `patienceMs` a standby takes a free lease only once it has seen it free for that long; one that
 * has never seen another instance hold it (it just started) waits a TTL longer, so a long-running standby,
 * which has seen the samples, takes over before a fresh node that has not — except that a node alone
 * (no other instance's heartbeat is live) takes a free lease at its first round. A Redis restart longer
 * than the TTL frees the key while the holder still works; without patience whichever instance reconnects
 * first would take it, and the holder's last unwritten changes (what it saw during the outage) would be
 * lost. With patience ≥ TTL the holder, which tries every third of the TTL, takes it back first —
 * provided its connection is back soon after Redis is: run the backend on a connection that reconnects on
 * `leaseReconnectDelay` (redis-leases.ts).
 *
 * With `mayTake` a standby looks at the lease only in rounds where it says yes (the check node: while its
 * store hears every other instance's samples), and its patience starts again after a round where it said
 * no; a round passed over does not count as the first round either.
 */
import type { Clock, TimerHandle } from "../../transport/connection";
import type { LeaseBackend } from "./leases";

export type SingleLeaseBackend = Pick<LeaseBackend, "acquire" | "renew" | "release" | "free"> & {
  /** Whether another instance is alive (its heartbeat); without it an instance counts as alone. */
  othersAlive?(): Promise<boolean>;
};

export class SingleLease {
  /** Local deadline while held; undefined while not held. */
  private deadline: number | undefined;
  private timer: TimerHandle | undefined;
  private deadlineTimer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private lastError: string | undefined;
  private readonly margin: number;
  /** When a standby first saw the lease free (and free at every round since); undefined otherwise. */
  private freeSince: number | undefined;
  private rounds = 0;
  private seenTakenAt: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly backend: SingleLeaseBackend,
    private readonly id: string,
    private readonly ttl: number,
    /** Called when this instance starts or stops holding the lease. */
    private readonly onChange: (held: boolean) => void,
    private readonly opts: {
      readonly holdThroughOutage?: boolean;
      readonly patienceMs?: number;
      /**
       * Asked before each standby round: while it says no, the round is passed over and a lease seen
       * free before counts for nothing — the standby waits its patience again once it says yes.
       */
      readonly mayTake?: () => boolean;
    } = {},
  ) {
    this.margin = Math.floor(ttl / 10);
  }

  /** When a round last found another instance holding the lease; undefined if none ever did. */
  get lastSeenTaken(): number | undefined {
    return this.seenTakenAt;
  }

  get held(): boolean {
    return this.deadline !== undefined;
  }

  /** The last failed round's error (Redis away); undefined once a round succeeds. */
  get error(): string | undefined {
    return this.lastError;
  }

  /** Try at once, then every third of the TTL (sooner when the local deadline comes first). */
  start(): void {
    this.schedule(0);
  }

  /** Stop, and hand the lease back if held so another instance takes over at its next round. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    if (this.deadlineTimer !== undefined) this.clock.clearTimer(this.deadlineTimer);
    this.deadlineTimer = undefined;
    await this.running;
    if (!this.held) return;
    this.lose();
    try {
      await this.backend.release([this.id], false);
    } catch {
      // Redis is away: the key expires on its own within one TTL.
    }
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.running = this.round().finally(() => {
        this.running = undefined;
        const now = this.clock.now();
        const third = Math.floor(this.ttl / 3);
        const early = this.deadline !== undefined && this.opts.holdThroughOutage !== true;
        this.schedule(early ? Math.min(third, Math.max(0, (this.deadline ?? now) - now)) : third);
      });
    }, ms);
  }

  private lose(): void {
    this.setDeadline(undefined);
    this.onChange(false);
  }

  /** Hold until `deadline` (undefined: not held); without holdThroughOutage a timer stops the hold there. */
  private setDeadline(deadline: number | undefined): void {
    this.deadline = deadline;
    if (this.deadlineTimer !== undefined) this.clock.clearTimer(this.deadlineTimer);
    this.deadlineTimer = undefined;
    if (deadline === undefined || this.opts.holdThroughOutage === true || this.closed) return;
    this.deadlineTimer = this.clock.setTimer(
      () => {
        this.deadlineTimer = undefined;
        if (this.deadline !== undefined) this.lose();
      },
      Math.max(0, deadline - this.clock.now()),
    );
  }

  private async round(): Promise<void> {
    const sent = this.clock.now();
    const hold = this.opts.holdThroughOutage === true;
    if (this.deadline !== undefined && sent >= this.deadline && !hold) this.lose();
    try {
      if (this.deadline !== undefined) {
        let [renewed] = await this.backend.renew([this.id], this.ttl);
        if (this.deadline === undefined) return; // expired locally while the answer was on its way
        if (!renewed && hold) [renewed] = await this.backend.acquire([this.id], this.ttl);
        if (this.deadline === undefined) return;
        const late = !hold && this.clock.now() >= sent + this.ttl - this.margin;
        if (renewed && !late) this.setDeadline(sent + this.ttl - this.margin);
        else this.lose();
      } else {
        if (this.opts.mayTake && !this.opts.mayTake()) {
          this.freeSince = undefined;
          this.lastError = undefined;
          return;
        }
        this.rounds++;
        const patience = this.opts.patienceMs ?? 0;
        if (patience > 0 && this.backend.free) {
          const [free] = await this.backend.free([this.id]);
          this.freeSince = free ? (this.freeSince ?? sent) : undefined;
          if (!free) this.seenTakenAt = sent;
          const alone =
            free &&
            this.rounds === 1 &&
            !(this.backend.othersAlive ? await this.backend.othersAlive() : false);
          const wait = this.seenTakenAt === undefined ? patience + this.ttl : patience;
          if (!alone && (this.freeSince === undefined || sent - this.freeSince < wait)) {
            this.lastError = undefined;
            return;
          }
        }
        this.freeSince = undefined;
        const [taken] = await this.backend.acquire([this.id], this.ttl);
        if (!taken) this.seenTakenAt = sent;
        if (taken && this.closed) await this.backend.release([this.id], false);
        else if (taken && this.clock.now() < sent + this.ttl - this.margin) {
          this.setDeadline(sent + this.ttl - this.margin);
          this.onChange(true);
        }
      }
      this.lastError = undefined;
    } catch (err) {
      // Nothing renewed: a holder stops at its local deadline (checked at the next round).
      this.freeSince = undefined;
      this.lastError = err instanceof Error ? err.message : String(err);
    }
  }
}
