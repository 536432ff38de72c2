/**
 * A Modbus term at run time: its points (item id → address, scaling, deadband), the read plan made
 * from them, and one poll cycle that turns the replies into DataPoints. Used by the flow-drawn poll node
 * and by the manager for registry devices, so both poll the same way.
 */
import { rowNumber } from "../runtime/table-cells";
import { DataCollError, errorMessage } from "../errors";
import { parseCsv } from "../csv";
import { GOOD, pointKey, type Cause, type DataPoint, type Quality } from "../model/datapoint";
import { normalizeId } from "../model/fields";
import { isBitTable, parsePointAddress, type ModbusPointAddress } from "./point-address";
import {
  performRead,
  planReads,
  pointRaw,
  readFailure,
  type ModbusRequester,
  type PlanOptions,
  type PlannedRead,
} from "./read-plan";
import { scale, type RawValue } from "./values";
import { exceedsDeadband, type EngineeringValue, type Scaling } from "../model/scaling";

export interface ModbusTermPoint {
  readonly itemId: string;
  readonly address: ModbusPointAddress;
  readonly scaling: Scaling;
  readonly deadband: number;
}

/** One row of the editor's item table (or a CSV line): text cells as the user typed them. */
export interface ModbusItemRow {
  readonly item?: unknown;
  readonly address?: unknown;
  readonly coefficient?: unknown;
  readonly base?: unknown;
  readonly deadband?: unknown;
}

/** Validate an item table; errors name the row (1-based) and the field. */
export function parseModbusItems(rows: readonly ModbusItemRow[]): ModbusTermPoint[] {
  const seen = new Set<string>();
  return rows.map((r, i) => {
    const row = i + 1;
    let itemId: string;
    let address: ModbusPointAddress;
    try {
      itemId = normalizeId(r.item, "item");
      if (typeof r.address !== "string")
        throw new DataCollError("invalid", "address must be text", "address");
      address = parsePointAddress(r.address);
    } catch (err) {
      const field = err instanceof DataCollError ? err.field : undefined;
      throw new DataCollError("invalid", `row ${row}: ${errorMessage(err)}`, field);
    }
    if (seen.has(itemId))
      throw new DataCollError("invalid", `row ${row}: item ${itemId} appears twice`, "item");
    seen.add(itemId);
    const coefficient = rowNumber(r.coefficient, "coefficient", 1, row);
    if (coefficient === 0)
      throw new DataCollError("invalid", `row ${row}: coefficient must not be 0`, "coefficient");
    const deadband = rowNumber(r.deadband, "deadband", 0, row);
    if (deadband < 0)
      throw new DataCollError("invalid", `row ${row}: deadband must not be negative`, "deadband");
    return { itemId, address, scaling: { coefficient, base: rowNumber(r.base, "base", 0, row) }, deadband };
  });
}

/** Item rows from CSV with the header `item,address[,coefficient,base,deadband]`. */
export function modbusItemsFromCsv(text: string): ModbusItemRow[] {
  const table = parseCsv(text);
  const col = (name: string): number => table.header.indexOf(name);
  if (col("item") < 0 || col("address") < 0) {
    throw new DataCollError("invalid", "CSV needs a header line with at least: item,address", "csv");
  }
  return table.rows.map(({ cells }) => ({
    item: cells[col("item")],
    address: cells[col("address")],
    coefficient: col("coefficient") >= 0 ? cells[col("coefficient")] : undefined,
    base: col("base") >= 0 ? cells[col("base")] : undefined,
    deadband: col("deadband") >= 0 ? cells[col("deadband")] : undefined,
  }));
}

export interface PollStats {
  readonly cycles: number;
  /** Cycles in which at least one point could not be read. */
  readonly failedCycles: number;
  readonly lastError: string | undefined;
}

/**
 * A point as the term runs it, one object per point for the run's life: what the read plan needs (it
 * is the plan's PlanPoint, so the plan's members point at it), the point key made once, the deadband and
 * what was last reported (updated in place). Separate maps and a plan copy per point cost ~150 bytes per
 * point more (bench/manager.bench.ts, heap_per_point).
 */
interface TermEntry {
  readonly id: string;
  readonly address: ModbusPointAddress;
  readonly scaling: Scaling;
  readonly deadband: number;
  readonly key: string;
  /** Whether anything was reported yet: the first reading always is. */
  reported: boolean;
  value: EngineeringValue | null;
  bad: boolean;
}

export class ModbusTerm {
  private count = 0;
  private plan: readonly PlannedRead<TermEntry>[] = [];
  private entries = new Map<string, TermEntry>();
  private cycles = 0;
  private failedCycles = 0;
  private lastError: string | undefined;

