import pg from 'pg';

import type { SqlDriver, SqlQueryable } from './driver.js';

export interface PgDriverOptions {
  connectionString: string;
  /** Pool size; appenders beyond it queue for a connection. */
  max?: number;
}

/** PostgreSQL server through a `pg` pool, plus one dedicated connection for LISTEN. */
export class PgDriver implements SqlDriver {
  private readonly pool: pg.Pool;

  constructor(private readonly options: PgDriverOptions) {
    this.pool = new pg.Pool({ connectionString: options.connectionString, max: options.max ?? 20 });
    // An idle client that loses its connection emits 'error' on the pool; the next query gets a fresh one.
    this.pool.on('error', () => undefined);
  }

  async query<Row>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
    const result = await this.pool.query(text, params as unknown[]);
    return result.rows as Row[];
  }

  async exec(text: string): Promise<void> {
    await this.pool.query(text);
  }

  async transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work({
        query: async <Row>(text: string, params: readonly unknown[] = []) =>
          (await client.query(text, params as unknown[])).rows as Row[],
        exec: async (text: string) => {
          await client.query(text);
        },
      });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * LISTEN on a connection of its own. When that connection drops, it reconnects with backoff and calls
   * `onNotification` once connected again, since notifications sent meanwhile are lost.
   */
  async listen(channel: string, onNotification: () => void): Promise<() => Promise<void>> {
    let stopped = false;
    let client: pg.Client | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    const connect = async (attempt: number): Promise<void> => {
      const next = new pg.Client({ connectionString: this.options.connectionString });
      next.on('notification', () => onNotification());
      next.on('error', () => {
        if (stopped || client !== next) return;
        client = undefined;
        next.end().catch(() => undefined);
        scheduleReconnect(0);
      });
      await next.connect();
      await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      if (stopped) {
        await next.end();
        return;
      }
      client = next;
      if (attempt > 0) onNotification();
    };
    const scheduleReconnect = (attempt: number) => {
      const delay = Math.min(5_000, 50 * 2 ** attempt);
      retryTimer = setTimeout(() => {
        connect(attempt + 1).catch(() => !stopped && scheduleReconnect(attempt + 1));
      }, delay);
    };
    await connect(0);
    return async () => {
      stopped = true;
      clearTimeout(retryTimer);
      await client?.end().catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
