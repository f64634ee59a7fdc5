import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import {
  contactPointDecider,
  evolvePrimaries,
  isErased,
  liaisonOrganisationDecider,
  parseStreamId,
  stateDecider,
  streamPrefix,
  type ContactPointEvent,
  type ContactPointState,
  type LiaisonOrganisationEvent,
  type OrganisationKind,
  type PrimaryFold,
  type StateEvent,
} from '@focal/domain';
import {
  foldEvent,
  plaintextLength,
  type EventHandlers,
  type KeyStore,
  type PersonalDataCodec,
  type RecordedAs,
  type RecordedEvent,
  type SqlQueryable,
} from '@focal/events';

import { BatchProjection, loadRows, writeRows } from '../read-models/batch-rows.js';
import type { BlindIndex } from './blind-index.js';
import { SEARCH_ALL, SEARCH_OPEN, searchDocuments } from './contact-point-search.js';
import { openPersonal, sealPersonal } from './personal-data.js';
import type { ContactPointEntry, ContactPointRow, OrganisationRow, StateRow } from '../read-models/rows.js';

const PERSONAL = CONTACT_POINT_PERSONAL_FIELDS.fields as Readonly<Record<string, string>>;

type DirectoryEvent = StateEvent | LiaisonOrganisationEvent | ContactPointEvent;
type Registered = Extract<ContactPointState, { registered: true }>;

/** What one batch folds, in memory: the rows it touches, and the state's primaries. */
interface DirectoryFold {
  states: Map<string, StateRow>;
  organisations: Map<string, OrganisationRow>;
  contactPoints: Map<string, ContactPointEntry>;
  primaries: PrimaryFold;
  touched: {
    states: Set<string>;
    organisations: Set<string>;
    contactPoints: Set<string>;
    primaries: boolean;
  };
}

/**
 * States and organisations are folded by their own deciders' `evolve`; a contact point too (its row is the
 * decider's state in columns), and "one primary per state" is the domain's `evolvePrimaries`, kept in its own
 * table: every rule is the domain's, written once.
 */
const state = (event: RecordedAs<StateEvent>, fold: DirectoryFold) => {
  const code = parseStreamId(event.streamId)!.id;
  const current = fold.states.get(code);
  const next = stateDecider.evolve(
    current
      ? { admitted: true, code: current.code, name: current.name, history: current.history }
      : stateDecider.initialState,
    event,
  );
  if (!next.admitted) return;
  fold.states.set(code, {
    code: next.code,
    name: next.name,
    history: next.history,
    version: event.streamVersion,
  });
  fold.touched.states.add(code);
};

const organisation = (event: RecordedAs<LiaisonOrganisationEvent>, fold: DirectoryFold) => {
  const id = parseStreamId(event.streamId)!.id;
  const current = fold.organisations.get(id);
  const next = liaisonOrganisationDecider.evolve(
    current
      ? {
          registered: true,
          organisationId: id,
          name: current.name,
          acronym: current.acronym,
          kind: current.kind as OrganisationKind,
          suspended: current.suspended,
        }
      : liaisonOrganisationDecider.initialState,
    event,
  );
  if (!next.registered) return;
  const { name, acronym, kind, suspended } = next;
  fold.organisations.set(id, { id, name, acronym, kind, suspended, version: event.streamVersion });
  fold.touched.organisations.add(id);
};

const contactPoint = (event: RecordedAs<ContactPointEvent>, fold: DirectoryFold) => {
  const id = parseStreamId(event.streamId)!.id;
  const current = fold.contactPoints.get(id);
  // A registration seen twice (a replay over rows already written) changes nothing.
  if (event.type === 'ContactPointRegistered' && current) return;
  const next = contactPointDecider.evolve(
    current ? stateOf(current) : contactPointDecider.initialState,
    event,
  );
  if (!next.registered) return;
  fold.contactPoints.set(id, entryOf(next, event.streamVersion, event.globalPosition as string));
  fold.touched.contactPoints.add(id);
  const before = { ...fold.primaries.primaries };
  evolvePrimaries(fold.primaries, id, event as ContactPointEvent);
  if (JSON.stringify(before) !== JSON.stringify(fold.primaries.primaries)) fold.touched.primaries = true;
};

