/**
 * ASDU type identifications of this stack (IEC 60870-5-101 §7.2.1 in 104; docs/protocols/iec104.md §3).
 * Names are the standard's mnemonics so they match Wireshark's dissector and vendor documentation.
 */
export const TypeId = {
  // Process information in monitor direction.
  M_SP_NA_1: 1,
  M_DP_NA_1: 3,
  M_ST_NA_1: 5,
  M_BO_NA_1: 7,
  M_ME_NA_1: 9,
  M_ME_NB_1: 11,
  M_ME_NC_1: 13,
  M_IT_NA_1: 15,
  M_ME_ND_1: 21,
  M_SP_TB_1: 30,
  M_DP_TB_1: 31,
  M_ST_TB_1: 32,
  M_BO_TB_1: 33,
  M_ME_TD_1: 34,
  M_ME_TE_1: 35,
  M_ME_TF_1: 36,
  M_IT_TB_1: 37,
  // Process information in control direction.
  C_SC_NA_1: 45,
  C_DC_NA_1: 46,
  C_RC_NA_1: 47,
  C_SE_NA_1: 48,
  C_SE_NB_1: 49,
  C_SE_NC_1: 50,
  C_BO_NA_1: 51,
  C_SC_TA_1: 58,
  C_DC_TA_1: 59,
  C_RC_TA_1: 60,
  C_SE_TA_1: 61,
  C_SE_TB_1: 62,
  C_SE_TC_1: 63,
  C_BO_TA_1: 64,
  // System information.
  M_EI_NA_1: 70,
  C_IC_NA_1: 100,
  C_CI_NA_1: 101,
  C_RD_NA_1: 102,
  C_CS_NA_1: 103,
  C_TS_NA_1: 104,
  C_RP_NA_1: 105,
  C_TS_TA_1: 107,
} as const;

export type TypeIdName = keyof typeof TypeId;

const NAMES: ReadonlyMap<number, TypeIdName> = new Map(
  (Object.entries(TypeId) as [TypeIdName, number][]).map(([name, id]) => [id, name]),
);

/** The mnemonic of a type id, or `type <n>` for one this stack does not know. */
export function typeIdName(id: number): string {
  return NAMES.get(id) ?? `type ${id}`;
}

/**
 * The monitor-direction type without time tag that carries the same element as a CP56Time2a type: a
 * general interrogation answers without time tags (docs/protocols/iec104.md §5, general interrogation).
 */
export function withoutTimeTag(id: number): number {
  if (id >= TypeId.M_SP_TB_1 && id <= TypeId.M_IT_TB_1) return (id - TypeId.M_SP_TB_1) * 2 + TypeId.M_SP_NA_1;
  return id;
}

/** The CP56Time2a type carrying the same element as a monitor type without time tag. */
export function withTimeTag(id: number): number {
  if (id >= TypeId.M_SP_NA_1 && id <= TypeId.M_IT_NA_1 && id % 2 === 1) {
    return (id - TypeId.M_SP_NA_1) / 2 + TypeId.M_SP_TB_1;
  }
  return id;
}
