/**
 * An IEC 104 term at run time: one station (common address) and its items by IOA, with an optional type
 * check and scaling per item, turning the monitor ASDUs the master receives — interrogation answers,
 * spontaneous and periodic data, read answers — into DataPoints. Used by the flow-drawn poll node and by
 * the manager's driver for registry devices, so both map data the same way.
 */
import { parseCsv } from "../csv";
import { rowNumber } from "../runtime/table-cells";
import { DataCollError, errorMessage } from "../errors";
import { pointKey, type DataPoint } from "../model/datapoint";
import { normalizeId } from "../model/fields";
import { exceedsDeadband, type Scaling } from "../model/scaling";
import { sampleCause } from "./samples";
import { TypeId, typeIdName, withoutTimeTag, type Asdu } from "../../protocols/iec104/codec";
import { parseMonitorType } from "./address";

export interface Iec104TermPoint {
  readonly itemId: string;
  readonly ioa: number;
  /** The monitor type (without time tag) the item must arrive as; undefined accepts any. */
  readonly typeId?: number;
  readonly scaling: Scaling;
  readonly deadband: number;
}

/** One row of the editor's item table (or a CSV line): text cells as the user typed them. */
export interface Iec104ItemRow {
  readonly item?: unknown;
  readonly ioa?: unknown;
  readonly type?: unknown;
  readonly coefficient?: unknown;
  readonly base?: unknown;
  readonly deadband?: unknown;
}

export { parseIec104Address, parseMonitorType } from "./address";

/** Validate an item table; errors name the row (1-based) and the field. */
export function parseIec104Items(rows: readonly Iec104ItemRow[]): Iec104TermPoint[] {
  const items = new Set<string>();
  const ioas = new Set<number>();
  return rows.map((r, i) => {
    const row = i + 1;
    let itemId: string;
    let typeId: number | undefined;
    try {
      itemId = normalizeId(r.item, "item");
      typeId = parseMonitorType(r.type);
    } catch (err) {
      const field = err instanceof DataCollError ? err.field : undefined;
      throw new DataCollError("invalid", `row ${row}: ${errorMessage(err)}`, field);
    }
    const ioa = rowNumber(r.ioa, "ioa", Number.NaN, row);
    if (!Number.isInteger(ioa) || ioa < 1 || ioa > 0xffffff) {
      throw new DataCollError("invalid", `row ${row}: ioa must be a whole number from 1 to 16777215`, "ioa");
    }
    if (items.has(itemId))
      throw new DataCollError("invalid", `row ${row}: item ${itemId} appears twice`, "item");
    if (ioas.has(ioa)) throw new DataCollError("invalid", `row ${row}: IOA ${ioa} appears twice`, "ioa");
    items.add(itemId);
    ioas.add(ioa);
    const coefficient = rowNumber(r.coefficient, "coefficient", 1, row);
    if (coefficient === 0)
      throw new DataCollError("invalid", `row ${row}: coefficient must not be 0`, "coefficient");
    const deadband = rowNumber(r.deadband, "deadband", 0, row);
    if (deadband < 0)
      throw new DataCollError("invalid", `row ${row}: deadband must not be negative`, "deadband");
    const scaling = { coefficient, base: rowNumber(r.base, "base", 0, row) };
    return typeId === undefined
      ? { itemId, ioa, scaling, deadband }
      : { itemId, ioa, typeId, scaling, deadband };
  });
}

/** Item rows from CSV with the header `ioa,item[,type,coefficient,base,deadband]` (any column order). */
export function iec104ItemsFromCsv(text: string): Iec104ItemRow[] {
  const table = parseCsv(text);
  const col = (name: string): number => table.header.indexOf(name);
  if (col("item") < 0 || col("ioa") < 0) {
    throw new DataCollError("invalid", "CSV needs a header line with at least: ioa,item", "csv");
  }
  const cell = (cells: readonly string[], name: string): string | undefined =>
    col(name) >= 0 ? cells[col(name)] : undefined;
  return table.rows.map(({ cells }) => ({
    item: cell(cells, "item"),
    ioa: cell(cells, "ioa"),
    type: cell(cells, "type"),
    coefficient: cell(cells, "coefficient"),
    base: cell(cells, "base"),
    deadband: cell(cells, "deadband"),
  }));
}

export interface Iec104TermStats {
  /** Objects mapped to items so far. */
  readonly received: number;
  /** Objects of an item that arrived as another type than the item expects. */
  readonly typeMismatches: number;
  readonly lastError: string | undefined;
}

/** A point with its key made once, not per sample. */
interface KeyedPoint extends Iec104TermPoint {
  readonly key: string;
}

export class Iec104Term {
  private readonly byIoa = new Map<number, KeyedPoint>();
  private readonly latest = new Map<number, DataPoint>();
  private received = 0;
  private typeMismatches = 0;
  private lastError: string | undefined;

  constructor(
    readonly deviceId: string,
    readonly termId: string,
    readonly commonAddress: number,
    points: readonly Iec104TermPoint[],
  ) {
    this.setPoints(points);
  }

  setPoints(points: readonly Iec104TermPoint[]): void {
    this.byIoa.clear();
    for (const p of points)
      this.byIoa.set(p.ioa, { ...p, key: pointKey(this.deviceId, this.termId, p.itemId) });
    for (const ioa of [...this.latest.keys()]) if (!this.byIoa.has(ioa)) this.latest.delete(ioa);
  }