const HANDLERS: EventHandlers<DirectoryEvent, DirectoryFold> = {
  StateAdmitted: state,
  StateStatusChanged: state,
  LiaisonOrganisationRegistered: organisation,
  LiaisonOrganisationDetailsChanged: organisation,
  LiaisonOrganisationSuspended: organisation,
  LiaisonOrganisationReinstated: organisation,
  ContactPointRegistered: contactPoint,
  ContactPointDetailsChanged: contactPoint,
  ContactPointDesignatedPrimary: contactPoint,
  ContactPointRetired: contactPoint,
  ContactPointReinstated: contactPoint,
  ContactPointConfirmed: contactPoint,
  ContactPointPersonalDataErased: contactPoint,
};

/** A row read back as the decider's state, to fold on from. */
function stateOf(entry: ContactPointEntry): Registered {
  const holder = entry.state !== null ? { state: entry.state } : { organisation: entry.organisation! };
  return {
    registered: true,
    contactPointId: entry.id,
    ...holder,
    personal:
      entry.personal === null
        ? { erased: true, erasedOn: entry.erased_on ?? '' }
        : (entry.personal as Registered['personal']),
    primary: false,
    status: entry.status as Registered['status'],
    lastConfirmedOn: entry.last_confirmed_on,
    role: entry.role as Registered['role'],
    authority: entry.authority,
    languages: entry.languages,
    expertise: entry.expertise,
  };
}

function entryOf(state: Registered, version: number, position: string): ContactPointEntry {
  const personal = state.personal;
  return {
    id: state.contactPointId,
    state: state.state ?? null,
    organisation: state.organisation ?? null,
    personal: isErased(personal) ? null : personal,
    erased_on: isErased(personal) && personal.erasedOn ? personal.erasedOn : null,
    role: state.role,
    authority: state.authority,
    languages: state.languages,
    expertise: state.expertise,
    status: state.status,
    last_confirmed_on: state.lastConfirmedOn,
    version,
    position,
  };
}

/**
 * The directory as clients read it: states, liaison organisations and contact points, one row each, and each
 * state's primary contact point, in the schema `schema` (a new schema per rebuild). A contact point's personal
 * data is kept only sealed with its own key (see personal-data.ts), so it reads as erased from the instant the
 * key is destroyed. Each contact point also holds its search document (see contact-point-search.ts): words of
 * its open fields, blind tokens of its personal ones, rewritten with the row.
 */
export class DirectoryProjection extends BatchProjection {
  readonly filter = {
    streamPrefixes: [
      streamPrefix('state'),
      streamPrefix('liaison-organisation'),
      streamPrefix('contact-point'),
    ],
  };

  constructor(
    schema: string,
    private readonly keys: KeyStore,
    private readonly codec: PersonalDataCodec,
    private readonly blindIndex: BlindIndex,
  ) {
    super('directory', schema);
  }

  protected tables(schema: string): string {
    return `
      CREATE TABLE IF NOT EXISTS ${schema}.states (
        code text PRIMARY KEY, name text NOT NULL, history jsonb NOT NULL, version integer NOT NULL);
      CREATE TABLE IF NOT EXISTS ${schema}.organisations (
        id text PRIMARY KEY, name text NOT NULL, acronym text NOT NULL, kind text NOT NULL,
        suspended boolean NOT NULL, version integer NOT NULL);
      CREATE TABLE IF NOT EXISTS ${schema}.contact_points (
        id text PRIMARY KEY, state text, organisation text, personal text, erased_on text,
        role text NOT NULL, authority text NOT NULL, languages text[] NOT NULL, expertise text[] NOT NULL,
        status text NOT NULL, last_confirmed_on text NOT NULL, version integer NOT NULL, position text NOT NULL,
        search_open tsvector NOT NULL, search_name tsvector NOT NULL, search_closed tsvector NOT NULL);
      CREATE TABLE IF NOT EXISTS ${schema}.primaries (
        state text PRIMARY KEY, contact_point_id text NOT NULL);
      CREATE INDEX IF NOT EXISTS contact_points_state ON ${schema}.contact_points (state);
      CREATE INDEX IF NOT EXISTS contact_points_languages ON ${schema}.contact_points USING gin (languages);
      CREATE INDEX IF NOT EXISTS contact_points_search_open ON ${schema}.contact_points
        USING gin (${SEARCH_OPEN});
      CREATE INDEX IF NOT EXISTS contact_points_search_all ON ${schema}.contact_points
        USING gin (${SEARCH_ALL});`;
  }

