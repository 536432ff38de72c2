/**
 * The IEC 104 side of the poll node: a term (one station's items by IOA) fed by the shared master's data —
 * interrogation answers, spontaneous and periodic data — and, on an input message, a general
 * interrogation, a counter interrogation or a read command whose answer leaves on that message.
 */
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow } from "node-red";
import { errorMessage } from "../../src/core/errors";
import type { DataPoint } from "../../src/core/model/datapoint";
import { normalizeId } from "../../src/core/model/fields";
import type { MasterRequest } from "../../src/protocols/iec104/session";
import { Iec104Term, parseIec104Items, type Iec104ItemRow } from "../../src/core/iec104/term";
import { isIec104DeviceNode } from "./iec104-device";
import { messagesFor, type OutputMode } from "./messages";
import { publisherFor, type Publisher } from "./publisher";
import { RateMeter } from "./rate";
import { connectionStatus, errorStatus, rateText, showConfigError } from "./status";

export interface Iec104PollDef {
  iec104: string;
  termId: string;
  commonAddress: string;
  giInterval: string;
  iecItems: Iec104ItemRow[];
  output: OutputMode;
  manager?: string;
}

interface CallMessage extends NodeMessageInFlow {
  request?: unknown;
  ioa?: unknown;
  item?: unknown;
}

/** What an input message asks for: a read of one IOA, a counter interrogation, or a general interrogation. */
function requestOf(msg: CallMessage, term: Iec104Term): MasterRequest {
  const commonAddress = term.commonAddress;
  if (msg.request === "counter" || msg.request === "counter-interrogation") {
    return { kind: "counter-interrogation", commonAddress };
  }
  const byItem = typeof msg.item === "string" ? term.pointOf(msg.item)?.ioa : undefined;
  const ioa = msg.ioa !== undefined ? Number(msg.ioa) : byItem;
  if (msg.request === "read" || ioa !== undefined) {
    if (ioa === undefined || !Number.isInteger(ioa) || ioa < 1 || ioa > 0xffffff) {
      throw new Error("a read needs msg.ioa (1..16777215) or msg.item naming an item of the table");
    }
    return { kind: "read", ioa, commonAddress };
  }
  return { kind: "interrogation", commonAddress };
}

