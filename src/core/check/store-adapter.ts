/**
 * The checker's AlarmStateStore over the shared Store (Redis or embedded): one alarm record per point and
 * condition, so the REST alarms endpoint and every instance see what the checker persisted.
 *
 * The Store's alarm record says active/acked; the checker also needs the exact state (shelved cannot be
 * told from active/acked) and when shelving ends, so those travel as two more fields of the same record.
 * A record written by someone else without them is read by active/acked.
 */
import type { AlarmState as StoreAlarm, Store } from "../store/store";
import { alarmId, type AlarmState, type AlarmStateStore, type StoredAlarm } from "./alarm-state";
import { CONDITIONS, type ConditionName } from "./settings";

/** The Store's record as the checker writes it. */
export interface CheckerAlarmRecord extends StoreAlarm {
  readonly state: AlarmState;
  readonly shelvedUntil: number;
  /** The last change's state before it and who made it, when known (StoredAlarm). */
  readonly previous?: AlarmState;
  readonly by?: string;
  /** Made as its check node closed, not known to be reported (StoredAlarm). */
  readonly unreported?: true;
}

const STATES: readonly AlarmState[] = ["normal", "raised", "acked", "cleared-unacked", "shelved"];

function stateOf(a: StoreAlarm): AlarmState {
  const given: unknown = (a as Partial<CheckerAlarmRecord>).state;
  const known = STATES.find((s) => s === given);
  if (known !== undefined) return known;
  if (a.active) return a.acked ? "acked" : "raised";
  return a.acked ? "normal" : "cleared-unacked";
}

export function toStoreRecord(a: StoredAlarm): CheckerAlarmRecord {
  return {
    key: a.key,
    condition: a.condition,
    active: a.active,
    // Only raised and cleared-unacked wait for an operator; shelved ones were dealt with by shelving.
    acked: a.state !== "raised" && a.state !== "cleared-unacked",
    ts: a.since,
    severity: a.severity,
    message: a.text,
    ...(a.value === undefined ? {} : { value: a.value }),
    state: a.state,
    shelvedUntil: a.shelvedUntil,
    ...(a.previous === undefined ? {} : { previous: a.previous }),
    ...(a.by === undefined ? {} : { by: a.by }),
    ...(a.unreported === true ? { unreported: true as const } : {}),
  };
}

/** undefined for a record of a condition the checker does not know (written by something else). */
export function fromStoreRecord(a: StoreAlarm): StoredAlarm | undefined {
  const condition: ConditionName | undefined = CONDITIONS.find((c) => c === a.condition);
  if (condition === undefined) return undefined;
  // The checker's own fields, as another writer may have left them (or not at all).
  const own: { readonly [K in keyof CheckerAlarmRecord]?: unknown } = a;
  const until = own.shelvedUntil;
  const previous = STATES.find((s) => s === own.previous);
  const by = own.by;
  const severity = a.severity ?? 0;
  return {
    key: a.key,
    condition,
    state: stateOf(a),
    active: a.active,
    since: a.ts,
    shelvedUntil: typeof until === "number" && Number.isFinite(until) ? until : 0,
    severity: Number.isFinite(severity) ? severity : 0,
    text: a.message ?? "",
    ...(a.value === undefined ? {} : { value: a.value }),
    ...(previous === undefined ? {} : { previous }),
    ...(typeof by === "string" ? { by } : {}),
    ...(own.unreported === true ? { unreported: true as const } : {}),
  };
}

export function alarmStateStoreOn(
  store: Pick<Store, "alarms" | "putAlarm" | "deleteAlarm">,
): AlarmStateStore {
  return {
    async loadAll() {
      const out: StoredAlarm[] = [];
      for (const a of await store.alarms()) {
        const s = fromStoreRecord(a);
        if (s !== undefined) out.push(s);
      }
      return out;
    },
    async save(changes) {
      // Only the last change of each alarm matters; different alarms are written side by side.
      const last = new Map<string, StoredAlarm>();
      for (const c of changes) last.set(alarmId(c.key, c.condition), c);
      await Promise.all(
        [...last.values()].map((c) =>
          c.state === "normal" ? store.deleteAlarm(c.key, c.condition) : store.putAlarm(toStoreRecord(c)),
        ),
      );
    },
  };
}
