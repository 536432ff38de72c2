/**
 * A plant as an import CSV, of any number of rows: Modbus devices of 100 terms, 100 items, and points
 * binding the items to the terms (each at its own register), in the order a user would write them. The
 * import tests and the registry benchmark import the same text.
 */

const TERMS_PER_DEVICE = 100;
const ITEMS = 100;

export interface Plant {
  readonly csv: string;
  readonly rows: number;
  readonly devices: number;
  readonly terms: number;
  readonly items: number;
  readonly points: number;
}

/** `rows` rows (at least 102): as many points as fit after the devices, terms and items they need. */
export function plantCsv(rows: number): Plant {
  // Each term carries up to ITEMS points; choose the fewest terms that hold what is left.
  let terms = 1;
  while (Math.ceil(terms / TERMS_PER_DEVICE) + terms + ITEMS + terms * ITEMS < rows) terms++;
  const devices = Math.ceil(terms / TERMS_PER_DEVICE);
  const points = rows - devices - terms - ITEMS;
  const lines = ["kind,id,protocol,host,deviceId,address,termId,itemId,unit"];
  for (let d = 0; d < devices; d++) lines.push(`device,plc${d},modbus-tcp,10.0.${d >> 8}.${d & 255},,,,,`);
  for (let i = 0; i < ITEMS; i++) lines.push(`item,i${i},,,,,,,kW`);
  for (let t = 0; t < terms; t++)
    lines.push(`term,t${t},,,plc${Math.floor(t / TERMS_PER_DEVICE)},${(t % TERMS_PER_DEVICE) + 1},,,`);
  for (let p = 0; p < points; p++) {
    const t = p % terms;
    const i = Math.floor(p / terms);
    lines.push(`point,,,,plc${Math.floor(t / TERMS_PER_DEVICE)},HR${40001 + 2 * i},t${t},i${i},`);
  }
  return { csv: lines.join("\n") + "\n", rows, devices, terms, items: ITEMS, points };
}
