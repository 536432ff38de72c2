/**
 * The Modbus side of the poll node: a term (one unit's items) read over the device's shared client on a
 * fixed interval, and on an input message an on-demand read of every point whose answer leaves on that
 * message. The IEC 104 side is iec104-poll.ts; the node file only picks one.
 */
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow } from "node-red";
import { errorMessage } from "../../src/core/errors";
import type { DataPoint } from "../../src/core/model/datapoint";
import { normalizeId } from "../../src/core/model/fields";
import { ModbusTerm, parseModbusItems, type ModbusItemRow } from "../../src/core/modbus/term";
import { Scheduler } from "../../src/core/scheduler";
import { systemClock } from "../../src/transport/connection";
import { messagesFor, type OutputMode } from "./messages";
import { isModbusDeviceNode } from "./modbus-device";
import { publisherFor, type Publisher } from "./publisher";
import { RateMeter } from "./rate";
import { connectionStatus, errorStatus, rateText, showConfigError } from "./status";

export interface ModbusPollDef {
  modbus: string;
  termId: string;
  unit: string;
  interval: string;
  items: ModbusItemRow[];
  output: OutputMode;
  maxGap: string;
  manager?: string;
}

export function runModbusPoll(RED: NodeAPI, node: Node, def: ModbusPollDef): void {
  const device = RED.nodes.getNode(def.modbus);
  const output: OutputMode = def.output === "point" ? "point" : "batch";
  let term: ModbusTerm;
  let intervalMs: number;
  let publisher: Publisher | undefined;
  try {
    if (!isModbusDeviceNode(device)) throw new Error(RED._("datacoll-poll.errors.noDevice"));
    if (!device.settings) throw new Error(device.settingsError);
    const termId = normalizeId(def.termId, "termId");
    const unit = Number(def.unit ?? 1);
    if (!Number.isInteger(unit) || unit < 0 || unit > 255) throw new Error("unit must be 0..255");
    intervalMs = Number(def.interval ?? 1000);
    if (!Number.isFinite(intervalMs) || intervalMs < 10) throw new Error("interval must be at least 10 ms");
    const maxGap = Number(def.maxGap ?? 10);
    term = new ModbusTerm(device.deviceId, termId, unit, parseModbusItems(def.items ?? []), {
      maxGap: Number.isInteger(maxGap) && maxGap >= 0 ? maxGap : 10,
    });
    publisher = publisherFor(RED, node, def.manager);
  } catch (err) {
    showConfigError(RED, node, "datacoll-poll.errors.config", err);
    return;
  }

  const lease = device.connect();
  const client = lease.value;
  const rate = new RateMeter();
  let lastStatus = 0;
  const showStatus = (force = false): void => {
    const now = Date.now();
    if (!force && now - lastStatus < 1000) return;
    lastStatus = now;
    const { failedCycles, lastError } = term.stats;
    // Not connected: why the link is down (refused, timed out) says more than the reads it stopped.
    if (client.state !== "connected")
      node.status(connectionStatus(client.state, client.linkReason ?? lastError));
    else if (lastError)
      node.status(errorStatus(`${rateText(rate.perSecond(now), failedCycles)}: ${lastError}`));
    else node.status(connectionStatus("connected", rateText(rate.perSecond(now), failedCycles)));
  };
  const stopWatching = client.onStateChange(() => showStatus(true));
  showStatus(true);

  const emit = (
    points: DataPoint[],
    send: (msgs: NodeMessage[][]) => void,
    extra: Record<string, unknown> = {},
  ): void => {
    rate.add(points.length, Date.now());
    publisher?.publish(points);
    const msgs = messagesFor(points, output, extra);
    if (msgs.length > 0) send([msgs]);
    showStatus();
  };

  const scheduler = new Scheduler(systemClock, (_id, err) => node.warn(errorMessage(err)));
  scheduler.set({
    id: `${term.deviceId}:${term.termId}`,
    intervalMs,
    run: async () => emit(await term.poll(client, "poll", Date.now), (m) => node.send(m)),
  });

  node.on("input", (msg: NodeMessageInFlow, send, done) => {
    // An on-demand read ("call"): every point, whatever its deadband, on the message that asked.
    term
      .poll(client, "call", Date.now, true)
      .then((points) => {
        const failed = points.filter((p) => p.error !== undefined);
        emit(points, send, { ...msg });
        done(
          failed.length > 0 ? new Error(`${failed.length} point(s) not read: ${failed[0].error}`) : undefined,
        );
      })
      .catch((err: unknown) => done(err instanceof Error ? err : new Error(String(err))));
  });

  node.on("close", (_removed: boolean, done: () => void) => {
    scheduler.close();
    stopWatching();
    void Promise.all([lease.release(), publisher?.close()]).then(
      () => done(),
      () => done(),
    );
  });
}
