import { randomBytes } from 'node:crypto';

import type { SqlDriver } from '../sql/driver.js';
import { migrate } from '../sql/migrations.js';

/**
 * Per-subject encryption keys, kept outside the events. Destroying a key is how personal data is erased
 * (crypto-shredding): the log keeps its ciphertext and its hashes, and nobody can read the fields again.
 */
export interface KeyStore {
  /** The subject's key, created on first use. @throws KeyDestroyedError once it was destroyed */
  keyFor(subjectId: string): Promise<Buffer>;
  /** The subject's key, or undefined when it was destroyed or never made. */
  find(subjectId: string): Promise<Buffer | undefined>;
  /** The keys of several subjects at once (one query, for projections replaying many events); absent ones left out. */
  findMany(subjectIds: readonly string[]): Promise<Map<string, Buffer>>;
  /** Destroys the key for good; destroying it again does nothing. */
  destroy(subjectId: string): Promise<void>;
}

export class KeyDestroyedError extends Error {
  readonly code = 'keys/destroyed';
  constructor(readonly subjectId: string) {
    super(`the key of ${subjectId} was destroyed: its personal data is erased and cannot be written again`);
  }
}

/** The key store in PostgreSQL or PGlite, in the same database as the log (its own table). */
export class SqlKeyStore implements KeyStore {
  private constructor(private readonly sql: SqlDriver) {}

  static async open(sql: SqlDriver): Promise<SqlKeyStore> {
    await migrate(sql);
    return new SqlKeyStore(sql);
  }

  async keyFor(subjectId: string): Promise<Buffer> {
    const [row] = await this.sql.query<{ key: Uint8Array | null }>(
      `INSERT INTO focal_keys (subject_id, key) VALUES ($1, $2)
       ON CONFLICT (subject_id) DO UPDATE SET subject_id = EXCLUDED.subject_id
       RETURNING key`,
      [subjectId, randomBytes(32)],
    );
    if (!row?.key) throw new KeyDestroyedError(subjectId);
    return Buffer.from(row.key);
  }

  async find(subjectId: string): Promise<Buffer | undefined> {
    const [row] = await this.sql.query<{ key: Uint8Array | null }>(
      'SELECT key FROM focal_keys WHERE subject_id = $1',
      [subjectId],
    );
    return row?.key ? Buffer.from(row.key) : undefined;
  }

  async findMany(subjectIds: readonly string[]): Promise<Map<string, Buffer>> {
    if (subjectIds.length === 0) return new Map();
    const rows = await this.sql.query<{ subject_id: string; key: Uint8Array | null }>(
      'SELECT subject_id, key FROM focal_keys WHERE subject_id = ANY($1::text[]) AND key IS NOT NULL',
      [[...new Set(subjectIds)]],
    );
    return new Map(rows.map((row) => [row.subject_id, Buffer.from(row.key!)]));
  }

  async destroy(subjectId: string): Promise<void> {
    // A row with no key also stops a later keyFor from making a new one for an erased subject.
    await this.sql.query(
      `INSERT INTO focal_keys (subject_id, key, destroyed_at) VALUES ($1, NULL, now())
       ON CONFLICT (subject_id) DO UPDATE SET key = NULL, destroyed_at = coalesce(focal_keys.destroyed_at, now())`,
      [subjectId],
    );
  }
}
