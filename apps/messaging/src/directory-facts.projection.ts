import {
  parseStreamId,
  type ContactPointEvent,
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
  /** Whose each contact point seen is, and whether it is active after the batch. */
  contactPoints: Map<string, { state: string | null; organisation: string | null; active: boolean }>;
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

/** A contact point's holder comes with its registration; retirement and reinstatement change only `active`. */
const activity = (active: boolean) => (event: RecordedAs<ContactPointEvent>, fold: FactsFold) => {
  const id = parseStreamId(event.streamId)!.id;
  fold.contactPoints.set(id, { state: null, organisation: null, ...fold.contactPoints.get(id), active });
};

const HANDLERS: EventHandlers<StateEvent | LiaisonOrganisationEvent | ContactPointEvent, FactsFold> = {
  StateAdmitted: status,
  StateStatusChanged: status,
  LiaisonOrganisationRegistered: suspension(false),
  LiaisonOrganisationReinstated: suspension(false),
  LiaisonOrganisationSuspended: suspension(true),
  LiaisonOrganisationDetailsChanged: 'ignored',
  ContactPointRegistered: (event, fold) =>
    fold.contactPoints.set(event.data.contactPointId, {
      state: event.data.state ?? null,
      organisation: event.data.organisation ?? null,
      active: true,
    }),
  ContactPointRetired: activity(false),
  ContactPointReinstated: activity(true),
  ContactPointDetailsChanged: 'ignored',
  ContactPointDesignatedPrimary: 'ignored',
  ContactPointConfirmed: 'ignored',
  ContactPointPersonalDataErased: 'ignored',
};

/**
 * Messaging's own copy of the directory facts its rules need: every state's status history, which
 * liaison organisations are suspended, and whose each contact point is and whether it is active (plenary
 * registrations). Kept from the directory's events, so messaging decides without
 * asking the directory service (which may be down or slow) and sees the same facts on every instance.
 */
export class DirectoryFactsProjection implements SqlProjection {
  // v2 added contact points: a new name replays the log from its start into the new table.
  readonly name = 'messaging.directory-facts.v2';
  readonly filter = {
    streamPrefixes: [
      streamPrefix('state'),
      streamPrefix('liaison-organisation'),
      streamPrefix('contact-point'),
    ],
    types: [
      'StateAdmitted',
      'StateStatusChanged',
      'LiaisonOrganisationRegistered',
      'LiaisonOrganisationSuspended',
      'LiaisonOrganisationReinstated',
      'ContactPointRegistered',
      'ContactPointRetired',
      'ContactPointReinstated',
    ],
  };

  constructor(private readonly sql: SqlQueryable) {}

  async setUp(sql: SqlQueryable): Promise<void> {
    await sql.exec(`
      CREATE TABLE IF NOT EXISTS messaging_state_statuses (
        code text NOT NULL, seq bigint NOT NULL, status text NOT NULL, effective_from text NOT NULL,
        PRIMARY KEY (code, seq));
      CREATE TABLE IF NOT EXISTS messaging_liaison_organisations (
        organisation_id text PRIMARY KEY, suspended boolean NOT NULL);
      CREATE TABLE IF NOT EXISTS messaging_contact_points (
        contact_point_id text PRIMARY KEY, state text, organisation text, active boolean NOT NULL);`);
  }

  apply(tx: SqlQueryable, event: RecordedEvent): Promise<void> {
    return this.applyBatch(tx, [event]);
  }

  /** A batch in two statements, so that a catch-up never holds a long transaction. */
  async applyBatch(tx: SqlQueryable, events: readonly RecordedEvent[]): Promise<void> {
    const fold: FactsFold = { statuses: [], suspended: new Map(), contactPoints: new Map() };
    for (const event of events) foldEvent(HANDLERS, event, fold);
    const { statuses, suspended, contactPoints } = fold;
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
    if (contactPoints.size > 0) {
      // A holder already stored stays (a retirement in this batch does not know it); `active` is the latest.
      const rows = [...contactPoints];
      await tx.query(
        `INSERT INTO messaging_contact_points (contact_point_id, state, organisation, active)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[])
         ON CONFLICT (contact_point_id) DO UPDATE SET active = EXCLUDED.active,
           state = coalesce(messaging_contact_points.state, EXCLUDED.state),
           organisation = coalesce(messaging_contact_points.organisation, EXCLUDED.organisation)`,
        [
          rows.map(([id]) => id),
          rows.map(([, row]) => row.state),
          rows.map(([, row]) => row.organisation),
          rows.map(([, row]) => row.active),
        ],
      );
    }
  }

  /** The status history of each of `codes` that is admitted, as the domain folds it. */
  async histories(codes: readonly string[]): Promise<Record<string, StatusEntry[]>> {
    if (codes.length === 0) return {};
    const rows = await this.sql.query<StatusEntry & { code: string }>(
      `SELECT code, status, effective_from AS "from" FROM messaging_state_statuses
        WHERE code = ANY($1) ORDER BY code, seq`,
      [[...new Set(codes)]],
    );
    const histories: Record<string, StatusEntry[]> = {};
    for (const { code, status, from } of rows) (histories[code] ??= []).push({ status, from });
    return histories;
  }

  /** The state's status on `date` (YYYY-MM-DD) and since when: the domain's standingOn over its history. */
  async statusOn(code: string, date: string): Promise<{ status?: StateStatus; since?: string }> {
    const { current } = standingOn((await this.histories([code]))[code] ?? [], date);
    return current ? { status: current.status, since: current.from } : {};
  }

  /** Those of `codes` that are guest states on `date` (YYYY-MM-DD). */
  async guestsAmong(codes: readonly string[], date: string): Promise<string[]> {
    return Object.entries(await this.histories(codes))
      .filter(([, history]) => standingOn(history, date).current?.status === 'guest')
      .map(([code]) => code);
  }

  /** Whose a contact point is and whether it is active; undefined when the directory does not know it. */
  async contactPoint(
    id: string,
  ): Promise<{ state?: string; organisation?: string; active: boolean } | undefined> {
    const [row] = await this.sql.query<{
      state: string | null;
      organisation: string | null;
      active: boolean;
    }>('SELECT state, organisation, active FROM messaging_contact_points WHERE contact_point_id = $1', [id]);
    return (
      row && {
        ...(row.state ? { state: row.state } : {}),
        ...(row.organisation ? { organisation: row.organisation } : {}),
        active: row.active,
      }
    );
  }

  /** Whether an organisation is suspended now; undefined when the directory does not know it. */
  async organisationSuspended(id: string): Promise<boolean | undefined> {
    const [row] = await this.sql.query<{ suspended: boolean }>(
      'SELECT suspended FROM messaging_liaison_organisations WHERE organisation_id = $1',
      [id],
    );
    return row?.suspended;
  }

  /** Those of `organisationIds` that the directory has never registered. */
  async unknownOrganisations(organisationIds: readonly string[]): Promise<string[]> {
    if (organisationIds.length === 0) return [];
    const rows = await this.sql.query<{ organisation_id: string }>(
      'SELECT organisation_id FROM messaging_liaison_organisations WHERE organisation_id = ANY($1)',
      [organisationIds],
    );
    const known = new Set(rows.map((row) => row.organisation_id));
    return [...new Set(organisationIds)].filter((id) => !known.has(id));
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
