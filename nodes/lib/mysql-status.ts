/**
 * A save node's status dot from its writer's stats: red with the reason while MySQL is away or refuses
 * the statement (rows wait in the backlog), yellow while a backlog drains, green when rows flow; the text
 * always carries the rate, the backlog and the dead letters.
 */
import type { NodeStatus } from "node-red";
import type { WriterStats } from "../../src/core/history/batch-writer";
import { rateText, shorten } from "./status";

function counts(s: WriterStats): string {
  const parts = [rateText(s.rowsPerSecond, 0)];
  if (s.backlog > 0) parts.push(`backlog ${s.backlog}`);
  if (s.deadLetters > 0) parts.push(`${s.deadLetters} dead`);
  if (s.dropped > 0) parts.push(`${s.dropped} dropped`);
  return parts.join(" · ");
}

export function saverStatus(s: WriterStats): NodeStatus {
  if (s.state === "closed") return { fill: "grey", shape: "ring", text: "closed" };
  if (s.state === "retrying") {
    const e = s.lastError;
    const why = e?.kind === "connection" ? `MySQL away (${e.code ?? e.message})` : (e?.message ?? "retrying");
    return { fill: "red", shape: "ring", text: shorten(`${why} · backlog ${s.backlog}`, 64) };
  }
  if (s.state === "queued" && s.backlog > 0)
    return { fill: "yellow", shape: "dot", text: `draining · ${counts(s)}` };
  return { fill: "green", shape: "dot", text: counts(s) };
}

/** The reason to log once when an outage starts (the status shows it short). */
export function outageReason(s: WriterStats): string | undefined {
  return s.state === "retrying" ? (s.lastError?.message ?? "unknown") : undefined;
}
