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
import type { Protocol } from "./device";

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

// IEC 60870-5-104: IOA is three octets (1..16777215; 0 is "irrelevant"), optionally followed by the type
// the point expects, as a number or an identifier (`1001:13`, `1001:M_ME_NC_1`).
const IEC104_ADDRESS = /^([0-9]{1,8})(?::([A-Za-z0-9_]{1,16}))?$/;

export const DEFAULT_PROTOCOL_RULES: ProtocolRules = {
  "modbus-tcp": {
    mapPrefix: "modbus",
    addressRequired: true,
    // Unit 0 is broadcast and 248..255 reserved, but gateways use 0 and 255 for "the gateway itself".
    termAddress: (a) => (a <= 255 ? undefined : `must be a Modbus unit id from 0 to 255, not ${a}`),
    pointAddress: anyText,
  },
  iec104: {
    mapPrefix: "iec104",
    addressRequired: true,
    // Common address: 0 is unused and 65535 is the broadcast address (IEC 60870-5-101 §7.2.4).
    termAddress: (a) =>
      a >= 1 && a <= 65534 ? undefined : `must be an IEC 104 common address from 1 to 65534, not ${a}`,
    pointAddress: (address) => {
      const m = IEC104_ADDRESS.exec(address);
      const ioa = m ? Number(m[1]) : 0;
      if (!m || ioa < 1 || ioa > 16777215) {
        return {
          ok: false,
          reason: "must be an IEC 104 IOA from 1 to 16777215, optionally with :type (e.g. 1001:M_ME_NC_1)",
        };
      }
      return { ok: true, tail: String(ioa) };
    },
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
