/** What the SQL event store needs from a PostgreSQL connection, server (pg) or embedded (PGlite). */
export interface SqlQueryable {
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a script of several statements without parameters. */
  exec(text: string): Promise<void>;
}

export interface SqlDriver extends SqlQueryable {
  /**
   * Runs `work` in a transaction. Everything done from inside `work` through this driver runs on that
   * transaction, and a nested `transaction` is a savepoint (see ScopedSqlDriver).
   */
  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /** Whether the caller is inside one of this driver's transactions. */
  readonly inTransaction: boolean;
  /**
   * Calls `onNotification` for every NOTIFY on `channel`, and sends NOTIFYs on it. Absent where one process
   * owns the database (PGlite): its own commits are all there is to hear.
   */
  listen?(channel: string, onNotification: () => void): Promise<ChannelListener>;
  close(): Promise<void>;
}

export interface ChannelListener {
  notify(): Promise<void>;
  stop(): Promise<void>;
}

/** An error raised by PostgreSQL, as both drivers report it. */
export interface PostgresError {
  code?: string;
  message: string;
  detail?: string;
  constraint?: string;
}
