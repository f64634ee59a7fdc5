import { randomBytes } from 'node:crypto';

import type { SqlDriver, SqlQueryable } from '../sql/driver.js';
import { Gathering } from '../gathering.js';
import { migrate } from '../sql/migrations.js';
import type { KeyEncryptionKeys } from './keyring.js';

/**
 * Per-subject encryption keys, kept outside the events. Destroying a key is how personal data is erased
 * (crypto-shredding): the log keeps its ciphertext and its hashes, and nobody can read the fields again.
 */
export interface KeyStore {
  /**
   * The subject's key, created on first use; `fresh`: the subject is new (its stream was not read), so the key
   * is made at once rather than looked for first. @throws KeyDestroyedError once it was destroyed
   */
  keyFor(subjectId: string, options?: { fresh?: boolean | undefined }): Promise<Buffer>;
  /** The subject's key, or undefined when it was destroyed or never made. */
  find(subjectId: string): Promise<Buffer | undefined>;
  /** The keys of several subjects at once (one query, for projections replaying many events); absent ones left out. */
  findMany(subjectIds: readonly string[]): Promise<Map<string, Buffer>>;
  /** Destroys the key for good; destroying it again does nothing. */
  destroy(subjectId: string): Promise<void>;
  /**
   * Wraps every data key again under the current key-encryption key (a master key rotation), resumably.
   * @returns how many keys it wrapped again
   */
  rewrapAll(onProgress?: (done: number, remaining: number) => void, batch?: number): Promise<number>;
}

export class KeyDestroyedError extends Error {
  readonly code = 'keys/destroyed';
  constructor(readonly subjectId: string) {
    super(`the key of ${subjectId} was destroyed: its personal data is erased and cannot be written again`);
  }
}

interface MadeKey {
  subjectId: string;
  wrapped: Buffer;
  keyId: string;
}

interface WrappedRow {
  subject_id: string;
  wrapped: Uint8Array | null;
  kek_id: string | null;
}

/**
 * The key store in PostgreSQL or PGlite, in the same database as the log (its own table), each data key
 * wrapped under a key-encryption key that is not in the database (envelope encryption): a copy of the
 * database alone reads as noise.
 */
export class SqlKeyStore implements KeyStore {
  /**
   * New subjects' keys, made together: a burst of registrations made one insert each. Every subject's row as
   * stored, its key or its destruction, read together: a burst of changes made one lookup each.
   */
  private readonly inserts = new Gathering(async (made: MadeKey[]) => {
    const rows = await this.insert(made, this.logInSameDatabase);
    return (key: MadeKey) => rows.get(key.subjectId);
  });
  private readonly lookups = new Gathering(async (subjects: string[]) => {
    const rows = await this.rowsOf(this.sql, subjects);
    return (subject: string) => rows.get(subject);
  });

  private constructor(
    private readonly sql: SqlDriver,
    private readonly keyring: KeyEncryptionKeys,
    private readonly logInSameDatabase: boolean,
  ) {}

  /**
   * Migrates, and wraps any key an earlier version kept in the clear. `logInSameDatabase`: the event log is
   * in this database too (not EventStoreDB), so a new key's commit may skip waiting for the disk (see create).
   */
  static async open(
    sql: SqlDriver,
    keyring: KeyEncryptionKeys,
    options: { logInSameDatabase?: boolean } = {},
  ): Promise<SqlKeyStore> {
    await migrate(sql);
    const store = new SqlKeyStore(sql, keyring, options.logInSameDatabase ?? false);
    for (;;) {
      const plain = await sql.query<{ subject_id: string; key: Uint8Array }>(
        'SELECT subject_id, key FROM focal_keys WHERE key IS NOT NULL LIMIT 500',
      );
      if (plain.length === 0) break;
      for (const row of plain) {
        const { keyId, wrapped } = await keyring.wrap(Buffer.from(row.key), row.subject_id);
        await sql.query(
          'UPDATE focal_keys SET wrapped = $2, kek_id = $3, key = NULL WHERE subject_id = $1 AND key IS NOT NULL',
          [row.subject_id, wrapped, keyId],
        );
      }
    }
    return store;
  }

  async keyFor(subjectId: string, options: { fresh?: boolean | undefined } = {}): Promise<Buffer> {
    // Most commands name a subject that has its key already: a read, not a write (and no commit to wait for).
    // A new subject's is made in one round trip; one that exists after all is returned by the same statement.
    const existing = options.fresh ? undefined : await this.row(subjectId);
    const row = existing ?? (await this.create(subjectId));
    const key = row && (await this.unwrap(row));
    if (!key) throw new KeyDestroyedError(subjectId);
    return key;
  }

  /** The subject's row, its key or its destruction; read with the others asked for meanwhile. */
  private async row(subjectId: string): Promise<WrappedRow | undefined> {
    // Inside a caller's transaction it is read in it; the gathered reads run outside any.
    if (this.sql.inTransaction) return (await this.rowsOf(this.sql, [subjectId])).get(subjectId);
    return this.lookups.ask(subjectId);
  }

  private async rowsOf(sql: SqlQueryable, subjectIds: readonly string[]): Promise<Map<string, WrappedRow>> {
    const rows = await sql.query<WrappedRow>(
      'SELECT subject_id, wrapped, kek_id FROM focal_keys WHERE subject_id = ANY($1::text[])',
      [[...new Set(subjectIds)]],
    );
    return new Map(rows.map((row) => [row.subject_id, row]));
  }

