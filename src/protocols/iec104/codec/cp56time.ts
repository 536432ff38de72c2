/**
 * CP56Time2a, the 7-octet binary time of IEC 60870-5-101 §7.2.6.18 (layout in docs/protocols/iec104.md §4):
 *
 *   octet 0-1  milliseconds within the minute (0..59999), little-endian
 *   octet 2    bits0-5 minute, bit6 substituted/GEN, bit7 IV (time invalid)
 *   octet 3    bits0-4 hour, bit7 SU (summer time)
 *   octet 4    bits0-4 day of month, bits5-7 day of week (1 Monday .. 7 Sunday, 0 not used)
 *   octet 5    bits0-3 month
 *   octet 6    bits0-6 year within the century
 *
 * The octets carry calendar fields, not an instant. We read and write them as UTC, as the reference
 * implementation does (docs/protocols/iec104.md §4); a station on local time is corrected a layer up, which
 * knows the station's zone. Years are 2000..2099 (the two-digit year mapped to this century).
 */

export const CP56_SIZE = 7;

export interface Cp56Time2a {
  /** The calendar fields read as UTC, in epoch milliseconds. */
  readonly epochMs: number;
  /** IV: the station says its clock is not valid (also set when the fields are not a real date). */
  readonly invalid: boolean;
  /** Bit 6 of the minute octet: the time was substituted, not taken from the station's clock. */
  readonly substituted: boolean;
  /** SU: the station was on summer time. */
  readonly summerTime: boolean;
  /** 1 Monday .. 7 Sunday, 0 when the station does not fill it in. */
  readonly dayOfWeek: number;
}

/** A valid CP56Time2a for an instant, the day of week left 0 (not used) as most stations send it. */
export function cp56(epochMs: number, flags: Partial<Omit<Cp56Time2a, "epochMs">> = {}): Cp56Time2a {
  return {
    epochMs,
    invalid: flags.invalid ?? false,
    substituted: flags.substituted ?? false,
    summerTime: flags.summerTime ?? false,
    dayOfWeek: flags.dayOfWeek ?? 0,
  };
}

export function decodeCp56(buf: Buffer, offset: number): Cp56Time2a {
  const ms = buf[offset] | (buf[offset + 1] << 8);
  const minuteOctet = buf[offset + 2];
  const hourOctet = buf[offset + 3];
  const dayOctet = buf[offset + 4];
  const minute = minuteOctet & 0x3f;
  const hour = hourOctet & 0x1f;
  const day = dayOctet & 0x1f;
  const month = buf[offset + 5] & 0x0f;
  const yy = buf[offset + 6] & 0x7f;
  const year = 2000 + yy;
  // A station with an unset clock may send impossible fields (month 0, minute 63); the value that carries
  // the time is still worth delivering, so the time is marked invalid instead of rejecting the ASDU.
  const impossible =
    ms > 59999 || minute > 59 || hour > 23 || day < 1 || day > 31 || month < 1 || month > 12 || yy > 99;
  const epochMs = Date.UTC(year, Math.max(month, 1) - 1, Math.max(day, 1), hour, minute, 0, ms);
  return {
    epochMs,
    invalid: (minuteOctet & 0x80) !== 0 || impossible,
    substituted: (minuteOctet & 0x40) !== 0,
    summerTime: (hourOctet & 0x80) !== 0,
    dayOfWeek: dayOctet >> 5,
  };
}

export function encodeCp56(time: Cp56Time2a, buf: Buffer, offset: number): void {
  const d = new Date(time.epochMs);
  const year = d.getUTCFullYear();
  if (!Number.isFinite(time.epochMs) || year < 2000 || year > 2099) {
    throw new RangeError(
      `CP56Time2a holds years 2000..2099, not ${Number.isFinite(time.epochMs) ? year : "NaN"}`,
    );
  }
  if (!Number.isInteger(time.dayOfWeek) || time.dayOfWeek < 0 || time.dayOfWeek > 7) {
    throw new RangeError(`CP56Time2a day of week ${time.dayOfWeek} is not 0..7`);
  }
  const ms = d.getUTCSeconds() * 1000 + d.getUTCMilliseconds();
  buf[offset] = ms & 0xff;
  buf[offset + 1] = ms >> 8;
  buf[offset + 2] = d.getUTCMinutes() | (time.substituted ? 0x40 : 0) | (time.invalid ? 0x80 : 0);
  buf[offset + 3] = d.getUTCHours() | (time.summerTime ? 0x80 : 0);
  buf[offset + 4] = d.getUTCDate() | (time.dayOfWeek << 5);
  buf[offset + 5] = d.getUTCMonth() + 1;
  buf[offset + 6] = year - 2000;
}
