import { createHash } from 'node:crypto';

import pg from 'pg';

import type { ChannelListener, SqlQueryable } from './driver.js';
import { ScopedSqlDriver } from './transaction-scope.js';
import { Backoff } from '../backoff.js';

export interface PgDriverOptions {
  connectionString: string;
  /** Pool size; appenders beyond it queue for a connection. */
  max?: number;
}

/** PostgreSQL server through a `pg` pool, plus one dedicated connection for LISTEN. */
export class PgDriver extends ScopedSqlDriver {
  private readonly pool: pg.Pool;

  constructor(private readonly options: PgDriverOptions) {
    super();
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.max ?? 20,
      // Half the pool is kept while idle; only what a burst opened beyond it closes after 10 s idle (pg's
      // default). With none kept, a burst after a quiet spell paid a new backend and the re-preparing of every
      // statement on each connection it opened: the first half second of an open loop at 500/s after a pause
      // held most of its slow answers (p99 40-46 -> 27-28 ms). Half, not all: the six processes of the systemd
      // layout keeping 21 connections each would pass PostgreSQL's default max_connections of 100.
      min: Math.ceil((options.max ?? 20) / 2),
      // Statements are prepared once per connection (below), so their plans are cached too. The store
      // only reads by key or in index order; a cached plan made while the log was nearly empty must not
      // go on scanning the whole table as it grows. Without JIT: a plan that must still scan (a small read
      // model table, a subquery) is then costed above jit_above_cost, and PostgreSQL compiled it on every
      // execution, 50-140 ms each (auto_explain), for statements that run in well under a millisecond.
      options: '-c enable_seqscan=off -c jit=off',
    });
    // An idle client that loses its connection emits 'error' on the pool; the next query gets a fresh one.
    this.pool.on('error', () => undefined);
  }

  /**
   * Every parameterised statement is prepared once per connection under a name derived from its text:
   * planning `SELECT … FROM focal_append(…)` anew on each append cost more than the append itself.
   */
  protected async queryOutside<Row>(text: string, params: readonly unknown[]): Promise<Row[]> {
    const result = await this.pool.query({ name: statementName(text), text, values: params as unknown[] });
    return result.rows as Row[];
  }

  protected async execOutside(text: string): Promise<void> {
    await this.pool.query(text);
  }

  protected async transactionOutside<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A checked-out client is the caller's to watch: the pool's listener no longer covers it, and an
    // 'error' event nobody listens to (the backend terminated between two statements) ends the process.
    // The failure reaches the caller through the statement that fails; the connection is dropped below.
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work({
        // With parameters, prepared as outside a transaction (a projection's statements run with every batch);
        // without, the simple protocol, which takes several statements in one text (migrations).
        query: async <Row>(text: string, params: readonly unknown[] = []) =>
          (params.length === 0
            ? await client.query(text)
            : await client.query({ name: statementName(text), text, values: params as unknown[] })
          ).rows as Row[],
        exec: async (text: string) => {
          await client.query(text);
        },
      });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      if (!broken) await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.off('error', onError);
      // A broken connection is destroyed rather than handed to the next caller.
      client.release(broken);
    }
  }

  /**
   * LISTEN and NOTIFY on a connection of its own. When that connection drops, it reconnects with backoff
   * and calls `onNotification` once connected again, since notifications sent meanwhile are lost.
   * The connection commits asynchronously: a NOTIFY needs a transaction id, hence a commit record, and
   * waiting for that record to reach disk would cost a WAL flush per signal for nothing a crash could lose
   * (the events themselves were flushed by their own commit).
   */
  async listen(channel: string, onNotification: () => void): Promise<ChannelListener> {
    let stopped = false;
    let client: pg.Client | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    const backoff = new Backoff(50, 5_000);
    const connect = async (attempt: number): Promise<void> => {
      const next = new pg.Client({ connectionString: this.options.connectionString });
      // Its own NOTIFYs come back to it too: this process woke its readers when it appended, and waking them
      // again for the echo cost each a read of the log per append.
      next.on('notification', (message) => {
        if (message.processId !== (next as unknown as { processID: number | null }).processID)
          onNotification();
      });
      next.on('error', () => {
        if (stopped || client !== next) return;
        client = undefined;
        next.end().catch(() => undefined);
        scheduleReconnect(0);
      });
      await next.connect();
      await next.query(`SET synchronous_commit = off; LISTEN ${pg.escapeIdentifier(channel)}`);
      if (stopped) {
        await next.end();
        return;
      }
      client = next;
      backoff.succeeded();
      if (attempt > 0) onNotification();
    };
    const scheduleReconnect = (attempt: number) => {
      const delay = backoff.next();
      retryTimer = setTimeout(() => {
        connect(attempt + 1).catch(() => !stopped && scheduleReconnect(attempt + 1));
      }, delay);
    };
    await connect(0);
    return {
      notify: async () => {
        if (!client) throw new Error('the notification connection is reconnecting');
        await client.query(`NOTIFY ${pg.escapeIdentifier(channel)}`);
      },
      stop: async () => {
        stopped = true;
        clearTimeout(retryTimer);
        await client?.end().catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `focal_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}
