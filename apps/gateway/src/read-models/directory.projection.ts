import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import type { PersonalData, StateStatus } from '@focal/domain';
import {
  plaintextLength,
  type KeyStore,
  type PersonalDataCodec,
  type RecordedEvent,
  type SqlProjection,
  type SqlQueryable,
} from '@focal/events';

import { loadRows, writeRows } from './batch-rows.js';
import { SEARCH_ALL, SEARCH_OPEN, searchDocument } from './contact-point-search.js';
import { openPersonal, sealPersonal } from './personal-data.js';
import type { ContactPointEntry, ContactPointRow, OrganisationRow, StateRow } from './read-models.js';

type Data = Record<string, unknown>;
const PERSONAL = CONTACT_POINT_PERSONAL_FIELDS.fields as Readonly<Record<string, string>>;
const text = (value: unknown) => (typeof value === 'string' ? value : null);
const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : null);

/**
 * The directory as clients read it: states, liaison organisations and contact points, one row each, in the
 * schema `schema` (a new schema per rebuild). A contact point's personal data is kept only sealed with its
 * own key (see personal-data.ts), so it reads as erased from the instant the key is destroyed, and is dropped
 * when the erasure arrives. Each contact point also holds its search document (see contact-point-search.ts):
 * words of its open fields, blind tokens of its personal ones, rewritten with the row.
 */
export class DirectoryProjection implements SqlProjection {
  readonly name: string;
  readonly filter = { streamPrefixes: ['state-', 'liaison-organisation-', 'contact-point-'] };

  constructor(
    readonly schema: string,
    private readonly keys: KeyStore,
    private readonly codec: PersonalDataCodec,
    private readonly indexKey: Buffer,
  ) {
    this.name = `gateway.directory.${schema}`;
  }

  async setUp(sql: SqlQueryable): Promise<void> {
    await sql.exec(`
      CREATE SCHEMA IF NOT EXISTS ${this.schema};
      CREATE TABLE IF NOT EXISTS ${this.schema}.states (
        code text PRIMARY KEY, name text NOT NULL, history jsonb NOT NULL, version integer NOT NULL);
      -- A state's status is the one in force on the day it is read, from its history: a stored status
      -- would be wrong from the day a change recorded earlier takes effect. Schemas made before kept one.
      ALTER TABLE ${this.schema}.states DROP COLUMN IF EXISTS status, DROP COLUMN IF EXISTS since;
      CREATE TABLE IF NOT EXISTS ${this.schema}.organisations (
        id text PRIMARY KEY, name text NOT NULL, acronym text NOT NULL, kind text NOT NULL,
        suspended boolean NOT NULL, version integer NOT NULL);
      CREATE TABLE IF NOT EXISTS ${this.schema}.contact_points (
        id text PRIMARY KEY, state text, organisation text, personal text, erased_on text,
        role text NOT NULL, authority text NOT NULL, languages text[] NOT NULL, expertise text[] NOT NULL,
        is_primary boolean NOT NULL, status text NOT NULL, last_confirmed_on text NOT NULL,
        version integer NOT NULL, position text NOT NULL,
        search_open tsvector NOT NULL, search_name tsvector NOT NULL, search_closed tsvector NOT NULL);
      CREATE INDEX IF NOT EXISTS contact_points_state ON ${this.schema}.contact_points (state);
      CREATE INDEX IF NOT EXISTS contact_points_languages ON ${this.schema}.contact_points USING gin (languages);
      CREATE INDEX IF NOT EXISTS contact_points_search_open ON ${this.schema}.contact_points
        USING gin (${SEARCH_OPEN});
      CREATE INDEX IF NOT EXISTS contact_points_search_all ON ${this.schema}.contact_points
        USING gin (${SEARCH_ALL});`);
  }

  apply(tx: SqlQueryable, event: RecordedEvent): Promise<void> {
    return this.applyBatch(tx, [event]);
  }