  get size(): number {
    return this.byIoa.size;
  }

  get stats(): Iec104TermStats {
    return { received: this.received, typeMismatches: this.typeMismatches, lastError: this.lastError };
  }

  /** The item bound to an IOA, for reads and command feedback. */
  pointOf(itemId: string): Iec104TermPoint | undefined {
    for (const p of this.byIoa.values()) if (p.itemId === itemId) return p;
    return undefined;
  }

  /** The last DataPoint of every item that has had one. */
  current(): DataPoint[] {
    return [...this.latest.values()];
  }

  /**
   * The link to the station is lost: every value it gave is no longer topical (the NT flag of the
   * quality descriptor: not updated while its source was away), so each item whose last point is not already so is reported again, its last value kept and
   * marked not topical, with the reason — a trend shows where it stopped and a consumer does not take the
   * last value for a current one. The station's next report (the interrogation after the link is back)
   * makes them topical again.
   */
  linkLost(ts: number, reason: string): DataPoint[] {
    const out: DataPoint[] = [];
    for (const [ioa, last] of this.latest) {
      if (last.quality.notTopical) continue;
      const point = this.byIoa.get(ioa);
      if (point === undefined) continue;
      const raw = typeof last.raw === "number" || typeof last.raw === "boolean" ? last.raw : undefined;
      const dp = this.dataPoint(
        point,
        last.value,
        raw,
        { ...last.quality, notTopical: true },
        ts,
        last.cause,
        `link to the station lost: ${reason}`,
      );
      this.latest.set(ioa, dp);
      out.push(dp);
    }
    return out;
  }

  /**
   * The DataPoints in a monitor ASDU for this station's items. Objects of other stations or unmapped IOAs
   * are skipped; periodic data (cause 1) within the item's deadband (when above 0) is left out, every other
   * cause is a report the station chose to make and is passed on.
   */
  accept(asdu: Asdu, receivedAt: number): DataPoint[] {
    if (asdu.commonAddress !== this.commonAddress) return [];
    const out: DataPoint[] = [];
    const plainType = withoutTimeTag(asdu.typeId);
    // One cause per ASDU; the objects are read directly rather than through samplesOf, which would copy
    // each into a Sample first — this loop is the ingest path's hottest.
    const cause = sampleCause(asdu.cot);
    for (const obj of asdu.objects) {
      if (!("quality" in obj)) continue;
      const point = this.byIoa.get(obj.ioa);
      if (point === undefined) continue;
      this.received++;
      const time = obj.time;
      const ts = time !== undefined && !time.invalid ? time.epochMs : receivedAt;
      if (point.typeId !== undefined && !sameType(point.typeId, plainType)) {
        this.typeMismatches++;
        this.lastError = `${point.key}: IOA ${obj.ioa} arrived as ${typeIdName(asdu.typeId)}, expected ${typeIdName(point.typeId)}`;
        const dp = this.dataPoint(point, null, undefined, { invalid: true }, ts, cause, this.lastError);
        this.latest.set(obj.ioa, dp);
        out.push(dp);
        continue;
      }
      const { coefficient, base } = point.scaling;
      const raw = obj.value;
      const value =
        typeof raw === "number" && (coefficient !== 1 || base !== 0) ? raw * coefficient + base : raw;
      // Periodic data is the station's cyclic report: with a deadband, only moves beyond it are passed on.
      const last = cause === "periodic" && point.deadband > 0 ? this.latest.get(obj.ioa) : undefined;
      if (
        last !== undefined &&
        last.value !== null &&
        typeof last.value !== "string" &&
        !exceedsDeadband(last.value, value, point.deadband) &&
        sameQuality(last.quality, obj.quality)
      ) {
        continue;
      }
      const dp = this.dataPoint(point, value, value === raw ? undefined : raw, obj.quality, ts, cause);
      this.latest.set(obj.ioa, dp);
      out.push(dp);
    }
    return out;
  }

  private dataPoint(
    point: KeyedPoint,
    value: DataPoint["value"],
    raw: number | boolean | undefined,
    quality: DataPoint["quality"],
    ts: number,
    cause: DataPoint["cause"],
    error?: string,
  ): DataPoint {
    const { key, itemId } = point;
    const { deviceId, termId } = this;
    // Literals in the order of the Modbus term's, so a point has one shape whichever protocol made it;
    // a scaled point is as common as a plain one and is built directly, not spread from one.
    if (error !== undefined) {
      return raw === undefined
        ? { key, deviceId, termId, itemId, value, ts, quality, cause, error }
        : { key, deviceId, termId, itemId, value, raw, ts, quality, cause, error };
    }
    return raw === undefined
      ? { key, deviceId, termId, itemId, value, ts, quality, cause }
      : { key, deviceId, termId, itemId, value, raw, ts, quality, cause };
  }
}

function sameType(expected: number, got: number): boolean {
  // M_ME_ND_1 is the normalized value without quality: the same item, a leaner encoding.
  return expected === got || (expected === TypeId.M_ME_NA_1 && got === TypeId.M_ME_ND_1);
}

function sameQuality(a: DataPoint["quality"], b: DataPoint["quality"]): boolean {
  return (
    !a.invalid === !b.invalid &&
    !a.notTopical === !b.notTopical &&
    !a.substituted === !b.substituted &&
    !a.blocked === !b.blocked &&
    !a.overflow === !b.overflow
  );
}
