/**
 * FC 43 / MEI 14, read device identification (Application Protocol §6.21): the codec from the
 * specification's example, the server's choice of objects per access code (streams, restart at object 0,
 * "more follows", individual access), corrupted requests and replies, and our client against our server
 * core following a reply split over several exchanges.
 */
import assert from "node:assert/strict";
import { requestExceptionCode } from "./helpers";
import { ModbusClient, ModbusRequestError } from "../../../src/core/modbus/client";
import {
  answerDeviceId,
  checkDeviceIdObjects,
  decodeDeviceIdReply,
  type DeviceIdObject,
} from "../../../src/protocols/modbus/codec/device-id";
import {
  decodeReply,
  decodeRequest,
  encodeRequest,
  validateRequest,
} from "../../../src/protocols/modbus/codec/pdu";
import { decodeMbap, encodeMbap } from "../../../src/protocols/modbus/codec/mbap";
import { DEFAULT_IDENTIFICATION, ModbusServerCore } from "../../../src/protocols/modbus/server";
import { MemoryNetwork } from "../../../src/transport/memory-socket";
import { ManualClock } from "../../../src/transport/manual-clock";
import { hex } from "../../fixtures/modbus/frames";

const text = (s: string): string => Buffer.from(s).toString("hex");

// The specification's example reply to a basic stream from object 0 (its product code is 15 octets).
const SPEC_REPLY =
  "2B 0E 01 01 00 00 03" +
  ("00 16" + text("Company identification")) +
  ("01 0F" + text("Product code XX")) +
  ("02 05" + text("V2.11"));

const OBJECTS: DeviceIdObject[] = [
  { id: 0, value: "ACME" },
  { id: 1, value: "PM-5" },
  { id: 2, value: "2.1" },
  { id: 4, value: "Power meter" },
  { id: 0x80, value: "serial 42" },
];

function reply(objects: readonly DeviceIdObject[], access: 1 | 2 | 3 | 4, objectId: number): string {
  const a = answerDeviceId(objects, access, objectId);
  assert.equal(a.kind, "reply");
  return a.kind === "reply" ? a.pdu.toString("hex").toUpperCase() : "";
}

