/**
 * iec104: how fast the IEC 104 stack turns bytes into values and values into bytes.
 *
 * receive_points — float points per second through the master's whole receive path: a stream of
 *   interrogation answers (M_ME_NC_1, 30 points per ASDU, the most one holds) cut into 1,460-octet TCP
 *   segments, reassembled, sequence-checked and acknowledged by the link, decoded, and turned into
 *   samples. Baseline: jsmodbus (the codec the Modbus side depends on) parsing a stream of Modbus TCP
 *   read-holding-registers responses carrying the same 30 float32 values each, split by MBAP length,
 *   with the registers turned into floats — the same job for the other protocol of this product.
 * send_points — float points per second through the outstation's interrogation answer: points packed into
 *   ASDUs, encoded and framed as I-frames. Baseline: jsmodbus building the Modbus TCP responses for the
 *   same values.
 */
import { ModbusTCPResponse, responses } from "jsmodbus";
import {
  encodeIFrame,
  encodeSFrame,
  encodeUFrame,
  GOOD,
  type MonitorObject,
} from "../src/protocols/iec104/codec";
import { MasterSession, OutstationSession, samplesOf } from "../src/protocols/iec104/session";
import { median, ratePerSecond } from "./lib/measure";
import type { Benchmark } from "./lib/types";

const POINTS = 30_000;
const PER_FRAME = 30;
const SEGMENT = 1460;
const REPEATS = 15;

const clock = { now: (): number => 1_800_000_000_000 };

function values(): number[] {
  return Array.from({ length: POINTS }, (_, i) => Math.fround(i * 0.37 - 500));
}

function segments(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < stream.length; off += SEGMENT) out.push(stream.subarray(off, off + SEGMENT));
  return out;
}

/** An outstation holding every value, started; k large enough that a whole answer leaves at once. */
function iec104Station(vals: readonly number[]): OutstationSession {
  const station = new OutstationSession({ commonAddress: 1, link: { k: 32767, w: 8 } }, clock);
  for (let i = 0; i < vals.length; i++) {
    const p: MonitorObject = { kind: "float", ioa: 1000 + i, value: vals[i], quality: GOOD };
    station.definePoint(p);
  }
  station.receive(encodeUFrame("startdt-act"));
  return station;
}

const GI_ASDU = Buffer.from("64010600010000000014", "hex");

/** One interrogation answered: the octets on the wire. The master's frames are numbered by `n`. */
function iec104Answer(station: OutstationSession, n: number): Buffer {
  const frames = station
    .receive(encodeIFrame(n % 32768, station.link.sendSequence, GI_ASDU))
    .flatMap((e) => (e.type === "send" ? [e.bytes] : []));
  // Acknowledge the answer so the next one starts with an empty window, as a master would.
  station.receive(encodeSFrame(station.link.sendSequence));
  return Buffer.concat(frames);
}

/** Modbus TCP responses to read holding registers, 60 registers (30 float32) each. */
function modbusAnswer(vals: readonly number[]): Buffer {
  const frames: Buffer[] = [];
  for (let i = 0, id = 0; i < vals.length; i += PER_FRAME, id++) {
    const regs = Buffer.alloc(PER_FRAME * 4);
    for (let j = 0; j < PER_FRAME; j++) regs.writeFloatBE(vals[i + j], j * 4);
    frames.push(modbusFrame(id, regs));
  }
  return Buffer.concat(frames);
}

function modbusFrame(id: number, regs: Buffer): Buffer {
  const body = new responses.ReadHoldingRegistersResponseBody(regs.length, regs);
  const pdu = body.createPayload();
  const mbap = Buffer.alloc(7);
  mbap.writeUInt16BE(id, 0);
  mbap.writeUInt16BE(0, 2);
  mbap.writeUInt16BE(pdu.length + 1, 4);
  mbap.writeUInt8(1, 6);
  return Buffer.concat([mbap, pdu]);
}

const bench: Benchmark = {
  name: "iec104",
  async run() {
    const vals = values();
    const station = iec104Station(vals);
    let answers = 0;
    const iecSegments = segments(iec104Answer(station, answers++));
    const mbSegments = segments(modbusAnswer(vals));
    let sink = 0;

    const oursReceive = (): number => {
      const m = new MasterSession({ commonAddress: 1, interrogateOnStart: false }, clock);
      m.start();
      m.receive(encodeUFrame("startdt-con"));
      // The answer acknowledges the master's interrogation, so the master must have sent it.
      m.request({ kind: "interrogation" });
      let n = 0;
      for (const seg of iecSegments) {
        for (const e of m.receive(seg)) {
          if (e.type !== "data") continue;
          for (const s of samplesOf(e.asdu, 0)) {
            sink += s.value as number;
            n++;
          }
        }
      }
      if (n !== POINTS) throw new Error(`received ${n} of ${POINTS} points`);
      return n;
    };

    const baselineReceive = (): number => {
      let pending: Buffer = Buffer.alloc(0);
      let n = 0;
      for (const seg of mbSegments) {
        pending = pending.length === 0 ? seg : Buffer.concat([pending, seg]);
        let off = 0;
        while (pending.length - off >= 7) {
          const size = 6 + pending.readUInt16BE(off + 4);
          if (pending.length - off < size) break;
          const r = ModbusTCPResponse.fromBuffer(pending.subarray(off, off + size));
          if (r === null) throw new Error("jsmodbus refused a response");
          const regs = (r.body as InstanceType<typeof responses.ReadHoldingRegistersResponseBody>)
            .valuesAsBuffer;
          for (let j = 0; j < regs.length; j += 4) {
            sink += regs.readFloatBE(j);
            n++;
          }
          off += size;
        }
        pending = off === pending.length ? Buffer.alloc(0) : Buffer.from(pending.subarray(off));
      }
      if (n !== POINTS) throw new Error(`baseline received ${n} of ${POINTS} points`);
      return n;
    };

    const oursSend = (): number => {
      sink += iec104Answer(station, answers++).length;
      return POINTS;
    };

    const baselineSend = (): number => {
      sink += modbusAnswer(vals).length;
      return POINTS;
    };

    // Warm both sides up once so the first measured run is not the JIT's.
    oursReceive();
    baselineReceive();
    oursSend();
    baselineSend();

    // Ours and the baseline alternate run by run, so both see the same load on a shared machine.
    const rates = {
      receive: [] as number[],
      receiveBase: [] as number[],
      send: [] as number[],
      sendBase: [] as number[],
    };
    for (let r = 0; r < REPEATS; r++) {
      rates.receive.push(await ratePerSecond(1, oursReceive));
      rates.receiveBase.push(await ratePerSecond(1, baselineReceive));
      rates.send.push(await ratePerSecond(1, oursSend));
      rates.sendBase.push(await ratePerSecond(1, baselineSend));
    }
    const receive = median(rates.receive);
    const receiveBase = median(rates.receiveBase);
    const send = median(rates.send);
    const sendBase = median(rates.sendBase);
    if (sink === Number.NEGATIVE_INFINITY) console.log(sink);
    return {
      receive_points: {
        value: receive,
        unit: "points/s",
        baseline: `jsmodbus FC3 parse ${Math.round(receiveBase).toLocaleString("en-US")}/s`,
        ratio: receive / receiveBase,
      },
      send_points: {
        value: send,
        unit: "points/s",
        baseline: `jsmodbus FC3 build ${Math.round(sendBase).toLocaleString("en-US")}/s`,
        ratio: send / sendBase,
      },
    };
  },
};

export default bench;