export function runIec104Poll(RED: NodeAPI, node: Node, def: Iec104PollDef): void {
  const device = RED.nodes.getNode(def.iec104);
  const output: OutputMode = def.output === "point" ? "point" : "batch";
  let term: Iec104Term;
  let giMs: number;
  let publisher: Publisher | undefined;
  try {
    if (!isIec104DeviceNode(device)) throw new Error(RED._("datacoll-poll.errors.noIec104"));
    if (!device.settings) throw new Error(device.settingsError);
    const termId = normalizeId(def.termId, "termId");
    const text = def.commonAddress === undefined ? "" : String(def.commonAddress).trim();
    const ca = text === "" ? device.settings.master.commonAddress : Number(text);
    if (!Number.isInteger(ca) || ca < 1 || ca > 65534) throw new Error("common address must be 1..65534");
    giMs = Number(def.giInterval || 0) * 1000;
    if (!Number.isFinite(giMs) || giMs < 0)
      throw new Error("interrogation interval must be 0 or more seconds");
    term = new Iec104Term(device.deviceId, termId, ca, parseIec104Items(def.iecItems ?? []));
    publisher = publisherFor(RED, node, def.manager);
  } catch (err) {
    showConfigError(RED, node, "datacoll-poll.errors.config", err);
    return;
  }
  const ownCa = device.settings.master.commonAddress;
  const lease = device.connect();
  const master = lease.value;
  const rate = new RateMeter();
  let lastStatus = 0;
  let failures = 0;
  const showStatus = (force = false): void => {
    const now = Date.now();
    if (!force && now - lastStatus < 1000) return;
    lastStatus = now;
    const problem = term.stats.lastError;
    const text = rateText(rate.perSecond(now), failures);
    if (master.state !== "connected")
      node.status(connectionStatus(master.state, master.linkReason ?? master.problem));
    else if (!master.started) node.status({ fill: "yellow", shape: "ring", text: "starting data transfer" });
    else if (problem) node.status(errorStatus(`${text}: ${problem}`));
    else node.status(connectionStatus("connected", text));
  };

  // While an input message's request runs, the points it asked for leave on that message.
  let collecting: DataPoint[] | undefined;
  const emit = (points: readonly DataPoint[], send: (m: NodeMessage[][]) => void, extra = {}): void => {
    rate.add(points.length, Date.now());
    publisher?.publish(points);
    const msgs = messagesFor(points, output, extra);
    if (msgs.length > 0) send([msgs]);
    showStatus();
  };
  // The master hands over the ASDUs of one read of the link one at a time, a few to a dozen of them under
  // a flood; their points leave together, one message and one publish after the read is taken in (a
  // microtask), rather than one per ASDU: the flow's cost is per message more than per point (the next
  // node's turn, a function node's sandbox), and a message per ASDU made it most of the CPU.
  let pending: DataPoint[] = [];
  const flush = (): void => {
    const points = pending;
    pending = [];
    if (points.length > 0) emit(points, (m) => node.send(m));
  };
  const queue = (points: readonly DataPoint[]): void => {
    if (pending.length === 0) queueMicrotask(flush);
    for (const p of points) pending.push(p);
  };
  const interrogate = (): void => {
    master.request({ kind: "interrogation", commonAddress: term.commonAddress }).catch((err: unknown) => {
      failures++;
      node.warn(errorMessage(err));
      showStatus(true);
    });
  };

  const offs = [
    master.onData((asdu, at) => {
      const points = term.accept(asdu, at);
      if (points.length === 0) return;
      if (collecting !== undefined) {
        const asked = points.filter((p) => p.cause === "interrogation" || p.cause === "call");
        collecting.push(...asked);
        if (asked.length === points.length) return;
        queue(points.filter((p) => p.cause !== "interrogation" && p.cause !== "call"));
        return;
      }
      queue(points);
    }),
    master.onStateChange((c) => {
      // The link is lost: the station's last values are no longer topical, said once per item.
      if (c.state === "backoff") queue(term.linkLost(Date.now(), c.reason ?? "disconnected"));
      showStatus(true);
    }),
    // The master interrogates the device's own station at start; another station is this node's to ask.
    master.onStarted(() => {
      showStatus(true);
      if (term.commonAddress !== ownCa) interrogate();
    }),
  ];
  // Joining a link that already runs: the start-up interrogation is over, so ask for this term's values.
  if (master.started) interrogate();
  showStatus(true);
  const timer = giMs > 0 ? setInterval(() => master.started && interrogate(), giMs) : undefined;

  node.on("input", (msg: CallMessage, send, done) => {
    let req: MasterRequest;
    try {
      req = requestOf(msg, term);
    } catch (err) {
      done(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (collecting !== undefined) {
      done(new Error("a request of this node is still in progress"));
      return;
    }
    const got: DataPoint[] = [];
    collecting = got;
    master
      .request(req)
      .then(() => {
        collecting = undefined;
        flush();
        emit(got, send, { ...msg });
        done();
      })
      .catch((err: unknown) => {
        collecting = undefined;
        failures++;
        flush();
        if (got.length > 0) emit(got, send, { ...msg });
        showStatus(true);
        done(err instanceof Error ? err : new Error(String(err)));
      });
  });

  node.on("close", (_removed: boolean, done: () => void) => {
    if (timer !== undefined) clearInterval(timer);
    for (const off of offs) off();
    void Promise.all([lease.release(), publisher?.close()]).then(
      () => done(),
      () => done(),
    );
  });
}
