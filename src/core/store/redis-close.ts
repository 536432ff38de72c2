/**
 * Closing a Redis connection without waiting for a server that does not answer. Every owner of a
 * connection (the store, the leases, a check node, a saver's backlog) closes through here, so a stop
 * with Redis down ends as soon as the owners are done instead of at Node-RED's 15 s close timeout.
 *
 * Why a helper and not `quit()` then `disconnect()`: ioredis keeps the commands sent while the server
 * is away in an offline queue, and
 * - QUIT on a connection that is not ready joins that queue when it is not empty, and waits for the
 *   next reconnect (or for `maxRetriesPerRequest` failed ones, seconds apart) like the rest;
 * - `disconnect()` while the connection waits to reconnect (status "reconnecting") only cancels the
 *   reconnect: with no socket left to close, ioredis never ends the connection, and the queued commands
 *   never settle, so whoever awaits them (a registry load, a backlog read) hangs for good.
 * Seen with ioredis 6.0.0.
 */
import type { Cluster, Redis } from "ioredis";
import { errorMessage } from "../errors";

/**
 * QUIT a connection that is ready, so replies already on their way still arrive; drop any other at
 * once, rejecting its queued commands with ioredis's "Connection is closed.". Resolves when the
 * connection has ended or been told to (a QUIT that fails is followed by a disconnect); never rejects.
 */
export async function closeRedis(c: Redis | Cluster): Promise<void> {
  if (c.status === "end") return;
  if (c.status === "ready") {
    try {
      await c.quit();
      return;
    } catch (err) {
      process.emitWarning(`datacoll: Redis QUIT failed, disconnecting: ${errorMessage(err)}`);
    }
  }
  dropRedis(c);
}

/**
 * End a connection now, whatever its state, rejecting the commands it holds. For a connection that
 * must not wait for a reply (a blocked XREADGROUP) or whose server is away.
 */
export function dropRedis(c: Redis | Cluster): void {
  if (c.status === "end") return;
  // A Cluster ends its node connections itself on disconnect().
  if (c.status === "reconnecting" && !c.isCluster) {
    // No socket to close (see the header): start a connection and disconnect it in the same tick. The
    // connector sees the disconnect before it opens a socket, fails the connect with "Connection is
    // closed.", and ioredis then rejects the offline queue and ends the connection (status "end").
    c.connect().catch(() => undefined); // that failure is the point; the queue's rejections report it
  }
  c.disconnect();
}

/**
 * An owner's close: run `work` (its last writes, stopping what uses the connection), then close `c`.
 * While `work` runs, a connection that is not ready, or stops being ready, is dropped at once, so the
 * commands `work` waits for fail instead of waiting for a server that is away. What they would have
 * written is lost either way: the server is not there to take it.
 */
export async function closeRedisAfter(c: Redis | Cluster, work: () => Promise<void>): Promise<void> {
  const dropIfDown = (): void => {
    if (c.status !== "ready") dropRedis(c);
  };
  dropIfDown();
  c.on("close", dropIfDown);
  try {
    await work();
  } finally {
    c.off("close", dropIfDown);
    await closeRedis(c);
  }
}
