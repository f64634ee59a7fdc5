import { parseStreamId, type DomainEvent } from '@focal/domain';
import {
  foldEvent,
  type EventFilter,
  type EventHandlers,
  type RecordedEvent,
  type SqlProjection,
  type SqlQueryable,
} from '@focal/events';

/**
 * Reads and writes for projections that fold a batch of events into rows in memory: load the rows the batch
 * touches, fold, then write each touched row once. A rebuild then costs a few statements per batch.
 */
export async function loadRows<T extends object>(
  tx: SqlQueryable,
  table: string,
  key: string,
  wanted: Iterable<string>,
): Promise<Map<string, T>> {
  const ids = [...new Set(wanted)];
  if (ids.length === 0) return new Map();
  const rows = await tx.query<T & Record<string, unknown>>(
    `SELECT * FROM ${table} WHERE ${key} = ANY($1::text[])`,
    [ids],
  );
  return new Map(rows.map((row) => [String(row[key]), row as T]));
}

/** Whole rows, inserted or replaced, in one statement; `keys` is the table's primary key. */
export async function writeRows(
  tx: SqlQueryable,
  table: string,
  keys: readonly string[],
  rows: readonly object[],
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const updates = columns.filter((column) => !keys.includes(column));
  await tx.query(
    `INSERT INTO ${table} (${columns.join(', ')})
     SELECT ${columns.join(', ')} FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb)
     ON CONFLICT (${keys.join(', ')}) DO UPDATE SET ${updates.map((column) => `${column} = EXCLUDED.${column}`).join(', ')}`,
    [JSON.stringify(rows)],
  );
}

/** The id of the entity whose stream holds the event. */
export const entityIdOf = (event: { streamId: string }): string => parseStreamId(event.streamId)!.id;

/**
 * Rows of one table as a batch folds them: those loaded before the fold, keyed as the projection chooses
 * (`<thread>/<message>` for a two-column key), changed in memory; `write` stores each changed one once.
 */
export class FoldedRows<R extends object> {
  private readonly touched = new Set<string>();

  constructor(
    private readonly table: string,
    private readonly keys: readonly string[],
    private readonly rows = new Map<string, R>(),
  ) {}

  /** The rows of `table` the batch may touch: by one key column, or by two (each with its own values). */
  static async load<R extends object>(
    tx: SqlQueryable,
    table: string,
    keys: readonly [string] | readonly [string, string],
    ...wanted: readonly Iterable<string>[]
  ): Promise<FoldedRows<R>> {
    const rows =
      keys.length === 1
        ? await loadRows<R>(tx, table, keys[0], wanted[0] ?? [])
        : await loadPairs<R>(tx, table, keys, wanted[0] ?? [], wanted[1] ?? []);
    return new FoldedRows(table, keys, rows);
  }

  get(key: string): R | undefined {
    return this.rows.get(key);
  }

  /** A new row, unless it is there already (its event applied again). */
  add(key: string, row: R): void {
    if (this.rows.has(key)) return;
    this.rows.set(key, row);
    this.touched.add(key);
  }

  /** A row changed by an event; a row that is not there has nothing to change. */
  change(key: string, changes: Partial<R>): void {
    const row = this.rows.get(key);
    if (!row) return;
    this.rows.set(key, { ...row, ...changes });
    this.touched.add(key);
  }

  /** The row of the event's own stream, changed by it and at its stream's version (the row's ETag). */
  changeFor(
    this: FoldedRows<R & { version: number }>,
    event: { streamId: string; streamVersion: number },
    changes: Partial<R>,
  ): void {
    this.change(entityIdOf(event), { ...changes, version: event.streamVersion } as Partial<
      R & { version: number }
    >);
  }

  write(tx: SqlQueryable): Promise<void> {
    return writeRows(
      tx,
      this.table,
      this.keys,
      [...this.touched].map((key) => this.rows.get(key)!),
    );
  }
}

/** The rows of a table with a two-column key, among the given values of each, keyed `<first>/<second>`. */
async function loadPairs<T extends object>(
  tx: SqlQueryable,
  table: string,
  [first, second]: readonly [string, string],
  firsts: Iterable<string>,
  seconds: Iterable<string>,
): Promise<Map<string, T>> {
  const wanted = [[...new Set(firsts)], [...new Set(seconds)]];
  if (wanted[0]!.length === 0 || wanted[1]!.length === 0) return new Map();
  const rows = await tx.query<T & Record<string, unknown>>(
    `SELECT * FROM ${table} WHERE ${first} = ANY($1::text[]) AND ${second} = ANY($2::text[])`,
    wanted,
  );
  return new Map(rows.map((row) => [`${String(row[first])}/${String(row[second])}`, row as T]));
}

/** Folds a batch into its rows in log order, then writes each changed row once. */
export async function foldBatch<
  E extends DomainEvent,
  Fold extends Record<keyof Fold, { write(tx: SqlQueryable): Promise<void> }>,
>(
  tx: SqlQueryable,
  handlers: EventHandlers<E, Fold>,
  events: readonly RecordedEvent[],
  fold: Fold,
): Promise<void> {
  for (const event of events) foldEvent(handlers, event, fold);
  for (const rows of Object.values<{ write(tx: SqlQueryable): Promise<void> }>(fold)) await rows.write(tx);
}

/**
 * A read model's projection, kept in the schema `schema` (a new schema per rebuild, hence a checkpoint name
 * per schema), that folds each batch in memory: one event is a batch of one.
 */
export abstract class BatchProjection implements SqlProjection {
  readonly name: string;
  abstract readonly filter: EventFilter;

  constructor(
    model: string,
    readonly schema: string,
  ) {
    this.name = `gateway.${model}.${schema}`;
  }

  /** Creates the schema and the projection's tables if they are missing. */
  async setUp(sql: SqlQueryable): Promise<void> {
    await sql.exec(`
      CREATE SCHEMA IF NOT EXISTS ${this.schema};${this.tables(this.schema)}`);
  }

  /** The statements that bring its tables and indexes in the schema up to date, creating what is missing. */
  protected abstract tables(schema: string): string;

  apply(tx: SqlQueryable, event: RecordedEvent): Promise<void> {
    return this.applyBatch(tx, [event]);
  }

  /** Folds the batch into the rows it touches, in log order, and writes each once. */
  abstract applyBatch(tx: SqlQueryable, events: readonly RecordedEvent[]): Promise<void>;
}
