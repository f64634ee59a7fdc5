import { standingOn, type StateStatus, type StatusEntry } from '@focal/domain';
import type { RecordedEvent, SqlProjection, SqlQueryable } from '@focal/events';

/**
 * Messaging's own copy of the directory facts its rules need: every state's status history and which
 * liaison organisations are suspended. Kept from the directory's events, so messaging decides without
 * asking the directory service (which may be down or slow) and sees the same facts on every instance.
 */
export class DirectoryFactsProjection implements SqlProjection {
  readonly name = 'messaging.directory-facts.v1';
  readonly filter = {
    streamPrefixes: ['state-', 'liaison-organisation-'],
    types: [
      'StateAdmitted',
      'StateStatusChanged',
      'LiaisonOrganisationRegistered',
      'LiaisonOrganisationSuspended',
      'LiaisonOrganisationReinstated',
    ],
  };

  constructor(private readonly sql: SqlQueryable) {}

  async setUp(sql: SqlQueryable): Promise<void> {
    await sql.exec(`
      CREATE TABLE IF NOT EXISTS messaging_state_statuses (
        code text NOT NULL, seq bigint NOT NULL, status text NOT NULL, effective_from text NOT NULL,
        PRIMARY KEY (code, seq));
      CREATE TABLE IF NOT EXISTS messaging_liaison_organisations (
        organisation_id text PRIMARY KEY, suspended boolean NOT NULL);`);
  }

  apply(tx: SqlQueryable, event: RecordedEvent): Promise<void> {
    return this.applyBatch(tx, [event]);
  }

  /** A batch in two statements, so that a catch-up never holds a long transaction. */
  async applyBatch(tx: SqlQueryable, events: readonly RecordedEvent[]): Promise<void> {
    const statuses: { code: string; seq: number; status: string; from: string }[] = [];
    const suspended = new Map<string, boolean>();
    for (const event of events) {
      const data = event.data as { code?: string; status?: string; to?: string; effectiveFrom?: string };
      switch (event.type) {
        case 'StateAdmitted':
        case 'StateStatusChanged':
          statuses.push({
            code: data.code!,
            seq: event.streamVersion,
            status: (data.status ?? data.to)!,
            from: data.effectiveFrom!,
          });
          break;
        case 'LiaisonOrganisationRegistered':
        case 'LiaisonOrganisationReinstated':
        case 'LiaisonOrganisationSuspended':
          // In log order: the last event of the batch decides.
          suspended.set(
            event.streamId.slice('liaison-organisation-'.length),
            event.type === 'LiaisonOrganisationSuspended',
          );
          break;
        default:
          break;
      }
    }
    if (statuses.length > 0) {
      await tx.query(
        `INSERT INTO messaging_state_statuses (code, seq, status, effective_from)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING`,
        [
          statuses.map((s) => s.code),
          statuses.map((s) => s.seq),
          statuses.map((s) => s.status),
          statuses.map((s) => s.from),
        ],
      );
    }
    if (suspended.size > 0) {
      await tx.query(
        `INSERT INTO messaging_liaison_organisations (organisation_id, suspended)
         SELECT * FROM unnest($1::text[], $2::boolean[])
         ON CONFLICT (organisation_id) DO UPDATE SET suspended = EXCLUDED.suspended`,
        [[...suspended.keys()], [...suspended.values()]],
      );
    }
  }

  /** The state's status on `date` (YYYY-MM-DD) and since when: the domain's standingOn over its history. */
  async statusOn(code: string, date: string): Promise<{ status?: StateStatus; since?: string }> {
    const history = await this.sql.query<StatusEntry>(
      `SELECT status, effective_from AS "from" FROM messaging_state_statuses WHERE code = $1 ORDER BY seq`,
      [code],
    );
    const { current } = standingOn(history, date);
    return current ? { status: current.status, since: current.from } : {};
  }

  /** Those of `codes` that are guest states on `date` (YYYY-MM-DD). */
  async guestsAmong(codes: readonly string[], date: string): Promise<string[]> {
    if (codes.length === 0) return [];
    const rows = await this.sql.query<StatusEntry & { code: string }>(
      `SELECT code, status, effective_from AS "from" FROM messaging_state_statuses
        WHERE code = ANY($1) ORDER BY code, seq`,
      [codes],
    );
    const histories = new Map<string, StatusEntry[]>();
    for (const { code, status, from } of rows) {
      histories.set(code, [...(histories.get(code) ?? []), { status, from }]);
    }
    return [...histories]
      .filter(([, history]) => standingOn(history, date).current?.status === 'guest')
      .map(([code]) => code);
  }

  /** Those of `organisationIds` that are suspended now. */
  async suspended(organisationIds: readonly string[]): Promise<string[]> {
    if (organisationIds.length === 0) return [];
    const rows = await this.sql.query<{ organisation_id: string }>(
      'SELECT organisation_id FROM messaging_liaison_organisations WHERE suspended AND organisation_id = ANY($1)',
      [organisationIds],
    );
    return rows.map((row) => row.organisation_id);
  }
}
