import type { RecordedEvent, SqlProjection, SqlQueryable } from '@focal/events';

const PREFIX = 'contact-point-';

/**
 * Which contact point is each state's primary: the directory's fact for "at most one primary per state".
 * Designating a new primary replaces the old one here, in log order.
 */
export class PrimaryContactPointsProjection implements SqlProjection {
  readonly name = 'directory.primary-contact-points.v1';
  readonly filter = {
    streamPrefixes: [PREFIX],
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

  async apply(tx: SqlQueryable, event: RecordedEvent): Promise<void> {
    const contactPointId = event.streamId.slice(PREFIX.length);
    const data = event.data as { state?: string; primary?: boolean };
    switch (event.type) {
      case 'ContactPointRegistered':
        await tx.query(
          `INSERT INTO directory_contact_point_holders (contact_point_id, state) VALUES ($1, $2)
           ON CONFLICT (contact_point_id) DO NOTHING`,
          [contactPointId, data.state ?? null],
        );
        if (data.primary && data.state) await this.makePrimary(tx, data.state, contactPointId);
        break;
      case 'ContactPointDesignatedPrimary':
        await this.makePrimary(tx, data.state!, contactPointId);
        break;
      case 'ContactPointRetired':
        await tx.query('DELETE FROM directory_primary_contact_points WHERE contact_point_id = $1', [
          contactPointId,
        ]);
        break;
      default:
        break;
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

  private async makePrimary(tx: SqlQueryable, state: string, contactPointId: string) {
    await tx.query(
      `INSERT INTO directory_primary_contact_points (state, contact_point_id) VALUES ($1, $2)
       ON CONFLICT (state) DO UPDATE SET contact_point_id = EXCLUDED.contact_point_id`,
      [state, contactPointId],
    );
  }
}