  /**
   * Folds the batch into the rows it touches, in memory and in log order, then writes each touched row once:
   * a rebuild costs a few statements per batch rather than one or two per event. Rows are loaded first, so
   * the fold continues from what is stored.
   */
  async applyBatch(tx: SqlQueryable, events: readonly RecordedEvent[]): Promise<void> {
    const s = this.schema;
    const ids = {
      states: new Set<string>(),
      organisations: new Set<string>(),
      contactPoints: new Set<string>(),
    };
    for (const event of events) {
      const id = this.idOf(event);
      if (event.streamId.startsWith('state-')) ids.states.add(id);
      else if (event.streamId.startsWith('liaison-organisation-')) ids.organisations.add(id);
      else {
        ids.contactPoints.add(id);
        const replaced = (event.data as Data).replacesPrimary;
        if (typeof replaced === 'string') ids.contactPoints.add(replaced);
      }
    }
    const states = await loadRows<StateRow>(tx, `${s}.states`, 'code', ids.states);
    const organisations = await loadRows<OrganisationRow>(tx, `${s}.organisations`, 'id', ids.organisations);
    const stored = await loadRows<ContactPointRow>(tx, `${s}.contact_points`, 'id', ids.contactPoints);
    // The rows' sealed personal data is opened for the fold, in memory only, and sealed again to be written.
    const keys = await this.keys.findMany([...ids.contactPoints]);
    const contactPoints = new Map<string, ContactPointEntry>(
      [...stored].map(([id, row]) => [
        id,
        { ...row, personal: openPersonal(keys.get(id), id, row.personal) },
      ]),
    );
    const touched = {
      states: new Set<string>(),
      organisations: new Set<string>(),
      contactPoints: new Set<string>(),
    };

    for (const event of events) {
      const id = this.idOf(event);
      const data = event.data as Data;
      const version = event.streamVersion;
      switch (event.type) {
        case 'StateAdmitted':
          if (!states.has(id)) {
            states.set(id, {
              code: String(data.code),
              name: String(data.name),
              history: [{ status: data.status as StateStatus, from: String(data.effectiveFrom) }],
              version,
            });
            touched.states.add(id);
          }
          break;
        case 'StateStatusChanged': {
          const row = states.get(id);
          if (row) {
            // Recorded now, in force from its date: the history says which status holds on which day.
            const entry = { status: data.to as StateStatus, from: String(data.effectiveFrom) };
            states.set(id, { ...row, version, history: [...row.history, entry] });
            touched.states.add(id);
          }
          break;
        }
        case 'LiaisonOrganisationRegistered':
          if (!organisations.has(id)) {
            organisations.set(id, {
              id,
              name: String(data.name),
              acronym: String(data.acronym),
              kind: String(data.kind),
              suspended: false,
              version,
            });
            touched.organisations.add(id);
          }
          break;
        case 'LiaisonOrganisationDetailsChanged':
        case 'LiaisonOrganisationSuspended':
        case 'LiaisonOrganisationReinstated': {
          const row = organisations.get(id);
          if (!row) break;
          const changes = (data.changes ?? {}) as Data;
          organisations.set(
            id,
            event.type === 'LiaisonOrganisationDetailsChanged'
              ? {
                  ...row,
                  name: text(changes.name) ?? row.name,
                  acronym: text(changes.acronym) ?? row.acronym,
                  kind: text(changes.kind) ?? row.kind,
                  version,
                }
              : { ...row, suspended: event.type === 'LiaisonOrganisationSuspended', version },
          );
          touched.organisations.add(id);
          break;
        }
        default:
          if (event.type.startsWith('ContactPoint')) {
            const field = PERSONAL[event.type];
            // A personal field that encrypts `{}` changes nothing: no need to decrypt it (most changes).
            const decoded = !field
              ? data
              : plaintextLength(data[field]) === 2
                ? { ...data, [field]: {} }
                : this.codec.decodeData(event, keys.get(id));
            this.foldContactPoint(contactPoints, touched.contactPoints, id, event, decoded as Data);
          }
      }
    }

    await writeRows(
      tx,
      `${s}.states`,
      ['code'],
      [...touched.states].map((id) => states.get(id)!),
    );
    await writeRows(
      tx,
      `${s}.organisations`,
      ['id'],
      [...touched.organisations].map((id) => organisations.get(id)!),
    );
    await writeRows(
      tx,
      `${s}.contact_points`,
      ['id'],
      [...touched.contactPoints].map((id) => {
        const entry = contactPoints.get(id)!;
        const key = keys.get(id);
        // Without its key a contact point is erased, whatever the rows says yet: nothing of it is kept.
        const personal = key ? entry.personal : null;
        return {
          ...entry,
          personal: sealPersonal(key, id, personal),
          ...searchDocument({ ...entry, personal }, this.indexKey),
        };
      }),
    );
  }

