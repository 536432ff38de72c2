/**
 * One mysql2 pool per MySQL connection setting (a `datacoll-mysql` config node), shared by reference
 * count: the config node holds a share for its own life and every saver using it takes one more. A user
 * releases only its own share, and the pool ends when the last share is released — so a redeploy that
 * restarts one save node keeps the others' connections, and a redeploy of the config node closes its
 * pool once its users have let go. Nothing is attached to the shared pool per user, so closing one user
 * cannot strip another's listeners.
 */
import type { Pool } from "mysql2/promise";
import { createMysqlPool, type MysqlSettings } from "./mysql-settings";
import { endPool } from "./pool";

export interface PoolShare {
  readonly pool: Pool;
  readonly settings: MysqlSettings;
  /** Give this share back; the pool ends with the last one. Safe to call more than once. */
  release(): Promise<void>;
}

export class SharedMysqlPool {
  private pool: Pool | undefined;
  private refs = 0;

  constructor(
    readonly settings: MysqlSettings,
    private readonly make: (s: MysqlSettings) => Pool = createMysqlPool,
  ) {}

  /** Shares out now (the config node's own included). */
  get users(): number {
    return this.refs;
  }

  acquire(): PoolShare {
    // mysql2 opens connections on first use, so making the pool here costs no socket.
    const pool = (this.pool ??= this.make(this.settings));
    this.refs++;
    let released = false;
    return {
      pool,
      settings: this.settings,
      release: async () => {
        if (released) return;
        released = true;
        if (--this.refs > 0) return;
        this.pool = undefined;
        await endPool(pool);
      },
    };
  }
}