describe("modbus FC 43/14 read device identification", () => {
  describe("codec", () => {
    it("encodes the request and decodes the specification's example reply", () => {
      const req = { fn: "readDeviceIdentification", access: 1, objectId: 0 } as const;
      assert.deepEqual(encodeRequest(req), hex("2B 0E 01 00"));
      assert.deepEqual(decodeRequest(hex("2B 0E 01 00")), { kind: "request", request: req });
      assert.deepEqual(decodeReply(req, hex(SPEC_REPLY)), {
        kind: "ok",
        reply: {
          kind: "identification",
          conformity: 1,
          moreFollows: false,
          nextObjectId: 0,
          objects: [
            { id: 0, value: "Company identification" },
            { id: 1, value: "Product code XX" },
            { id: 2, value: "V2.11" },
          ],
        },
      });
    });

    it("refuses access codes outside 1..4 and object ids outside a byte", () => {
      assert.match(
        validateRequest({ fn: "readDeviceIdentification", access: 5 as 1, objectId: 0 }) ?? "",
        /1\.\.4/,
      );
      assert.match(
        validateRequest({ fn: "readDeviceIdentification", access: 4, objectId: 256 }) ?? "",
        /0\.\.255/,
      );
    });

    it("answers 03 for a bad access code or length and 01 for another MEI type", () => {
      const code = requestExceptionCode;
      assert.equal(code("2B"), 3);
      assert.equal(code("2B 0E 01"), 3);
      assert.equal(code("2B 0E 01 00 00"), 3);
      assert.equal(code("2B 0E 00 00"), 3);
      assert.equal(code("2B 0E 05 00"), 3);
      assert.equal(code("2B 0D 01 00"), 1);
    });

    it("refuses replies cut short, padded, for another access code or with a bad 'more follows'", () => {
      const req = { fn: "readDeviceIdentification", access: 1, objectId: 0 } as const;
      const good = SPEC_REPLY.replace(/ /g, "");
      for (const bad of [
        good.slice(0, -2),
        good + "00",
        good.replace(/^2B0E01/, "2B0E02"),
        good.replace(/^2B0E010100/, "2B0E010101"),
        "2B 0E 01 01 00 00",
        "2B 0E 01 01 00 00 01 00",
        "2B 0D 01 01 00 00 00",
      ]) {
        assert.equal(decodeReply(req, hex(bad)).kind, "malformed", bad);
      }
      assert.equal(decodeReply(req, hex("AB 02")).kind, "exception");
      assert.deepEqual(decodeDeviceIdReply(1, hex("2B 0E 01 01 00 00 00")), {
        conformity: 1,
        moreFollows: false,
        nextObjectId: 0,
        objects: [],
      });
    });
  });

  describe("the server's choice of objects", () => {
    it("streams each category from the object asked for, and reports its conformity level", () => {
      assert.equal(
        reply(OBJECTS, 1, 0),
        "2B0E0183000003" +
          "0004" +
          text("ACME").toUpperCase() +
          "0104" +
          text("PM-5").toUpperCase() +
          "0203" +
          text("2.1").toUpperCase(),
      );
      const regular = decodeDeviceIdReply(2, hex(reply(OBJECTS, 2, 0)));
      assert.ok(typeof regular !== "string");
      assert.deepEqual(
        regular.objects.map((o) => o.id),
        [0, 1, 2, 4],
      );
      const extended = decodeDeviceIdReply(3, hex(reply(OBJECTS, 3, 2)));
      assert.ok(typeof extended !== "string");
      assert.deepEqual(
        extended.objects.map((o) => o.id),
        [2, 4, 0x80],
      );
      assert.equal(extended.conformity, 0x83);
      assert.equal(reply(DEFAULT_IDENTIFICATION, 1, 0).slice(6, 8), "81");
    });

    it("restarts a stream at object 0 for an object it does not know (§6.21)", () => {
      assert.equal(reply(OBJECTS, 2, 3), reply(OBJECTS, 2, 0));
      assert.equal(reply(OBJECTS, 1, 4), reply(OBJECTS, 1, 0));
    });

    it("gives one object by individual access, or exception 02 when there is none", () => {
      const one = decodeDeviceIdReply(4, hex(reply(OBJECTS, 4, 0x80)));
      assert.ok(typeof one !== "string");
      assert.deepEqual(one.objects, [{ id: 0x80, value: "serial 42" }]);
      assert.deepEqual(answerDeviceId(OBJECTS, 4, 3), { kind: "exception", code: 2 });
    });

    it("splits what does not fit one PDU, saying which object follows", () => {
      const big = [...OBJECTS, ...[0x81, 0x82].map((id) => ({ id, value: "x".repeat(200) }))];
      const first = decodeDeviceIdReply(3, hex(reply(big, 3, 0)));
      assert.ok(typeof first !== "string");
      assert.deepEqual([first.moreFollows, first.nextObjectId], [true, 0x82]);
      assert.deepEqual(
        first.objects.map((o) => o.id),
        [0, 1, 2, 4, 0x80, 0x81],
      );
      const rest = decodeDeviceIdReply(3, hex(reply(big, 3, 0x82)));
      assert.ok(typeof rest !== "string");
      assert.deepEqual([rest.moreFollows, rest.objects.map((o) => o.id)], [false, [0x82]]);
    });

    it("refuses objects a server cannot serve", () => {
      assert.equal(checkDeviceIdObjects(OBJECTS), undefined);
      assert.match(checkDeviceIdObjects(OBJECTS.slice(1)) ?? "", /basic object 0 is mandatory/);
      assert.match(checkDeviceIdObjects([...OBJECTS, { id: 4, value: "again" }]) ?? "", /twice/);
      assert.match(checkDeviceIdObjects([...OBJECTS, { id: 256, value: "" }]) ?? "", /0\.\.255/);
      assert.match(checkDeviceIdObjects([...OBJECTS, { id: 9, value: "é".repeat(123) }]) ?? "", /246 octets/);
      assert.throws(() => new ModbusServerCore({ identification: OBJECTS.slice(0, 2) }), /basic object 2/);
    });
  });

  describe("our client against our server core", () => {
    let core: ModbusServerCore;
    let client: ModbusClient;
    const big = [...OBJECTS, ...[0x81, 0x82, 0x83].map((id) => ({ id, value: String(id).repeat(60) }))];

    beforeEach(() => {
      core = new ModbusServerCore({ units: [2], identification: big });
      const net = new MemoryNetwork();
      client = new ModbusClient({ socketFactory: net.factory, clock: new ManualClock() });
      client.start();
      const link = net.last;
      const conn = core.connection();
      link.onWrite = (bytes) => {
        for (const r of conn.onData(bytes).replies) link.send(r);
      };
      link.accept();
    });

    afterEach(() => client.close());

    it("reads every object of a category, following 'more follows' over several exchanges", async () => {
      const basic = await client.readDeviceIdentification(2);
      assert.deepEqual(basic.objects, OBJECTS.slice(0, 3));
      const all = await client.readDeviceIdentification(2, 3);
      assert.equal(all.conformity, 0x83);
      assert.deepEqual(all.objects, big);
      assert.ok(core.stats.requests >= 3, `${core.stats.requests} exchanges`);
    });

    it("reads one object, and gets exception 02 for one the device does not have", async () => {
      assert.equal(await client.readDeviceIdentificationObject(2, 4), "Power meter");
      await assert.rejects(client.readDeviceIdentificationObject(2, 5), (e: unknown) => {
        assert.ok(e instanceof ModbusRequestError);
        assert.equal(e.failure.exceptionCode, 2);
        return true;
      });
    });
  });

  it("refuses a device whose 'more follows' does not move forward, instead of asking for ever", async () => {
    const net = new MemoryNetwork();
    const client = new ModbusClient({ socketFactory: net.factory, clock: new ManualClock() });
    client.start();
    const link = net.last;
    let asked = 0;
    link.onWrite = (bytes) => {
      const f = decodeMbap(Buffer.from(bytes));
      assert.ok(f.kind === "frame");
      asked++;
      // Always "more follows from object 0": a faulty device that would loop a naive client.
      const pdu = hex("2B 0E 01 81 FF 00 01 00 01" + text("A"));
      link.send(encodeMbap(f.frame.transactionId, f.frame.unitId, pdu));
    };
    link.accept();
    try {
      await assert.rejects(client.readDeviceIdentification(1), /more follows from object 0, not after 0/);
      assert.equal(asked, 1);
    } finally {
      client.close();
    }
  });

  it("answers identification through the MBAP frame of any served unit", () => {
    const core = new ModbusServerCore({ units: [1] });
    const out = core.connection().onData(encodeMbap(1, 1, hex("2B 0E 01 00")));
    const f = decodeMbap(out.replies[0]);
    assert.ok(f.kind === "frame");
    const r = decodeDeviceIdReply(1, f.frame.pdu);
    assert.ok(typeof r !== "string");
    assert.deepEqual(r.objects, DEFAULT_IDENTIFICATION);
  });
});
