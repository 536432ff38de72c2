/** A term (terminal): a meter or station behind a device (docs/architecture.md §2). */
import { RecordReader, invalid, type Extra } from "./fields";

export interface Term {
  readonly id: string;
  readonly name: string;
  readonly deviceId: string;
  /** Modbus unit id or IEC 104 common address; the device's protocol rule checks the range. */
  readonly address: number;
  /** Milliseconds between polls; 0 when the device reports by itself (IEC 104 spontaneous data). */
  readonly pollInterval: number;
  readonly extra: Extra;
}

export const DEFAULT_POLL_INTERVAL = 1000;
/** Faster than this a poll would only queue behind the previous one on any real device. */
export const MIN_POLL_INTERVAL = 10;
const DAY = 86_400_000;

export function parseTerm(raw: unknown): Term {
  const r = RecordReader.of(raw, "term");
  const id = r.id("id");
  const name = r.text("name", { max: 200, def: id });
  const deviceId = r.id("deviceId");
  const address = r.number("address", { integer: true, min: 0, max: 65535, def: 1 });
  const pollInterval = r.number("pollInterval", {
    integer: true,
    min: 0,
    max: DAY,
    def: DEFAULT_POLL_INTERVAL,
  });
  if (pollInterval !== 0 && pollInterval < MIN_POLL_INTERVAL) {
    throw invalid(
      "pollInterval",
      `must be 0 (no polling) or at least ${MIN_POLL_INTERVAL} ms, not ${pollInterval}`,
    );
  }
  return { id, name, deviceId, address, pollInterval, extra: r.extra() };
}

export function termRecord(t: Term): Record<string, unknown> {
  const { extra, ...known } = t;
  return { ...extra, ...known };
}
