/**
 * The Modbus device dialog's "test connection": one TCP connection with our own client (the dialog's
 * host, port and timeout, not a deployed node's — the user tests before deploying), one harmless read of
 * holding register 0 of the unit the dialog names, and the answer in plain words. An exception reply
 * still proves the link (the device parsed the request and answered), so it counts as ok with its name.
 * The client is closed before the answer is given: no socket or timer outlives the test.
 */
import { DataCollError } from "../errors";
import { oneAttempt, probe, type LinkTestAnswer } from "../link-test";
import { ModbusRequestError } from "./client";
import { describeException } from "../../protocols/modbus/codec/exceptions";
import { modbusClientFor, parseModbusDeviceSettings } from "./devices";
import type { ModbusFraming } from "../../protocols/modbus/codec/framing";
import type { SerialLineSettings } from "./serial-line";

export interface ModbusLinkTest {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly unit: number;
  /** The dialog's transport: the test speaks the framing the device will. */
  readonly framing: ModbusFraming;
  /** The serial line, for the serial transports (then host and port are unused). */
  readonly serial?: SerialLineSettings;
}

/** The dialog's fields, validated as the device node validates them; the error names the field. */
export function parseModbusLinkTest(raw: Readonly<Record<string, unknown>>): ModbusLinkTest {
  const s = parseModbusDeviceSettings({
    host: raw.host,
    port: raw.port,
    timeout: raw.timeout,
    transport: raw.transport,
    serialPort: raw.serialPort,
    baudRate: raw.baudRate,
    dataBits: raw.dataBits,
    parity: raw.parity,
    stopBits: raw.stopBits,
    turnaround: raw.turnaround,
  });
  const u = raw.unit;
  const unit = u === undefined || u === null || u === "" ? 1 : Number(String(u).trim());
  if (!Number.isInteger(unit) || unit < 0 || unit > 255) {
    throw new DataCollError("invalid", "unit must be a whole number from 0 to 255", "unit");
  }
  const framing = s.session.framing ?? "tcp";
  return {
    host: s.host,
    port: s.port,
    timeoutMs: s.session.timeoutMs ?? 1000,
    unit,
    framing,
    serial: s.serial,
  };
}

/** The transport as the dialog names it, for the answer's sentences. */
function framingName(f: ModbusFraming): string {
  switch (f) {
    case "tcp":
      return "Modbus TCP";
    case "rtu-over-tcp":
      return "RTU over TCP";
    case "udp":
      return "Modbus UDP";
    case "rtu-over-udp":
      return "RTU over UDP";
    case "serial-rtu":
      return "Modbus RTU";
    case "serial-ascii":
      return "Modbus ASCII";
  }
}

type ReadOutcome =
  { readonly value: number } | { readonly failure: ModbusRequestError } | { readonly lost: string };

/** Connect, read one register, close. Never throws: the answer is for a person. */
export async function testModbusLink(t: ModbusLinkTest): Promise<LinkTestAnswer> {
  const client = modbusClientFor(
    {
      host: t.host,
      port: t.port,
      serial: t.serial,
      session: { timeoutMs: t.timeoutMs, framing: t.framing },
      connection: {},
    },
    oneAttempt(t.timeoutMs),
  );
  return probe(client, { ...t, service: `a ${framingName(t.framing)} device` }, async (ended) => {
    const outcome = await Promise.race<ReadOutcome>([
      client.readHoldingRegisters(t.unit, 0, 1).then(
        ([value]) => ({ value }),
        (err: unknown) => {
          if (err instanceof ModbusRequestError) return { failure: err };
          return { failure: new ModbusRequestError({ kind: "malformed-reply", message: String(err) }) };
        },
      ),
      ended.then((lost) => ({ lost })),
    ]);
    return explain(t.serial !== undefined ? t.serial.path : `${t.host}:${t.port}`, t, outcome);
  });
}

function explain(where: string, t: ModbusLinkTest, outcome: ReadOutcome): LinkTestAnswer {
  const unit = `unit ${t.unit}`;
  if ("value" in outcome) {
    return {
      ok: true,
      message: `Connected to ${where}; ${unit} answered (holding register 0 = ${outcome.value}).`,
    };
  }
  const failure = "failure" in outcome ? outcome.failure.failure : undefined;
  if (failure?.kind === "exception" && failure.exceptionCode !== undefined) {
    return {
      ok: true,
      message:
        `Connected to ${where}; ${unit} answered ${describeException(failure.exceptionCode)} to a read of ` +
        "holding register 0. The link works; check the unit id and the register map.",
    };
  }
  if (failure?.kind === "timeout") {
    return {
      ok: false,
      message:
        `Connected to ${where}, but ${unit} did not answer within ${t.timeoutMs} ms. ` +
        `Check the unit id, and that the device speaks ${framingName(t.framing)} on this port.`,
    };
  }
  const lost = "lost" in outcome ? outcome.lost : undefined;
  if (lost !== undefined || failure?.kind === "disconnected" || failure?.kind === "closed") {
    return {
      ok: false,
      message:
        `Connected to ${where}, but it closed the connection (${lost ?? failure?.message}). ` +
        `Is it a ${framingName(t.framing)} device, and does it accept another client?`,
    };
  }
  return { ok: false, message: `Connected to ${where}, but the read failed: ${failure?.message}` };
}
