/**
 * Shared connections, counted by users: the first user of a key creates the connection, the last one
 * to let go closes it. A Modbus gateway drawn in a flow and the same gateway in the registry use one
 * socket; a redeploy that closes every user closes the socket, and nothing outlives its users.
 */
export interface PoolLease<T> {
  readonly value: T;
  /** Let go of the connection; the last release closes it. Idempotent. */
  release(): Promise<void>;
}

export class SharedPool<T> {
  private readonly entries = new Map<string, { value: T; users: number }>();

  constructor(private readonly destroy: (value: T) => void | Promise<void>) {}

  /** The connection for `key`, created by `create` when nobody holds one. */
  acquire(key: string, create: () => T): PoolLease<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { value: create(), users: 0 };
      this.entries.set(key, entry);
    }
    entry.users++;
    const held = entry;
    let released = false;
    return {
      value: held.value,
      release: async () => {
        if (released) return;
        released = true;
        held.users--;
        if (held.users === 0 && this.entries.get(key) === held) {
          this.entries.delete(key);
          await this.destroy(held.value);
        }
      },
    };
  }

  users(key: string): number {
    return this.entries.get(key)?.users ?? 0;
  }

  get size(): number {
    return this.entries.size;
  }
}
