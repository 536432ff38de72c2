/**
 * The IEC 104 device dialog's "test connection": for each outstation the dialog lists, one TCP connection
 * of our own transport driving our own link session — STARTDT act, STARTDT con within t1, then STOPDT act
 * and STOPDT con (also within t1) before the socket is closed — and the answer in plain words. The dialog's
 * t0 is the connect timeout, as for the device node. No data is asked for: a station that confirms
 * STARTDT has shown the link and the protocol work. Everything is closed before the answer is given.
 */
import {
  LinkSession,
  type LinkEvent,
  type LinkParameters,
  type LinkState,
} from "../../protocols/iec104/session";
import type { TimeSource } from "../../protocols/clock";
import {
  Connection,
  systemClock,
  type DrivenSession,
  type TransportAction,
} from "../../transport/connection";
import { tcpSocketFactory } from "../../transport/socket";
import { oneAttempt, probe, type LinkTestAnswer } from "../link-test";
import { parseIec104DeviceSettings, type RawIec104DeviceSettings } from "./devices";

export interface Iec104LinkTest {
  readonly hosts: readonly string[];
  readonly port: number;
  readonly link: Partial<LinkParameters>;
  readonly connectTimeoutMs: number;
}

/** The dialog's fields, validated as the device node validates them; the error names the field. */
export function parseIec104LinkTest(raw: RawIec104DeviceSettings): Iec104LinkTest {
  const s = parseIec104DeviceSettings(raw);
  return {
    hosts: s.hosts,
    port: s.port,
    link: s.master.link ?? {},
    connectTimeoutMs: s.connection.connectTimeoutMs ?? 30_000,
  };
}

type ProbeAction = { readonly type: "link"; readonly state: LinkState };

/** A controlling link that starts data transfer on connect and stops it again once started. */
class StartStopProbe implements DrivenSession<ProbeAction> {
  private link: LinkSession | undefined;

  constructor(
    private readonly params: Partial<LinkParameters>,
    private readonly clock: TimeSource,
  ) {}

  onConnected(): (ProbeAction | TransportAction)[] {
    this.link = new LinkSession("controlling", this.clock, this.params);
    return this.map(this.link.start());
  }

  onData(bytes: Uint8Array): (ProbeAction | TransportAction)[] {
    return this.link === undefined ? [] : this.map(this.link.receive(bytes));
  }

  onDisconnected(): (ProbeAction | TransportAction)[] {
    this.link = undefined;
    return [];
  }

  tick(): (ProbeAction | TransportAction)[] {
    return this.link === undefined ? [] : this.map(this.link.tick());
  }

  nextDeadline(): number | undefined {
    return this.link?.nextDeadline();
  }

  private map(events: readonly LinkEvent[]): (ProbeAction | TransportAction)[] {
    const out: (ProbeAction | TransportAction)[] = [];
    for (const e of events) {
      if (e.type === "send") out.push({ type: "write", bytes: e.bytes });
      else if (e.type === "close") out.push(e);
      else if (e.type === "state") {
        out.push({ type: "link", state: e.state });
        if (e.state === "started" && this.link) out.push(...this.map(this.link.stop()));
      }
      // Data the station sends between STARTDT con and STOPDT con is not what the test asks about.
    }
    return out;
  }
}

/** Test every outstation in turn; ok when all of them work. Never throws. */
export async function testIec104Link(t: Iec104LinkTest): Promise<LinkTestAnswer> {
  const answers: LinkTestAnswer[] = [];
  for (const host of t.hosts) answers.push(await testOne(host, t));
  if (answers.length === 1) return answers[0];
  return {
    ok: answers.every((a) => a.ok),
    message: answers.map((a, i) => `${t.hosts[i]}: ${a.message}`).join(" "),
  };
}

async function testOne(host: string, t: Iec104LinkTest): Promise<LinkTestAnswer> {
  const where = `${host}:${t.port}`;
  const t1 = t.link.t1Ms ?? 15_000;
  let started = false;
  let stopped: () => void = () => undefined;
  const whenStopped = new Promise<void>((resolve) => (stopped = resolve));
  const connection = new Connection<ProbeAction>({
    // The probe and the connection read one clock (the default, the system's).
    session: new StartStopProbe(t.link, systemClock),
    socketFactory: tcpSocketFactory({ host, port: t.port }),
    options: oneAttempt(t.connectTimeoutMs),
    onAction: (a) => {
      if (a.state === "started") started = true;
      if (a.state === "stopped" && started) stopped();
    },
  });
  const at = { host, port: t.port, service: "an IEC 104 outstation", timeoutMs: t.connectTimeoutMs };
  return probe(connection, at, async (ended) => {
    const lost = await Promise.race([whenStopped.then(() => undefined), ended]);
    if (lost === undefined) {
      return { ok: true, message: `Connected to ${where}; the station confirmed STARTDT and STOPDT.` };
    }
    if (started) {
      return {
        ok: true,
        message: `Connected to ${where}; the station confirmed STARTDT, then the link ended before STOPDT con (${lost}).`,
      };
    }
    if (/STARTDT con within t1/i.test(lost)) {
      return {
        ok: false,
        message:
          `Connected to ${where}, but the station did not confirm STARTDT within t1 (${t1} ms). ` +
          "Is it an IEC 104 outstation, and does it accept this master?",
      };
    }
    return {
      ok: false,
      message: `Connected to ${where}, but the station ended the link before confirming STARTDT (${lost}).`,
    };
  });
}