  private async create(subjectId: string): Promise<WrappedRow | undefined> {
    const fresh = randomBytes(32);
    const { keyId, wrapped } = await this.keyring.wrap(fresh, subjectId);
    const made: MadeKey = { subjectId, wrapped, keyId };
    // Inside a caller's transaction the key is made in it, alone; the gathered inserts run outside any.
    if (this.sql.inTransaction) return (await this.insert([made], false)).get(subjectId);
    return this.inserts.ask(made);
  }

  /**
   * Inserts keys, one per subject (the first made wins, in the batch as against the table), and returns each
   * subject's stored row: a racing creator gets the one stored first, a destroyed key comes back without key.
   * `quick`: the commit need not wait for the disk when the log is in this database: a key matters only once
   * an event encrypted with it is stored, and that append commits synchronously later, which writes out the
   * write-ahead log up to it, this commit included; a crash before then loses keys no event uses. One fsync
   * less per insert, in the same round trip (set_config local to this statement's own transaction). Not inside
   * a caller's transaction (it would make that commit skip the wait too), nor with EventStoreDB, whose appends
   * flush nothing here.
   */
  private async insert(keys: readonly MadeKey[], quick: boolean): Promise<Map<string, WrappedRow>> {
    const first = new Map<string, MadeKey>();
    for (const key of keys) if (!first.has(key.subjectId)) first.set(key.subjectId, key);
    // In one order everywhere: two processes inserting overlapping batches then never wait on each other.
    const subjects = [...first.keys()].sort();
    const rows = await this.sql.query<WrappedRow>(
      `${quick ? "WITH quick AS (SELECT set_config('synchronous_commit', 'off', true)) " : ''}
       INSERT INTO focal_keys (subject_id, wrapped, kek_id)
       SELECT made.subject_id, decode(made.wrapped, 'base64'), made.kek_id
         FROM ${quick ? 'quick, ' : ''}unnest($1::text[], $2::text[], $3::text[]) AS made (subject_id, wrapped, kek_id)
       ON CONFLICT (subject_id) DO UPDATE SET subject_id = EXCLUDED.subject_id
       RETURNING subject_id, wrapped, kek_id`,
      [
        subjects,
        subjects.map((subject) => first.get(subject)!.wrapped.toString('base64')),
        subjects.map((subject) => first.get(subject)!.keyId),
      ],
    );
    return new Map(rows.map((row) => [row.subject_id, row]));
  }

  async find(subjectId: string): Promise<Buffer | undefined> {
    const row = await this.row(subjectId);
    return row && this.unwrap(row);
  }

  async findMany(subjectIds: readonly string[]): Promise<Map<string, Buffer>> {
    if (subjectIds.length === 0) return new Map();
    const rows = await this.sql.query<WrappedRow>(
      `SELECT subject_id, wrapped, kek_id FROM focal_keys
        WHERE subject_id = ANY($1::text[]) AND wrapped IS NOT NULL`,
      [[...new Set(subjectIds)]],
    );
    const keys = new Map<string, Buffer>();
    for (const row of rows) keys.set(row.subject_id, (await this.unwrap(row))!);
    return keys;
  }

  async destroy(subjectId: string): Promise<void> {
    // A row with no key also stops a later keyFor from making a new one for an erased subject.
    await this.sql.query(
      `INSERT INTO focal_keys (subject_id, destroyed_at) VALUES ($1, now())
       ON CONFLICT (subject_id) DO UPDATE
         SET key = NULL, wrapped = NULL, kek_id = NULL, destroyed_at = coalesce(focal_keys.destroyed_at, now())`,
      [subjectId],
    );
  }

  /**
   * Wraps every data key that is not yet under the keyring's current key, a batch at a time: a master key
   * rotation. Safe to stop and run again (what is done stays done) and beside running services.
   * @returns how many keys it wrapped again
   */
  async rewrapAll(onProgress?: (done: number, remaining: number) => void, batch = 500): Promise<number> {
    const current = this.keyring.currentKeyId;
    let done = 0;
    for (;;) {
      const rows = await this.sql.query<WrappedRow>(
        `SELECT subject_id, wrapped, kek_id FROM focal_keys
          WHERE wrapped IS NOT NULL AND kek_id <> $1 ORDER BY subject_id LIMIT $2`,
        [current, batch],
      );
      if (rows.length === 0) return done;
      for (const row of rows) {
        const key = (await this.unwrap(row))!;
        const { keyId, wrapped } = await this.keyring.wrap(key, row.subject_id);
        // Only if nobody destroyed or re-wrapped it meanwhile.
        await this.sql.query(
          'UPDATE focal_keys SET wrapped = $2, kek_id = $3 WHERE subject_id = $1 AND kek_id = $4',
          [row.subject_id, wrapped, keyId, row.kek_id],
        );
      }
      done += rows.length;
      const [left] = await this.sql.query<{ count: string }>(
        'SELECT count(*)::text AS count FROM focal_keys WHERE wrapped IS NOT NULL AND kek_id <> $1',
        [current],
      );
      onProgress?.(done, Number(left!.count));
    }
  }

  private async unwrap(row: WrappedRow): Promise<Buffer | undefined> {
    if (!row.wrapped || !row.kek_id) return undefined;
    return this.keyring.unwrap(row.kek_id, Buffer.from(row.wrapped), row.subject_id);
  }
}
