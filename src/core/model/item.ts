/** An item: a quantity in the plant catalogue (docs/architecture.md §2). */
import { RecordReader, type Extra } from "./fields";

export interface Item {
  readonly id: string;
  readonly name: string;
  /** Engineering unit, e.g. "kW". */
  readonly unit: string;
  readonly description: string;
  readonly extra: Extra;
}

export function parseItem(raw: unknown): Item {
  const r = RecordReader.of(raw, "item");
  const id = r.id("id");
  return {
    id,
    name: r.text("name", { max: 200, def: id }),
    unit: r.text("unit", { max: 32, def: "" }),
    description: r.text("description", { max: 1000, def: "" }),
    extra: r.extra(),
  };
}

export function itemRecord(i: Item): Record<string, unknown> {
  const { extra, ...known } = i;
  return { ...extra, ...known };
}
