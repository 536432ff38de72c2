/**
 * FC 43 / MEI type 14, read device identification (Modbus Application Protocol V1.1b3 §6.21): the
 * objects a device names itself with (vendor, product code, revision, ...), their categories, and the
 * reply a server builds from its objects. Its own file because its reply is a list of variable-length
 * objects split over several exchanges ("more follows"), unlike every other function's fixed layout.
 *
 * Categories (§6.21, table of objects): basic 0x00–0x02 (mandatory), regular 0x03–0x7F, extended
 * 0x80–0xFF (private to the device). Access codes: 01 basic, 02 regular, 03 extended (each a stream from
 * the object id asked for), 04 one individual object.
 */

export const MEI_FUNCTION = 0x2b;
export const MEI_READ_DEVICE_ID = 0x0e;

/** The names the specification gives objects 0x00–0x06; other ids are the device's own. */
export const DEVICE_ID_OBJECTS = {
  vendorName: 0x00,
  productCode: 0x01,
  majorMinorRevision: 0x02,
  vendorUrl: 0x03,
  productName: 0x04,
  modelName: 0x05,
  userApplicationName: 0x06,
} as const;

export type DeviceIdAccess = 1 | 2 | 3 | 4;

export interface DeviceIdObject {
  readonly id: number;
  readonly value: string;
}

/**
 * Longest object value that fits one reply: 253 PDU octets less the 7 of the reply header and the 2 of
 * the object's id and length.
 */
export const MAX_DEVICE_ID_VALUE_OCTETS = 244;

/** The highest object id a stream access code reads up to. */
function streamEnd(access: 1 | 2 | 3): number {
  return access === 1 ? 0x02 : access === 2 ? 0x7f : 0xff;
}

/** Why a server's objects cannot be served, or undefined when they can. */
export function checkDeviceIdObjects(objects: readonly DeviceIdObject[]): string | undefined {
  const ids = new Set<number>();
  for (const o of objects) {
    if (!Number.isInteger(o.id) || o.id < 0 || o.id > 0xff) return `object id ${o.id} is outside 0..255`;
    if (ids.has(o.id)) return `object id ${o.id} appears twice`;
    ids.add(o.id);
    const n = Buffer.byteLength(o.value, "utf8");
    if (n > MAX_DEVICE_ID_VALUE_OCTETS) {
      return `object ${o.id}: ${n} octets is more than the ${MAX_DEVICE_ID_VALUE_OCTETS} one reply carries`;
    }
  }
  for (const id of [0, 1, 2]) if (!ids.has(id)) return `basic object ${id} is mandatory`;
  return undefined;
}

/** The conformity level a server with these objects reports: its highest category, individual access. */
export function conformityLevel(objects: readonly DeviceIdObject[]): number {
  const top = objects.some((o) => o.id >= 0x80) ? 0x03 : objects.some((o) => o.id >= 0x03) ? 0x02 : 0x01;
  // Bit 7: individual access (code 04) is supported too.
  return 0x80 | top;
}

/** The server's answer: a reply PDU, or an exception code (02: no such object for individual access). */
export type DeviceIdAnswer =
  { readonly kind: "reply"; readonly pdu: Buffer } | { readonly kind: "exception"; readonly code: number };

/**
 * The reply to a request for `access` from `objectId`, as many objects as fit one PDU with "more
 * follows" set when some remain. An object id the stream does not know restarts it at object 0
 * (§6.21: "the server responds as if object 0 were pointed out").
 */
export function answerDeviceId(
  objects: readonly DeviceIdObject[],
  access: DeviceIdAccess,
  objectId: number,
): DeviceIdAnswer {
  const sorted = [...objects].sort((a, b) => a.id - b.id);
  let selected: DeviceIdObject[];
  if (access === 4) {
    const one = sorted.find((o) => o.id === objectId);
    if (one === undefined) return { kind: "exception", code: 0x02 };
    selected = [one];
  } else {
    const inStream = sorted.filter((o) => o.id <= streamEnd(access));
    const known = inStream.some((o) => o.id === objectId);
    selected = inStream.filter((o) => o.id >= (known ? objectId : 0));
  }
  const header = 7;
  const parts: Buffer[] = [];
  let size = header;
  let next: DeviceIdObject | undefined;
  for (const o of selected) {
    const value = Buffer.from(o.value, "utf8");
    if (size + 2 + value.length > 253) {
      next = o;
      break;
    }
    parts.push(Buffer.from([o.id, value.length]), value);
    size += 2 + value.length;
  }
  const pdu = Buffer.concat([
    Buffer.from([
      MEI_FUNCTION,
      MEI_READ_DEVICE_ID,
      access, // read device id code, echoed
      conformityLevel(objects),
      next === undefined ? 0x00 : 0xff, // more follows
      next === undefined ? 0x00 : next.id, // next object id
      (parts.length / 2) & 0xff, // number of objects
    ]),
    ...parts,
  ]);
  return { kind: "reply", pdu };
}

/** A reply as the client reads it. */
export interface DeviceIdReply {
  readonly conformity: number;
  readonly moreFollows: boolean;
  readonly nextObjectId: number;
  readonly objects: readonly DeviceIdObject[];
}

/** Decode a reply PDU to a request for `access`; a string says why it does not answer it. */
export function decodeDeviceIdReply(access: DeviceIdAccess, pdu: Buffer): DeviceIdReply | string {
  if (pdu.length < 7) return `reply of ${pdu.length} octets (at least 7)`;
  if (pdu[0] !== MEI_FUNCTION || pdu[1] !== MEI_READ_DEVICE_ID) return "not a device identification reply";
  if (pdu[2] !== access) return `reply for access code ${pdu[2]} to a request for ${access}`;
  const moreFollows = pdu[4] === 0xff;
  if (pdu[4] !== 0x00 && !moreFollows) return `"more follows" octet ${pdu[4]} is neither 0x00 nor 0xFF`;
  const count = pdu[6];
  const objects: DeviceIdObject[] = [];
  let at = 7;
  for (let i = 0; i < count; i++) {
    if (at + 2 > pdu.length) return `object ${i + 1} of ${count} is cut off`;
    const len = pdu[at + 1];
    if (at + 2 + len > pdu.length) return `object ${pdu[at]} is cut off`;
    objects.push({ id: pdu[at], value: pdu.toString("utf8", at + 2, at + 2 + len) });
    at += 2 + len;
  }
  if (at !== pdu.length) return `${pdu.length - at} octets after the last object`;
  return { conformity: pdu[3], moreFollows, nextObjectId: pdu[5], objects };
}

/** The request PDU: MEI type 14, the access code and the first object id wanted. */
export function encodeDeviceIdRequest(access: DeviceIdAccess, objectId: number): Buffer {
  return Buffer.from([MEI_FUNCTION, MEI_READ_DEVICE_ID, access, objectId]);
}
