/**
 * Operators' alarm commands between instances. Several instances sharing a Redis namespace run a check
 * node's alarms once: the lease holder (the active checker) owns them, and an operator may be talking to
 * any instance. So a standby instance publishes each command (ack, shelve, unshelve) on
 * `<ns>alarm-commands` and the active one, subscribed there, runs it. A command nobody hears is an
 * acknowledgement lost, so a failed subscription is reported (once) and tried again until it holds; its
 * state is part of the check node's status.
 */
import type { Redis } from "ioredis";
import { closeRedis } from "../store/redis-close";
import { systemClock } from "../../transport/connection";
import type { Clock, TimerHandle } from "../../protocols/clock";
import { errorMessage } from "../errors";
import { COMMAND_NAMES } from "./command";

/** The channel's name in a namespace. */
export function alarmCommandsChannel(namespace: string): string {
  return `${namespace}alarm-commands`;
}

/** One command as it travels: for a check node (`node`, its id) from an instance (`from`). */
interface Note {
  readonly node?: unknown;
  readonly from?: unknown;
  readonly topic?: unknown;
  readonly payload?: unknown;
}

export interface AlarmCommandsOptions {
  /** Publishes forwarded commands; shared with others (the lease's connection), left open by `close`. */
  readonly publisher: Redis;
  /** Subscribes to the channel; this object's own (a subscribed connection can do nothing else). */
  readonly subscriber: Redis;
  readonly namespace: string;
  readonly instanceId: string;
  /** The check node's id: commands for other check nodes on the channel are not ours. */
  readonly nodeId: string;
  readonly clock?: Clock;
  /** How long after a failed subscription to try again. */
  readonly retryMs?: number;
  /** A command another instance forwarded to this node. */
  readonly onCommand: (topic: string, payload: unknown) => void;
  /**
   * The subscription failed (with the reason; said once until it holds again) or holds again after a
   * failure (undefined). Forwarded commands are not heard meanwhile.
   */
  readonly onListening: (reason: string | undefined) => void;
}

export class AlarmCommands {
  readonly channel: string;
  private readonly clock: Clock;
  private failure: string | undefined;
  private retry: TimerHandle | undefined;
  private closed = false;

  constructor(private readonly opts: AlarmCommandsOptions) {
    this.clock = opts.clock ?? systemClock;
    this.channel = alarmCommandsChannel(opts.namespace);
    // ioredis reconnects and subscribes again by itself; a failure that matters reaches `subscribe`.
    opts.subscriber.on("error", () => undefined);
    opts.subscriber.on("message", (channel: string, text: string) => this.receive(channel, text));
    this.subscribe();
  }

  /** Why forwarded commands are not heard now; undefined while the subscription holds (or is on its way). */
  get problem(): string | undefined {
    return this.failure;
  }

  /** Hand a command to the active instance; rejects when it could not be published. */
  async forward(topic: string, payload: unknown): Promise<void> {
    const { nodeId: node, instanceId: from } = this.opts;
    await this.opts.publisher.publish(this.channel, JSON.stringify({ node, from, topic, payload }));
  }

  /** Stop retrying and close the subscriber connection. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retry !== undefined) this.clock.clearTimer(this.retry);
    this.retry = undefined;
    // QUIT when up, dropped at once when away (see redis-close.ts).
    await closeRedis(this.opts.subscriber);
  }

  private subscribe(): void {
    this.retry = undefined;
    this.opts.subscriber.subscribe(this.channel).then(
      () => {
        if (this.closed || this.failure === undefined) return;
        this.failure = undefined;
        this.opts.onListening(undefined);
      },
      (err: unknown) => {
        if (this.closed) return;
        const first = this.failure === undefined;
        this.failure = errorMessage(err);
        if (first) this.opts.onListening(this.failure);
        this.retry = this.clock.setTimer(() => this.subscribe(), this.opts.retryMs ?? 1000);
      },
    );
  }

  private receive(channel: string, text: string): void {
    if (channel !== this.channel) return;
    let note: Note | null;
    try {
      note = JSON.parse(text) as Note | null;
    } catch {
      return; // not a note of ours: someone else's message on the channel
    }
    if (typeof note !== "object" || note === null) return;
    if (note.node !== this.opts.nodeId || note.from === this.opts.instanceId) return;
    if (typeof note.topic !== "string" || !COMMAND_NAMES.has(note.topic)) return;
    this.opts.onCommand(note.topic, note.payload);
  }
}