  constructor(
    readonly deviceId: string,
    readonly termId: string,
    readonly unit: number,
    points: readonly ModbusTermPoint[],
    private readonly planOptions: Partial<PlanOptions> = {},
  ) {
    this.setPoints(points);
  }

  /** Replace the points; the read plan is recomputed, the deadband memory kept for items that stay. */
  setPoints(points: readonly ModbusTermPoint[]): void {
    const before = this.entries;
    const entries = new Map<string, TermEntry>();
    for (const p of points) {
      const last = before.get(p.itemId);
      entries.set(p.itemId, {
        id: p.itemId,
        address: p.address,
        scaling: p.scaling,
        deadband: p.deadband,
        // A flat copy: a key made by concatenation is kept as two linked strings, twice the size.
        key:
          last?.key ?? (JSON.parse(JSON.stringify(pointKey(this.deviceId, this.termId, p.itemId))) as string),
        reported: last?.reported ?? false,
        value: last?.value ?? null,
        bad: last?.bad ?? false,
      });
    }
    this.plan = planReads([...entries.values()], this.planOptions);
    this.entries = entries;
    this.count = points.length;
  }

  get reads(): readonly PlannedRead[] {
    return this.plan;
  }

  get size(): number {
    return this.count;
  }

  get stats(): PollStats {
    return { cycles: this.cycles, failedCycles: this.failedCycles, lastError: this.lastError };
  }

  /**
   * One cycle: every read of the plan, each point mapped to a DataPoint. With `all`, every point is
   * reported; otherwise a point whose value moved no more than its deadband and whose quality did not
   * change is left out.
   *
   * Each point's registers are decoded straight into its DataPoint (no intermediate reading per point)
   * from the plan's members, which are this term's own entries: no lookup, one object per sample.
   */
  async poll(requester: ModbusRequester, cause: Cause, now: () => number, all = false): Promise<DataPoint[]> {
    const plan = this.plan;
    const unit = this.unit;
    // Most terms are one read: no Promise.all and no array of promises for them.
    const outcomes =
      plan.length === 1
        ? [await performRead(requester, unit, plan[0])]
        : await Promise.all(plan.map((read) => performRead(requester, unit, read)));
    const ts = now();
    const out: DataPoint[] = [];
    let firstError: string | undefined;
    for (let r = 0; r < plan.length; r++) {
      const read = plan[r];
      const outcome = outcomes[r];
      const members = read.points;
      const failure = readFailure(read, outcome);
      if (failure !== undefined) {
        firstError ??= failure.error;
        for (let i = 0; i < members.length; i++) out.push(this.failed(members[i].point, failure, ts, cause));
        continue;
      }
      const values = outcome.kind === "ok" ? outcome.values : [];
      const bits = isBitTable(read.table);
      for (let i = 0; i < members.length; i++) {
        const { point, offset } = members[i];
        const raw = pointRaw(point, offset, values, bits);
        const value = scale(point.address, raw, point.scaling);
        if (
          all ||
          !point.reported ||
          point.bad ||
          exceedsDeadband(point.value ?? undefined, value, point.deadband)
        ) {
          point.reported = true;
          point.value = value;
          point.bad = false;
          out.push(this.sample(point, value, raw, ts, cause));
        }
      }
    }
    this.cycles++;
    if (firstError !== undefined) {
      this.failedCycles++;
      this.lastError = firstError;
    } else {
      this.lastError = undefined;
    }
    return out;
  }

  // Fixed-shape literals, no spreads: these run once per point per cycle.
  private sample(
    point: TermEntry,
    value: EngineeringValue,
    raw: RawValue,
    ts: number,
    cause: Cause,
  ): DataPoint {
    const { key, id: itemId } = point;
    const { deviceId, termId } = this;
    // The raw value is carried only when it differs from the engineering value.
    return typeof raw === "number" && raw === value
      ? { key, deviceId, termId, itemId, value, ts, quality: GOOD, cause }
      : { key, deviceId, termId, itemId, value, raw, ts, quality: GOOD, cause };
  }

  private failed(
    point: TermEntry,
    failure: { readonly quality: Quality; readonly error: string },
    ts: number,
    cause: Cause,
  ): DataPoint {
    // A failed read keeps the last good value (marked bad), so a trend shows where it stopped.
    point.reported = true;
    point.bad = true;
    const { key, id: itemId, value } = point;
    const { deviceId, termId } = this;
    return {
      key,
      deviceId,
      termId,
      itemId,
      value,
      ts,
      quality: failure.quality,
      cause,
      error: failure.error,
    };
  }
}
