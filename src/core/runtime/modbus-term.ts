/**
 * A Modbus term at run time: its points (item id → address, scaling, deadband), the read plan made
 * from them, and one poll cycle that turns the replies into DataPoints. Used by the flow-drawn poll node
 * and by the manager for registry devices, so both poll the same way.
 */
import { DataCollError, errorMessage } from "../errors";
import { parseCsv } from "../csv";
import { pointKey, type Cause, type DataPoint } from "../model/datapoint";
import { normalizeId } from "../model/fields";
import { parsePointAddress, type ModbusPointAddress } from "../modbus/point-address";
import {
  planReads,
  runReads,
  type ModbusRequester,
  type PlanOptions,
  type PlannedRead,
} from "../modbus/read-plan";
import { exceedsDeadband, type EngineeringValue, type Scaling } from "../modbus/values";

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

function num(raw: unknown, field: string, def: number, row: number): number {
  if (raw === undefined || raw === null || raw === "") return def;
  const n = typeof raw === "number" ? raw : Number(String(raw).trim());
  if (!Number.isFinite(n)) throw new DataCollError("invalid", `row ${row}: ${field} must be a number`, field);
  return n;
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
    const coefficient = num(r.coefficient, "coefficient", 1, row);
    if (coefficient === 0)
      throw new DataCollError("invalid", `row ${row}: coefficient must not be 0`, "coefficient");
    const deadband = num(r.deadband, "deadband", 0, row);
    if (deadband < 0)
      throw new DataCollError("invalid", `row ${row}: deadband must not be negative`, "deadband");
    return { itemId, address, scaling: { coefficient, base: num(r.base, "base", 0, row) }, deadband };
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

export class ModbusTerm {
  private points: readonly ModbusTermPoint[] = [];
  private plan: readonly PlannedRead[] = [];
  private readonly byItem = new Map<string, ModbusTermPoint>();
  /** What was last reported per item, for the deadband and for quality changes (updated in place). */
  private readonly reported = new Map<string, { value: EngineeringValue | null; bad: boolean }>();
  /** Point keys by item, made once per change of points rather than once per sample. */
  private readonly keys = new Map<string, string>();
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
    this.points = points;
    this.byItem.clear();
    this.keys.clear();
    for (const p of points) {
      this.byItem.set(p.itemId, p);
      this.keys.set(p.itemId, pointKey(this.deviceId, this.termId, p.itemId));
    }
    for (const item of [...this.reported.keys()]) if (!this.byItem.has(item)) this.reported.delete(item);
    this.plan = planReads(
      points.map((p) => ({ id: p.itemId, address: p.address, scaling: p.scaling })),
      this.planOptions,
    );
  }

  private remember(
    item: string,
    last: { value: EngineeringValue | null; bad: boolean } | undefined,
    value: EngineeringValue | null,
    bad: boolean,
  ): void {
    if (last) {
      last.value = value;
      last.bad = bad;
    } else {
      this.reported.set(item, { value, bad });
    }
  }

  get reads(): readonly PlannedRead[] {
    return this.plan;
  }

  get size(): number {
    return this.points.length;
  }

  get stats(): PollStats {
    return { cycles: this.cycles, failedCycles: this.failedCycles, lastError: this.lastError };
  }

  /**
   * One cycle: every read of the plan, each point mapped to a DataPoint. With `all`, every point is
   * reported; otherwise a point whose value moved no more than its deadband and whose quality did not
   * change is left out.
   */
  async poll(requester: ModbusRequester, cause: Cause, now: () => number, all = false): Promise<DataPoint[]> {
    const readings = await runReads(requester, this.unit, this.plan);
    const ts = now();
    const out: DataPoint[] = [];
    let failed = 0;
    let firstError: string | undefined;
    for (const r of readings) {
      const point = this.byItem.get(r.id);
      if (!point) continue;
      const key = this.keys.get(r.id) ?? pointKey(this.deviceId, this.termId, r.id);
      const last = this.reported.get(r.id);
      // Fixed-shape literals, no spreads: this runs once per point per cycle.
      if (r.ok) {
        const qualityChanged = last !== undefined && last.bad;
        if (
          all ||
          qualityChanged ||
          last === undefined ||
          exceedsDeadband(last.value ?? undefined, r.value, point.deadband)
        ) {
          this.remember(r.id, last, r.value, false);
          const raw = typeof r.raw === "number" && r.raw === r.value ? undefined : r.raw;
          out.push(
            raw === undefined
              ? {
                  key,
                  deviceId: this.deviceId,
                  termId: this.termId,
                  itemId: r.id,
                  value: r.value,
                  ts,
                  quality: r.quality,
                  cause,
                }
              : {
                  key,
                  deviceId: this.deviceId,
                  termId: this.termId,
                  itemId: r.id,
                  value: r.value,
                  raw,
                  ts,
                  quality: r.quality,
                  cause,
                },
          );
        }
      } else {
        failed++;
        firstError ??= r.error;
        // A failed read keeps the last good value (marked bad), so a trend shows where it stopped.
        const value = last?.value ?? null;
        this.remember(r.id, last, value, true);
        out.push({
          key,
          deviceId: this.deviceId,
          termId: this.termId,
          itemId: r.id,
          value,
          ts,
          quality: r.quality,
          cause,
          error: r.error,
        });
      }
    }
    this.cycles++;
    if (failed > 0) {
      this.failedCycles++;
      this.lastError = firstError;
    } else {
      this.lastError = undefined;
    }
    return out;
  }
}