  /** One contact-point event on its row (and on the row of the primary it replaces), as the SQL did. */
  private foldContactPoint(
    rows: Map<string, ContactPointEntry & { position?: string }>,
    touched: Set<string>,
    id: string,
    event: RecordedEvent,
    decoded: Data,
  ): void {
    const version = event.streamVersion;
    const position = event.globalPosition as string;
    const unsetPrimary = (other: unknown) => {
      const row = typeof other === 'string' ? rows.get(other) : undefined;
      if (row) {
        rows.set(row.id, { ...row, is_primary: false });
        touched.add(row.id);
      }
    };
    const row = rows.get(id);
    const update = (changes: Partial<ContactPointEntry>) => {
      if (!row) return;
      rows.set(id, { ...rows.get(id)!, ...changes, version, position });
      touched.add(id);
    };
    switch (event.type) {
      case 'ContactPointRegistered': {
        unsetPrimary(decoded.replacesPrimary);
        if (row) return;
        rows.set(id, {
          id,
          state: text(decoded.state),
          organisation: text(decoded.organisation),
          personal: personalOf(decoded.personal),
          erased_on: null,
          role: String(decoded.role),
          authority: String(decoded.authority),
          languages: list(decoded.languages) ?? [],
          expertise: list(decoded.expertise) ?? [],
          is_primary: decoded.primary === true,
          status: 'active',
          last_confirmed_on: String(decoded.registeredOn),
          version,
          position,
        });
        touched.add(id);
        return;
      }
      case 'ContactPointDetailsChanged': {
        if (!row) return;
        const current = rows.get(id)!;
        const changes = (decoded.changes ?? {}) as Data;
        const personalChanges = personalOf(decoded.personalChanges);
        update({
          role: text(changes.role) ?? current.role,
          authority: text(changes.authority) ?? current.authority,
          languages: list(changes.languages) ?? current.languages,
          expertise: list(changes.expertise) ?? current.expertise,
          // Erased (on the row or by the key) stays erased.
          personal:
            current.personal === null || personalChanges === null
              ? null
              : { ...current.personal, ...personalChanges },
        });
        return;
      }
      case 'ContactPointDesignatedPrimary':
        unsetPrimary(decoded.replacesPrimary);
        update({ is_primary: true });
        return;
      case 'ContactPointRetired':
        update({ is_primary: false, status: 'retired' });
        return;
      case 'ContactPointReinstated':
        update({ status: 'active' });
        return;
      case 'ContactPointConfirmed':
        update({ last_confirmed_on: String(decoded.on) });
        return;
      case 'ContactPointPersonalDataErased':
        update({ personal: null, erased_on: String(decoded.on) });
        return;
      default:
        return;
    }
  }

  private idOf(event: RecordedEvent): string {
    const prefix = this.filter.streamPrefixes.find((candidate) => event.streamId.startsWith(candidate)) ?? '';
    return event.streamId.slice(prefix.length);
  }
}

/** Personal fields as an event carried them: null when they read as erased (the key was gone). */
function personalOf(value: unknown): Partial<PersonalData> | null {
  if (!value || typeof value !== 'object' || 'erased' in value) return null;
  const fields: Partial<PersonalData> = {};
  for (const field of ['fullName', 'email', 'phone', 'notes'] as const) {
    const given = (value as Data)[field];
    if (typeof given === 'string') fields[field] = given;
  }
  return fields;
}
