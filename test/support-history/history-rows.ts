/**
 * History rows a test inserts itself and the buckets it expects from them, computed here without SQL, so
 * a history reader (the query module, the REST route, the datacoll-history node) is checked against
 * values that do not come from the code under test.
 */
import type mysql from "mysql2/promise";
import type { AlarmJournalRow, HistoryBucket } from "../../src/core/history/query";
import { sqlTime } from "../../src/core/history/rows";

export interface Inserted {
  key: string;
  ts: number;
  value: number | null;
  text: string | null;
  quality: number;
}

/** A small deterministic generator, so a failure can be run again with the same rows. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Insert `rows` into the history table `table` (made by historyTableDdl) over `admin`, in batches. */
export async function insertHistoryRows(
  admin: mysql.Connection,
  table: string,
  rows: readonly Inserted[],
): Promise<void> {
  const values = rows.map((x) => {
    const [d, t, i] = x.key.split(":");
    return [x.key, d, t, i, sqlTime(x.ts), x.value, x.text, x.quality, "poll"];
  });
  for (let i = 0; i < values.length; i += 1000)
    await admin.query(
      `INSERT INTO ${table} (point_key, device_id, term_id, item_id, ts, value, value_text, quality, cause) VALUES ?`,
      [values.slice(i, i + 1000)],
    );
}

/** Insert journal rows into the alarms table `table` (made by alarmsTableDdl) as a reader answers them. */
export async function insertAlarmRows(
  admin: mysql.Connection,
  table: string,
  rows: readonly AlarmJournalRow[],
): Promise<void> {
  await admin.query(
    `INSERT INTO ${table} (point_key, device_id, term_id, item_id, \`condition\`, state, previous, active, ts, severity, text, value, value_text, ack_by) VALUES ?`,
    [
      rows.map((j) => {
        const [d, t, i] = j.key.split(":");
        return [
          j.key,
          d,
          t,
          i,
          j.condition,
          j.state,
          j.previous,
          j.active ? 1 : 0,
          sqlTime(j.ts),
          j.severity,
          j.text,
          j.value,
          null,
          j.ackBy,
        ];
      }),
    ],
  );
}

/** The buckets a reader expects, computed here from the inserted rows without SQL. */
export function expectedBuckets(
  rows: readonly Inserted[],
  key: string,
  from: number,
  to: number,
  step: number,
): HistoryBucket[] {
  const mine = rows.filter((r) => r.key === key && r.ts >= from && r.ts < to).sort((a, b) => a.ts - b.ts);
  const byBucket = new Map<number, Inserted[]>();
  for (const r of mine) {
    const b = Math.floor((r.ts - from) / step);
    const list = byBucket.get(b) ?? [];
    list.push(r);
    byBucket.set(b, list);
  }
  return [...byBucket.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([b, list]) => {
      const nums = list.map((r) => r.value).filter((v): v is number => v !== null);
      const out: HistoryBucket = {
        t: from + b * step,
        count: list.length,
        quality: list.reduce((q, r) => q | r.quality, 0),
      };
      if (nums.length > 0) {
        out.min = Math.min(...nums);
        out.max = Math.max(...nums);
        out.avg = nums.reduce((s, v) => s + v, 0) / nums.length;
      }
      const first = list[0].value;
      const last = list[list.length - 1].value;
      if (first !== null) out.first = first;
      if (last !== null) out.last = last;
      return out;
    });
}
