/** The OpenAPI schemas the route table refers to (components.schemas of the generated document). */
import { PROTOCOLS } from "../model/device";
import type { Schema } from "./route";

export const ref = (name: keyof typeof SCHEMAS): Schema => ({ $ref: `#/components/schemas/${name}` });
export const listOf = (s: Schema): Schema => ({ type: "array", items: s });
export const TEXT: Schema = { type: "string" };
/** The older system's answer to a successful write: no body at all. */
export const EMPTY: Schema = { type: "string", maxLength: 0 };

const id: Schema = { type: "string", minLength: 1, maxLength: 64, pattern: "^[^\\s:]+$" };
const extras = { additionalProperties: { type: ["string", "number", "boolean", "null"] } };

export const SCHEMAS = {
  Id: id,
  IdList: { type: "array", items: id },
  Device: {
    type: "object",
    required: ["id", "protocol"],
    properties: {
      id,
      name: { type: "string" },
      protocol: { type: "string", enum: [...PROTOCOLS] },
      host: { type: "string" },
      ip: { type: "string", description: "the older name of host" },
      port: { type: "integer", minimum: 1, maximum: 65535 },
      options: { type: "object" },
      enabled: { type: "boolean" },
    },
    ...extras,
  },
  Term: {
    type: "object",
    required: ["id", "deviceId"],
    properties: {
      id,
      name: { type: "string" },
      deviceId: id,
      address: { type: "integer", minimum: 0, maximum: 65535 },
      pollInterval: { type: "integer", minimum: 0, description: "milliseconds; 0: not polled" },
    },
    ...extras,
  },
  Item: {
    type: "object",
    required: ["id"],
    properties: { id, name: { type: "string" }, unit: { type: "string" }, description: { type: "string" } },
    ...extras,
  },
  Point: {
    type: "object",
    required: ["deviceId", "termId", "itemId"],
    properties: {
      key: { type: "string", description: "deviceId:termId:itemId" },
      deviceId: id,
      termId: id,
      itemId: id,
      address: { type: "string", description: "protocol address, e.g. HR40001:float32 or 1001:M_ME_NC_1" },
      coefficient: { type: "number" },
      base: { type: "number" },
      deadband: { type: "number", minimum: 0 },
      limits: {
        type: "object",
        properties: {
          lowLow: { type: "number" },
          low: { type: "number" },
          high: { type: "number" },
          highHigh: { type: "number" },
        },
      },
      save: { type: "object", properties: { enabled: { type: "boolean" }, interval: { type: "integer" } } },
    },
    ...extras,
  },
  TermItem: {
    type: "object",
    description: "a point of this term: the item id (itemId or item_id) and the point's fields",
    required: ["itemId"],
    properties: {
      itemId: id,
      item_id: id,
      address: { type: "string" },
      protocol_code: {
        type: "string",
        description: "older: the address's code (IEC 104 IOA, Modbus register)",
      },
      code_type: {
        type: "string",
        description: "older: the address's type (IEC 104 type id, Modbus data type)",
      },
      base_val: { type: "string", description: "older name of base" },
      down_limit: { type: "string", description: "older name of limits.low" },
      up_limit: { type: "string", description: "older name of limits.high" },
    },
    additionalProperties: true,
  },
  Formula: {
    type: "object",
    description:
      "older form: formula (the expression), p1, p2, … and device_id, term_id, item_id (the result)",
    required: ["id", "expression", "params", "result"],
    properties: {
      id,
      name: { type: "string" },
      expression: { type: "string" },
      params: {
        type: "object",
        additionalProperties: { type: "string" },
        description: "p1, p2, … → point key",
      },
      result: { type: "string", description: "the point key the result is written to" },
      enabled: { type: "boolean" },
    },
    ...extras,
  },
  LegacyRecord: {
    type: "object",
    description: "a record as the older API returned it: every field as text",
    additionalProperties: { type: "string" },
  },
  FormulaCheck: {
    type: "object",
    required: ["expression"],
    properties: {
      expression: { type: "string" },
      params: {
        description: "parameter names (p1, p2, …) as a list, or the formula's params object",
        oneOf: [{ type: "array", items: { type: "string" } }, { type: "object" }],
      },
    },
  },
  PointRef: {
    type: "object",
    description: "a point named by its key, or by device_id, term_id and item_id",
    properties: { key: { type: "string" }, device_id: id, term_id: id, item_id: id },
  },
  Control: {
    type: "object",
    required: ["value"],
    properties: {
      key: { type: "string" },
      device_id: id,
      term_id: id,
      item_id: id,
      value: { type: ["number", "boolean", "string"] },
    },
  },
  Confirmation: {
    type: "object",
    required: ["key", "value", "confirmed", "ts"],
    properties: {
      key: { type: "string" },
      value: { type: ["number", "boolean", "string"] },
      confirmed: { type: "boolean" },
      ts: { type: "number" },
      message: { type: "string" },
    },
  },
  DataPoint: {
    type: "object",
    required: ["key", "deviceId", "termId", "itemId", "value", "ts", "quality", "cause"],
    properties: {
      key: { type: "string" },
      deviceId: id,
      termId: id,
      itemId: id,
      value: { type: ["number", "boolean", "string", "null"] },
      ts: { type: "number", description: "epoch milliseconds" },
      quality: { type: "object", additionalProperties: { type: "boolean" } },
      cause: { type: "string" },
      error: { type: "string" },
    },
  },
  TimeValues: {
    type: "object",
    description:
      "{time: value}, newest first: the time as the older system wrote it (UTC, with microseconds: " +
      "2015-12-01T08:50:15.000000) → the value as text",
    additionalProperties: { type: "string" },
  },
  Alarm: {
    type: "object",
    required: ["key", "condition", "active", "acked", "ts"],
    properties: {
      key: { type: "string" },
      condition: { type: "string" },
      active: { type: "boolean" },
      acked: { type: "boolean" },
      ts: { type: "number", description: "epoch ms of the last change" },
      severity: { type: "number", description: "1 (least) to 1000 (most)" },
      state: { type: "string", enum: ["normal", "raised", "acked", "cleared-unacked", "shelved"] },
      shelvedUntil: { type: "number", description: "epoch ms; 0 when not shelved" },
      previous: {
        type: "string",
        enum: ["normal", "raised", "acked", "cleared-unacked", "shelved"],
        description: "the state before the last change, when the check node recorded it",
      },
      by: {
        type: "string",
        description: "who made the last change (an acknowledgement, a shelving), when given",
      },
      unreported: {
        type: "boolean",
        enum: [true],
        description:
          "the last change was made as its check node closed; the next active check node reports it again",
      },
      limit: { type: "number" },
      value: { type: ["number", "boolean", "string", "null"] },
      message: { type: "string" },
    },
  },
  Shelve: {
    type: "object",
    description: "until (epoch ms) or minutes from now",
    properties: { until: { type: "number" }, minutes: { type: "number", minimum: 0 } },
  },
  DeviceStatus: {
    type: "object",
    required: ["online"],
    properties: {
      id,
      online: { type: "boolean" },
      ts: { type: "number" },
      lastSeen: { type: "number" },
      lastError: { type: "string" },
      owner: { type: "string" },
    },
  },
  Frame: {
    type: "object",
    required: ["ts", "dir", "data"],
    properties: {
      ts: { type: "number", description: "epoch ms" },
      dir: { type: "string", enum: ["rx", "tx"] },
      data: { type: "string", description: "the octets as hex" },
      note: { type: "string" },
    },
  },
  BatchIds: {
    description: "ids as a list, or {ids: [...]}",
    oneOf: [
      { type: "array", items: id },
      { type: "object", properties: { ids: { type: "array", items: id } } },
    ],
  },
  BatchResult: {
    type: "object",
    properties: {
      created: { type: "array", items: { type: "string" } },
      updated: { type: "array", items: { type: "string" } },
      deleted: { type: "array", items: { type: "string" } },
    },
  },
  RowProblem: {
    type: "object",
    required: ["row", "kind", "error", "message"],
    properties: {
      row: { type: "integer" },
      kind: { type: "string" },
      id: { type: "string" },
      error: { type: "string" },
      field: { type: "string" },
      message: { type: "string" },
    },
  },
  HistoryRow: {
    type: "object",
    required: ["ts", "value", "text", "quality", "cause"],
    properties: {
      ts: { type: "integer", description: "epoch ms" },
      value: { type: ["number", "null"] },
      text: { type: ["string", "null"] },
      quality: {
        type: "integer",
        description: "IEC 104 quality bits: IV 0x80, NT 0x40, SB 0x20, BL 0x10, OV 0x01",
      },
      cause: { type: "string" },
    },
  },
  HistoryBucket: {
    type: "object",
    required: ["t", "count", "quality"],
    description: "a bucket with at least one row; buckets without rows are left out",
    properties: {
      t: { type: "integer", description: "bucket start, epoch ms" },
      count: { type: "integer" },
      min: { type: "number" },
      max: { type: "number" },
      avg: { type: "number" },
      first: { type: "number" },
      last: { type: "number" },
      quality: { type: "integer", description: "OR of the quality bits of the bucket's rows" },
    },
  },
  HistorySeries: {
    type: "object",
    required: ["key"],
    properties: {
      key: { type: "string" },
      initial: {
        $ref: "#/components/schemas/HistoryRow",
        description: "the value in force at from: the last row before it (draw steps from it)",
      },
      buckets: { type: "array", items: { $ref: "#/components/schemas/HistoryBucket" } },
      rows: { type: "array", items: { $ref: "#/components/schemas/HistoryRow" } },
      next: { type: "string", description: "cursor continuing this series" },
    },
  },
  HistoryResult: {
    type: "object",
    description: "also msg.payload of a datacoll-history node given the same fields as msg properties",
    required: ["from", "to", "series"],
    properties: {
      from: { type: "integer" },
      to: { type: "integer" },
      step: { type: "integer" },
      series: { type: "array", items: { $ref: "#/components/schemas/HistorySeries" } },
      next: { type: "string", description: "cursor continuing every series cut at the limit" },
    },
  },
  AlarmJournalPage: {
    type: "object",
    description: "also msg.payload of a datacoll-history node in journal mode given the same fields",
    required: ["rows"],
    properties: {
      rows: {
        type: "array",
        items: {
          type: "object",
          required: [
            "key",
            "condition",
            "state",
            "previous",
            "active",
            "ts",
            "severity",
            "text",
            "value",
            "ackBy",
          ],
          properties: {
            key: { type: "string" },
            condition: { type: "string" },
            state: { type: "string" },
            previous: { type: "string" },
            active: { type: "boolean" },
            ts: { type: "integer" },
            severity: { type: "integer" },
            text: { type: "string" },
            value: { type: ["number", "null"] },
            ackBy: { type: ["string", "null"] },
          },
        },
      },
      next: { type: "string" },
    },
  },
  Error: {
    type: "object",
    required: ["error", "message"],
    properties: { error: { type: "string" }, field: { type: "string" }, message: { type: "string" } },
  },
} satisfies Record<string, Schema>;
