import { evolvePrimaries, parseStreamId, streamPrefix, type ContactPointEvent } from '@focal/domain';
import type { RecordedEvent, SqlProjection, SqlQueryable } from '@focal/events';

/**
 * Which contact point is each state's primary: the directory's fact for "at most one primary per state",
 * folded by the domain's own `evolvePrimaries`, in log order.
 */
export class PrimaryContactPointsProjection implements SqlProjection {
  readonly name = 'directory.primary-contact-points.v1';
  readonly filter = {
    streamPrefixes: [streamPrefix('contact-point')],
    types: ['ContactPointRegistered', 'ContactPointDesignatedPrimary', 'ContactPointRetired'],
  };

  constructor(private readonly sql: SqlQueryable) {}

  async setUp(sql: SqlQueryable): Promise<void> {
    await sql.exec(`
      CREATE TABLE IF NOT EXISTS directory_contact_point_holders (
        contact_point_id text PRIMARY KEY, state text);
      CREATE TABLE IF NOT EXISTS directory_primary_contact_points (
        state text PRIMARY KEY, contact_point_id text NOT NULL);`);
  }

  apply(tx: SqlQueryable, event: RecordedEvent): Promise<void> {
    return this.applyBatch(tx, [event]);
  }

  /**
   * The batch folded in memory over the current primaries (one row per state, a small table), then written in
   * three statements: a catch-up holds its transaction for milliseconds, not one round trip per event (a
   * long transaction would hold back every reader of the log on this server).
   */
  async applyBatch(tx: SqlQueryable, events: readonly RecordedEvent[]): Promise<void> {
    const before = new Map(
      (
        await tx.query<{ state: string; contact_point_id: string }>(
          'SELECT state, contact_point_id FROM directory_primary_contact_points',
        )
      ).map((row) => [row.state, row.contact_point_id]),
    );
    const contactPointIds = [...new Set(events.map((event) => parseStreamId(event.streamId)!.id))];
    const stateOf = Object.fromEntries(
      (
        await tx.query<{ contact_point_id: string; state: string | null }>(
          'SELECT contact_point_id, state FROM directory_contact_point_holders WHERE contact_point_id = ANY($1::text[])',
          [contactPointIds],
        )
      )
        .filter((row) => row.state !== null)
        .map((row) => [row.contact_point_id, row.state!]),
    );
    const fold = { primaries: Object.fromEntries(before), stateOf: { ...stateOf } };
    for (const event of events) {
      // The filter takes only contact-point events of the types the fold reads; their data is not personal.
      evolvePrimaries(fold, parseStreamId(event.streamId)!.id, event as unknown as ContactPointEvent);
    }
    const primaries = new Map(Object.entries(fold.primaries));
    const holders = new Map(
      Object.entries(fold.stateOf).filter(([contactPointId]) => !(contactPointId in stateOf)),
    );
    if (holders.size > 0) {
      await tx.query(
        `INSERT INTO directory_contact_point_holders (contact_point_id, state)
         SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (contact_point_id) DO NOTHING`,
        [[...holders.keys()], [...holders.values()]],
      );
    }
    const gone = [...before.keys()].filter((state) => !primaries.has(state));
    if (gone.length > 0) {
      await tx.query('DELETE FROM directory_primary_contact_points WHERE state = ANY($1::text[])', [gone]);
    }
    const changed = [...primaries].filter(([state, primary]) => before.get(state) !== primary);
    if (changed.length > 0) {
      await tx.query(
        `INSERT INTO directory_primary_contact_points (state, contact_point_id)
         SELECT * FROM unnest($1::text[], $2::text[])
         ON CONFLICT (state) DO UPDATE SET contact_point_id = EXCLUDED.contact_point_id`,
        [changed.map(([state]) => state), changed.map(([, primary]) => primary)],
      );
    }
  }

  /** The primary contact point of the state that `contactPointId` belongs to, if any. */
  async primaryFor(holder: { state?: string; contactPointId?: string }): Promise<string | undefined> {
    const [row] = holder.state
      ? await this.sql.query<{ contact_point_id: string }>(
          'SELECT contact_point_id FROM directory_primary_contact_points WHERE state = $1',
          [holder.state],
        )
      : await this.sql.query<{ contact_point_id: string }>(
          `SELECT p.contact_point_id FROM directory_contact_point_holders h
             JOIN directory_primary_contact_points p ON p.state = h.state
            WHERE h.contact_point_id = $1`,
          [holder.contactPointId],
        );
    return row?.contact_point_id;
  }
}
