/**
 * The alarm state machine of one condition on one point, and the store interface that keeps it across
 * restarts.
 *
 *            raise                  ack
 *   normal ─────────▶ raised ─────────────▶ acked
 *     ▲  ▲              │ clear               │ clear
 *     │  │ ack          ▼                     │
 *     │  └────── cleared-unacked ◀── (raise: back to raised)
 *     └───────────────────────────────────────┘
 *
 *   any state ── shelve(until) ──▶ shelved ── until passes / unshelve ──▶ raised (condition present)
 *                                                                       └▶ normal (condition gone)
 *
 * While shelved the condition is still tracked (`active`), so unshelving tells the truth at that moment.
 */
import type { DataPoint, PointKey } from "../model/datapoint";
import type { ConditionName } from "./settings";

export type AlarmState = "normal" | "raised" | "acked" | "cleared-unacked" | "shelved";

/** What the store keeps per point and condition. A record in state `normal` means "forget it". */
export interface StoredAlarm {
  readonly key: PointKey;
  readonly condition: ConditionName;
  readonly state: AlarmState;
  /** Whether the condition itself is present (an acked alarm is active, a cleared-unacked one is not). */
  readonly active: boolean;
  /** Epoch ms of the last state change. */
  readonly since: number;
  /** Epoch ms at which a shelved alarm returns; 0 when not shelved. */
  readonly shelvedUntil: number;
  /** For lists of alarms (REST, editor): the condition's severity, message and the value it was about. */
  readonly severity: number;
  readonly text: string;
  readonly value?: DataPoint["value"];
  /**
   * The last change as it was reported: the state before it and who made it (an acknowledgement, a
   * shelving), so it can be reported again exactly. Absent from records written by earlier versions and
   * by changes made silently.
   */
  readonly previous?: AlarmState;
  readonly by?: string;
  /**
   * The change was made as its check node closed (a redeploy, a stop): its transition went out to nodes
   * closing too and may have reached no one, so the next active checker reports it again (checker.ts
   * `adopt` and CheckerOptions.replayUnreported) and writes the record without this mark.
   */
  readonly unreported?: true;
}

/**
 * Where alarm state lives between restarts. The checker loads everything once when it opens and saves
 * the changes of each batch when asked to flush; `save` must apply the records in order and treat state
 * `normal` as a delete.
 */
export interface AlarmStateStore {
  loadAll(): Promise<readonly StoredAlarm[]>;
  save(changes: readonly StoredAlarm[]): Promise<void>;
}

export function alarmId(key: PointKey, condition: ConditionName): string {
  return `${key}|${condition}`;
}

/** The in-memory store: for tests and for the embedded (single instance) manager. */
export class MemoryAlarmStateStore implements AlarmStateStore {
  private readonly records = new Map<string, StoredAlarm>();

  async loadAll(): Promise<readonly StoredAlarm[]> {
    return [...this.records.values()];
  }

  async save(changes: readonly StoredAlarm[]): Promise<void> {
    for (const c of changes) {
      const id = alarmId(c.key, c.condition);
      if (c.state === "normal") this.records.delete(id);
      else this.records.set(id, c);
    }
  }

  get size(): number {
    return this.records.size;
  }
}
