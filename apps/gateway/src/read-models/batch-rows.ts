import type { SqlQueryable } from '@focal/events';

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
