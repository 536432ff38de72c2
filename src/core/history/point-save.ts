/**
 * Each registry point's own save settings applied to the samples a save node receives: `save.enabled`
 * false keeps a point out of the history, `save.interval` keeps at most one sample per that many
 * milliseconds. The older system's DB-saving plugin saved every registry point by its own settings; a
 * save node given a manager does the same, so a point created over the REST API is saved (or not) as
 * it says, with no change to the flow. Points the registry does not hold (drawn in a flow, formula
 * results of a flow's table) keep the node's behaviour: every sample is saved.
 */
import type { ChangeListener } from "../store/registry";
import type { DataPoint, PointKey } from "../model/datapoint";
import type { Point, SaveSettings } from "../model/point";

/** What this needs of the registry: its points, and word of their changes. */
export interface SaveSettingsSource {
  listPoints(): Promise<readonly Point[]>;
  getPoint(key: PointKey): Promise<Point | undefined>;
  onChange(listener: ChangeListener): () => void;
}

const saveAll = (s: SaveSettings): boolean => s.enabled && s.interval === 0;

export class PointSaveSettings {
  /** Only points that leave something out: the common case (save everything) costs nothing per sample. */
  private readonly settings = new Map<PointKey, SaveSettings>();
  /** Time stamp of the last kept sample of each point with an interval. */
  private readonly lastKept = new Map<PointKey, number>();
  /** Points changed while the start-up list was read: their change, not the list, says how they are. */
  private touched: Set<PointKey> | undefined = new Set();
  private readonly off: () => void;
  private readonly loaded: Promise<void>;

  /**
   * Follow `source`'s points. `onError` hears a list or a change that could not be read (the point
   * keeps its former settings until its next change).
   */
  constructor(source: SaveSettingsSource, onError: (err: unknown) => void) {
    // Listening before listing: a change made while the list is read is applied either way.
    this.off = source.onChange((changes) => {
      for (const c of changes) {
        if (c.kind !== "point") continue;
        this.touched?.add(c.id);
        const read = c.op === "delete" ? Promise.resolve(undefined) : source.getPoint(c.id);
        read.then((p) => this.set(c.id, p?.save), onError);
      }
    });
    // A list that cannot be read leaves every point saved, until its next change: history kept that
    // the registry said to leave out costs disk space, history lost cannot be had back.
    this.loaded = source.listPoints().then(
      (points) => {
        for (const p of points) if (!this.touched?.has(p.key)) this.set(p.key, p.save);
        this.touched = undefined;
      },
      (err: unknown) => {
        this.touched = undefined;
        onError(err);
      },
    );
  }

  /**
   * Resolves once the registry's points are known (or could not be listed, which `onError` heard);
   * until then `filter` keeps every sample.
   */
  ready(): Promise<void> {
    return this.loaded;
  }

  /** The samples to save, in their order. */
  filter(points: readonly DataPoint[]): readonly DataPoint[] {
    if (this.settings.size === 0) return points;
    return points.filter((p) => this.keep(p));
  }

  close(): void {
    this.off();
  }

  private set(key: PointKey, save: SaveSettings | undefined): void {
    if (save === undefined || saveAll(save)) this.settings.delete(key);
    else this.settings.set(key, save);
    if (save === undefined || save.interval === 0) this.lastKept.delete(key);
  }

  private keep(p: DataPoint): boolean {
    const s = this.settings.get(p.key);
    if (s === undefined) return true;
    if (!s.enabled) return false;
    const last = this.lastKept.get(p.key);
    // A sample from before the last kept one by a whole interval (a source's clock set back) is kept too.
    if (last !== undefined && Math.abs(p.ts - last) < s.interval) return false;
    this.lastKept.set(p.key, p.ts);
    return true;
  }
}
