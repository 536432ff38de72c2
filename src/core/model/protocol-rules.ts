/**
 * What each protocol says about addresses. The model keeps a term address as a number and a point
 * address as text; whether they make sense depends on the device's protocol, so the registry asks the
 * protocol's rule when a term or point is stored. The protocol engineers plug their own parsers in
 * (e.g. the Modbus text form `HR40001:float32:CDAB`) with `withProtocolRule`; the defaults here only
 * check what the standards fix.
 *
 * The rule also names the point in the reverse map (protocol address → point key) that lets a protocol
 * stack turn what a device sent into a point: `<map prefix>:<deviceId>:<term address>:<address tail>`,
 * e.g. `iec104:rtu1:1:1001` or `modbus:plc1:1:HR:40001`.
 */
import { errorMessage } from "../errors";
import { parsePointAddress } from "../modbus/point-address";
import type { Protocol } from "./device";
import { parseIec104Address } from "../iec104/address";

export type AddressCheck =
  { readonly ok: true; readonly tail: string } | { readonly ok: false; readonly reason: string };

export interface ProtocolRule {
  /** The first part of reverse-map keys, e.g. "modbus". */
  readonly mapPrefix: string;
  /** Why a term address (unit id, common address) is wrong, or undefined when it is fine. */
  termAddress(address: number): string | undefined;
  /** Check a point address and give the tail of its reverse-map key. */
  pointAddress(address: string): AddressCheck;
  /** Whether a point on such a device needs an address (polled points do, formula results do not). */
  readonly addressRequired: boolean;
}

export type ProtocolRules = Readonly<Record<Protocol, ProtocolRule>>;

const NO_SPACE = /^\S+$/;

function anyText(address: string): AddressCheck {
  return NO_SPACE.test(address)
    ? { ok: true, tail: address }
    : { ok: false, reason: "must not contain whitespace" };
}

/**
 * A point address checked by the parser its protocol's runtime uses, so nothing is stored that the
 * runtime would refuse later (a Modbus `ZZ99` or `HR1:float99`, an IEC 104 type that does not exist).
 */
function parsedBy(parse: (text: string) => unknown, tail: (address: string) => string) {
  return (address: string): AddressCheck => {
    try {
      parse(address);
    } catch (err) {
      // The registry says "address <reason>": the parser's words, naming the address once.
      const message = errorMessage(err).replace(/^address /, "");
      const quoted = JSON.stringify(address);
      return { ok: false, reason: message.includes(quoted) ? message : `${quoted}: ${message}` };
    }
    return { ok: true, tail: tail(address) };
  };
}

export const DEFAULT_PROTOCOL_RULES: ProtocolRules = {
  "modbus-tcp": {
    mapPrefix: "modbus",
    addressRequired: true,
    // Unit 0 is broadcast and 248..255 reserved, but gateways use 0 and 255 for "the gateway itself".
    termAddress: (a) => (a <= 255 ? undefined : `must be a Modbus unit id from 0 to 255, not ${a}`),
    pointAddress: parsedBy(parsePointAddress, (a) => a),
  },
  iec104: {
    mapPrefix: "iec104",
    addressRequired: true,
    // Common address: 0 is unused and 65535 is the broadcast address (IEC 60870-5-101 §7.2.4).
    termAddress: (a) =>
      a >= 1 && a <= 65534 ? undefined : `must be an IEC 104 common address from 1 to 65534, not ${a}`,
    pointAddress: parsedBy(parseIec104Address, (a) => String(parseIec104Address(a).ioa)),
  },
  formula: {
    mapPrefix: "formula",
    addressRequired: false,
    termAddress: () => undefined,
    pointAddress: anyText,
  },
  virtual: {
    mapPrefix: "virtual",
    addressRequired: false,
    termAddress: () => undefined,
    pointAddress: anyText,
  },
  // Stored for the older system's clients and never run (NO_DRIVER_PROTOCOLS): nothing reads addresses.
  gdwnx: { mapPrefix: "gdwnx", addressRequired: false, termAddress: () => undefined, pointAddress: anyText },
  gdw376: {
    mapPrefix: "gdw376",
    addressRequired: false,
    termAddress: () => undefined,
    pointAddress: anyText,
  },
};

/** Rules with one protocol's rule replaced or refined (e.g. by the Modbus address parser). */
export function withProtocolRule(
  rules: ProtocolRules,
  protocol: Protocol,
  rule: Partial<ProtocolRule>,
): ProtocolRules {
  return { ...rules, [protocol]: { ...rules[protocol], ...rule } };
}

export function addressKey(rule: ProtocolRule, deviceId: string, termAddress: number, tail: string): string {
  return `${rule.mapPrefix}:${deviceId}:${termAddress}:${tail}`;
}
