import {
  parseStreamId,
  standingOn,
  streamPrefix,
  type LiaisonOrganisationEvent,
  type StateEvent,
  type StateStatus,
  type StatusEntry,
} from '@focal/domain';
import {
  foldEvent,
  type EventHandlers,
  type RecordedAs,
  type RecordedEvent,
  type SqlProjection,
  type SqlQueryable,
} from '@focal/events';

interface FactsFold {
  statuses: { code: string; seq: number; status: StateStatus; from: string }[];
  /** Whether each organisation seen is suspended after the batch: in log order, the last event decides. */
  suspended: Map<string, boolean>;
}

const status = (event: RecordedAs<StateEvent>, fold: FactsFold) =>
  fold.statuses.push({
    code: event.data.code,
    seq: event.streamVersion,
    status: event.type === 'StateAdmitted' ? event.data.status : event.data.to,
    from: event.data.effectiveFrom,
  });
const suspension = (suspended: boolean) => (event: RecordedAs<LiaisonOrganisationEvent>, fold: FactsFold) =>
  fold.suspended.set(parseStreamId(event.streamId)!.id, suspended);

const HANDLERS: EventHandlers<StateEvent | LiaisonOrganisationEvent, FactsFold> = {
  StateAdmitted: status,
  StateStatusChanged: status,
  LiaisonOrganisationRegistered: suspension(false),
  LiaisonOrganisationReinstated: suspension(false),
  LiaisonOrganisationSuspended: suspension(true),
  LiaisonOrganisationDetailsChanged: 'ignored',
};

/**
 * Messaging's own copy of the directory facts its rules need: every state's status history and which
 * liaison organisations are suspended. Kept from the directory's events, so messaging decides without
 * asking the directory service (which may be down or slow) and sees the same facts on every instance.
 */
export class DirectoryFactsProjection implements SqlProjection {
  readonly name = 'messaging.directory-facts.v1';
  readonly filter = {
    streamPrefixes: [streamPrefix('state'), streamPrefix('liaison-organisation')],
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
    const fold: FactsFold = { statuses: [], suspended: new Map() };
    for (const event of events) foldEvent(HANDLERS, event, fold);
    const { statuses, suspended } = fold;
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
