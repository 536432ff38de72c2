/**
 * History rows a test inserts itself and the buckets it expects from them, computed here without SQL, so
 * a history reader (the query module, the REST route, the datacoll-history node) is checked against
 * values that do not come from the code under test.
 */
import type mysql from "mysql2/promise";
import type { AlarmJournalRow } from "../../src/core/history/query";
import { sqlTime } from "../../src/core/history/rows";
import type { Inserted } from "./buckets";

export { expectedBuckets, rng, type Inserted } from "./buckets";

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