  /**
   * Folds the batch into the rows it touches, in memory and in log order, then writes each touched row once:
   * a rebuild costs a few statements per batch rather than one or two per event. Rows are loaded first, so
   * the fold continues from what is stored.
   */
  async applyBatch(tx: SqlQueryable, events: readonly RecordedEvent[]): Promise<void> {
    const s = this.schema;
    const ids = {
      state: new Set<string>(),
      'liaison-organisation': new Set<string>(),
      'contact-point': new Set<string>(),
    };
    for (const event of events) {
      const parsed = parseStreamId(event.streamId);
      if (parsed && parsed.category in ids) ids[parsed.category as keyof typeof ids].add(parsed.id);
    }
    const stored = await loadRows<ContactPointRow>(tx, `${s}.contact_points`, 'id', ids['contact-point']);
    // The rows' sealed personal data is opened for the fold, in memory only, and sealed again to be written.
    const keys = await this.keys.findMany([...ids['contact-point']]);
    const primaries = await tx.query<{ state: string; contact_point_id: string }>(
      `SELECT state, contact_point_id FROM ${s}.primaries`,
    );
    const fold: DirectoryFold = {
      states: await loadRows<StateRow>(tx, `${s}.states`, 'code', ids.state),
      organisations: await loadRows<OrganisationRow>(
        tx,
        `${s}.organisations`,
        'id',
        ids['liaison-organisation'],
      ),
      contactPoints: new Map(
        [...stored].map(([id, row]) => [
          id,
          { ...row, personal: openPersonal(keys.get(id), id, row.personal) },
        ]),
      ),
      primaries: {
        primaries: Object.fromEntries(primaries.map((row) => [row.state, row.contact_point_id])),
        stateOf: Object.fromEntries(
          [...stored].filter(([, row]) => row.state).map(([id, row]) => [id, row.state!]),
        ),
      },
      touched: { states: new Set(), organisations: new Set(), contactPoints: new Set(), primaries: false },
    };

    for (const event of events) {
      const field = PERSONAL[event.type];
      const id = parseStreamId(event.streamId)?.id ?? '';
      // A personal field that encrypts `{}` changes nothing: no need to decrypt it (most changes).
      const decoded = !field
        ? event
        : {
            ...event,
            data:
              plaintextLength(event.data[field]) === 2
                ? { ...event.data, [field]: {} }
                : this.codec.decodeData(event, keys.get(id)),
          };
      foldEvent(HANDLERS, decoded, fold);
    }

    await writeRows(
      tx,
      `${s}.states`,
      ['code'],
      [...fold.touched.states].map((code) => fold.states.get(code)!),
    );
    await writeRows(
      tx,
      `${s}.organisations`,
      ['id'],
      [...fold.touched.organisations].map((id) => fold.organisations.get(id)!),
    );
    const touched = [...fold.touched.contactPoints].map((id) => {
      const entry = fold.contactPoints.get(id)!;
      const key = keys.get(id);
      // Without its key a contact point is erased, whatever the row says yet: nothing of it is kept.
      return { id, entry, key, personal: key ? entry.personal : null };
    });
    const documents = await searchDocuments(
      touched.map(({ entry, personal }) => ({ ...entry, personal })),
      this.blindIndex,
    );
    await writeRows(
      tx,
      `${s}.contact_points`,
      ['id'],
      touched.map(({ id, entry, key, personal }, i) => ({
        ...entry,
        personal: sealPersonal(key, id, personal),
        ...documents[i],
      })),
    );
    if (fold.touched.primaries) {
      await tx.query(`DELETE FROM ${s}.primaries`);
      await writeRows(
        tx,
        `${s}.primaries`,
        ['state'],
        Object.entries(fold.primaries.primaries).map(([state, contactPointId]) => ({
          state,
          contact_point_id: contactPointId,
        })),
      );
    }
  }
}
