import type { SqlDriver } from './driver.js';

/**
 * Versioned schema migrations, applied in order on start by `migrate`. Never edit an applied migration:
 * add a new one.
 */
export const migrations: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'event log',
    sql: String.raw`
CREATE TABLE focal_streams (
  stream_id text PRIMARY KEY,
  version bigint NOT NULL CHECK (version >= 1),
  last_hash bytea NOT NULL
);

-- position = (id of the appending transaction << 16) + the event's place in its append.
-- Readers only read below the oldest transaction still running (pg_snapshot_xmin), where no event can
-- still appear: a transaction that commits late cannot slip in behind a reader's checkpoint, and one that
-- rolls back leaves a gap nobody waits for. Transaction ids grow monotonically (xid8 never wraps), so the
-- position is a single, totally ordered number, and appends to different streams share no lock.
CREATE TABLE focal_events (
  position bigint PRIMARY KEY,
  stream_id text NOT NULL,
  stream_version bigint NOT NULL,
  event_id uuid NOT NULL,
  type text NOT NULL,
  schema_version integer NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  visibility jsonb NOT NULL,
  recorded_at timestamptz NOT NULL,
  previous_hash bytea NOT NULL,
  hash bytea NOT NULL,
  CONSTRAINT focal_events_event_id_key UNIQUE (event_id),
  CONSTRAINT focal_events_stream_version_key UNIQUE (stream_id, stream_version)
);

-- One append. p_event_ids repeats the ids of p_events, for a plain index probe. p_first_ordinal is where
-- this append's events start among the transaction's positions (several appends share one in a batch).
-- Errors: FC001 wrong expected version (DETAIL: the actual version), FC002 a known event id that is not an
-- idempotent retry (MESSAGE: the id, DETAIL: why).
CREATE FUNCTION focal_append(p_stream_id text, p_expected text, p_event_ids uuid[], p_events jsonb,
                             p_first_ordinal integer DEFAULT 0)
RETURNS TABLE (next_version bigint, first_position bigint, last_position bigint)
LANGUAGE plpgsql
-- Every statement here is a keyed lookup. PL/pgSQL caches its plans: one made while the log was nearly
-- empty would scan the whole table on every append until the next ANALYZE (measured: throughput halved
-- within seconds on a new database).
SET enable_seqscan = off
AS $fn$
#variable_conflict use_column
DECLARE
  v_count integer := cardinality(p_event_ids);
  v_first_version bigint;
  v_version bigint;
  v_hash bytea;
  v_next_hash bytea;
  v_exists boolean;
  v_base bigint;
  v_recorded_at timestamptz;
  v_recorded_text text;
  v_event jsonb;
  v_stored record;
BEGIN
  -- Serialises appends to this stream. It is taken before this transaction has an id, so ids, and with
  -- them positions, are handed out in lock order: each stream's events stand in version order in the log.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_stream_id, 0));

  IF EXISTS (SELECT 1 FROM focal_events f WHERE f.event_id = ANY (p_event_ids)) THEN
    -- A retry of an append that already stands: same ids, same stream, same content, contiguous.
    FOR i IN 0 .. v_count - 1 LOOP
      v_event := p_events -> i;
      SELECT f.position, f.stream_id, f.stream_version, f.type, f.schema_version, f.data, f.metadata,
             f.visibility
        INTO v_stored FROM focal_events f WHERE f.event_id = p_event_ids[i + 1];
      IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'FC002',
          MESSAGE = (SELECT f.event_id::text FROM focal_events f WHERE f.event_id = ANY (p_event_ids) LIMIT 1),
          DETAIL = 'in an append without the other events of this one';
      END IF;
      IF v_stored.stream_id <> p_stream_id THEN
        RAISE EXCEPTION USING ERRCODE = 'FC002', MESSAGE = p_event_ids[i + 1]::text,
          DETAIL = 'in stream ' || v_stored.stream_id;
      END IF;
      IF v_stored.type <> v_event->>'type' OR v_stored.schema_version <> (v_event->>'schemaVersion')::integer
         OR v_stored.data <> v_event->'data' OR v_stored.metadata <> v_event->'metadata'
         OR v_stored.visibility <> v_event->'visibility' THEN
        RAISE EXCEPTION USING ERRCODE = 'FC002', MESSAGE = p_event_ids[i + 1]::text, DETAIL = 'with other content';
      END IF;
      IF i = 0 THEN
        v_first_version := v_stored.stream_version;
        first_position := v_stored.position;
      ELSIF v_stored.stream_version <> v_version + 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'FC002', MESSAGE = p_event_ids[i + 1]::text,
          DETAIL = 'at version ' || v_stored.stream_version || ', not right after the event before it in this append';
      END IF;
      v_version := v_stored.stream_version;
      last_position := v_stored.position;
    END LOOP;
    IF (p_expected ~ '^[0-9]+$' AND v_first_version <> p_expected::bigint + 1)
       OR (p_expected = 'no-stream' AND v_first_version <> 1) THEN
      RAISE EXCEPTION USING ERRCODE = 'FC002', MESSAGE = p_event_ids[1]::text,
        DETAIL = 'at version ' || v_first_version || ', not where this append expects the stream to be';
    END IF;
    next_version := v_version;
    RETURN NEXT;
    RETURN;
  END IF;

  SELECT s.version, s.last_hash INTO v_version, v_hash
    FROM focal_streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
  v_exists := FOUND;
  IF NOT v_exists THEN
    v_version := 0;
    v_hash := '\x'::bytea;
  END IF;
  IF (p_expected = 'no-stream' AND v_exists) OR (p_expected = 'stream-exists' AND NOT v_exists)
     OR (p_expected ~ '^[0-9]+$' AND v_version <> p_expected::bigint) THEN
    RAISE EXCEPTION USING ERRCODE = 'FC001', MESSAGE = 'wrong expected version', DETAIL = v_version::text;
  END IF;

  v_base := (pg_current_xact_id()::text::bigint << 16) + p_first_ordinal;
  v_recorded_at := date_trunc('milliseconds', clock_timestamp());
  v_recorded_text := to_char(v_recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
  FOR i IN 0 .. v_count - 1 LOOP
    v_event := p_events -> i;
    v_version := v_version + 1;
    -- The canonical stored content; integrity.ts canonicalContent() builds the same text.
    v_next_hash := sha256(v_hash || convert_to(concat_ws(E'\n',
      p_event_ids[i + 1]::text, v_event->>'type', ((v_event->>'schemaVersion')::integer)::text, p_stream_id,
      v_version::text, v_recorded_text, (v_event->'visibility')::text, (v_event->'data')::text,
      (v_event->'metadata')::text), 'UTF8'));
    INSERT INTO focal_events (position, stream_id, stream_version, event_id, type, schema_version, data,
                              metadata, visibility, recorded_at, previous_hash, hash)
    VALUES (v_base + i, p_stream_id, v_version, p_event_ids[i + 1], v_event->>'type',
            (v_event->>'schemaVersion')::integer, v_event->'data', v_event->'metadata', v_event->'visibility',
            v_recorded_at, v_hash, v_next_hash);
    v_hash := v_next_hash;
  END LOOP;

  IF v_exists THEN
    UPDATE focal_streams SET version = v_version, last_hash = v_hash WHERE stream_id = p_stream_id;
  ELSE
    INSERT INTO focal_streams (stream_id, version, last_hash) VALUES (p_stream_id, v_version, v_hash);
  END IF;
  next_version := v_version;
  first_position := v_base;
  last_position := v_base + v_count - 1;
  RETURN NEXT;
END
$fn$;

-- Several appends, to any streams, in one transaction: one round trip and one commit for all of them, each
-- succeeding or failing on its own (a subtransaction each). p_appends: [{streamId, expected, eventIds, events}].
-- Every stream's lock is taken first, in key order (no deadlock), before the transaction has an id: so its id
-- is still handed out after every earlier writer of those streams committed, and streams stay in version order.
CREATE FUNCTION focal_append_batch(p_appends jsonb)
RETURNS TABLE (next_version bigint, first_position bigint, last_position bigint,
               error_code text, error_message text, error_detail text, error_constraint text)
LANGUAGE plpgsql
SET enable_seqscan = off
AS $fn$
DECLARE
  v_append jsonb;
  v_ordinal integer := 0;
  v_result record;
BEGIN
  PERFORM pg_advisory_xact_lock(l.key)
     FROM (SELECT DISTINCT hashtextextended(a->>'streamId', 0) AS key
             FROM jsonb_array_elements(p_appends) a ORDER BY 1) l;
  FOR v_append IN SELECT a FROM jsonb_array_elements(p_appends) a LOOP
    next_version := NULL; first_position := NULL; last_position := NULL;
    error_code := NULL; error_message := NULL; error_detail := NULL; error_constraint := NULL;
    BEGIN
      SELECT * INTO v_result FROM focal_append(
        v_append->>'streamId', v_append->>'expected',
        ARRAY(SELECT jsonb_array_elements_text(v_append->'eventIds'))::uuid[], v_append->'events', v_ordinal);
      next_version := v_result.next_version;
      first_position := v_result.first_position;
      last_position := v_result.last_position;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS error_code = RETURNED_SQLSTATE, error_message = MESSAGE_TEXT,
                              error_detail = PG_EXCEPTION_DETAIL, error_constraint = CONSTRAINT_NAME;
    END;
    v_ordinal := v_ordinal + jsonb_array_length(v_append->'events');
    RETURN NEXT;
  END LOOP;
END
$fn$;
`,
  },
  {
    version: 2,
    name: 'personal data keys and consumer checkpoints',
    sql: String.raw`
-- One key per subject (a contact point), kept apart from the log: destroying it erases the personal fields
-- encrypted with it, while the events, and the hashes over their ciphertext, stay as they were.
CREATE TABLE focal_keys (
  subject_id text PRIMARY KEY,
  key bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  destroyed_at timestamptz,
  CHECK ((key IS NULL) = (destroyed_at IS NOT NULL))
);

-- Where each consumer of the log stands, written in the same transaction as the consumer's own rows.
CREATE TABLE focal_checkpoints (
  consumer text PRIMARY KEY,
  position text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 3,
    name: 'wrapped data keys',
    sql: String.raw`
-- Envelope encryption: each data key is stored wrapped under a key-encryption key kept outside the database
-- (kek_id names it). The plain column stays only until SqlKeyStore.open has wrapped what it holds.
ALTER TABLE focal_keys ADD COLUMN wrapped bytea, ADD COLUMN kek_id text;
ALTER TABLE focal_keys DROP CONSTRAINT focal_keys_check;
ALTER TABLE focal_keys ADD CONSTRAINT focal_keys_one_key
  CHECK ((key IS NULL AND wrapped IS NULL) = (destroyed_at IS NOT NULL) AND (wrapped IS NULL) = (kek_id IS NULL));
CREATE INDEX focal_keys_kek ON focal_keys (kek_id) WHERE wrapped IS NOT NULL;
`,
  },
];

/** An arbitrary constant: the advisory lock that keeps two starting processes from migrating at once. */
const MIGRATION_LOCK = 7_404_517_731;

/** Applies the migrations this database lacks, in one transaction, safe against concurrent starts. */
export async function migrate(driver: SqlDriver): Promise<void> {
  await driver.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.exec(
      `CREATE TABLE IF NOT EXISTS focal_schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const applied = new Set(
      (await tx.query<{ version: number }>('SELECT version FROM focal_schema_migrations')).map((row) =>
        Number(row.version),
      ),
    );
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO focal_schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
    }
  });
}
