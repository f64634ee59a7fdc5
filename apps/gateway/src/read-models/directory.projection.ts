import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import type { KeyStore, PersonalDataCodec, RecordedEvent, SqlProjection, SqlQueryable } from '@focal/events';

type Data = Record<string, unknown>;
const text = (value: unknown) => (typeof value === 'string' ? value : null);
const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : null);

/**
 * The directory as clients read it: states, liaison organisations and contact points, one row each, in the
 * schema `schema` (a new schema per rebuild). Personal fields are decrypted on the way in and cleared when
 * the contact point's personal data is erased.
 */
export class DirectoryProjection implements SqlProjection {
  readonly name: string;
  readonly filter = { streamPrefixes: ['state-', 'liaison-organisation-', 'contact-point-'] };

  constructor(
    readonly schema: string,
    private readonly keys: KeyStore,
    private readonly codec: PersonalDataCodec,
  ) {
    this.name = `gateway.directory.${schema}`;
  }

  async setUp(sql: SqlQueryable): Promise<void> {
    await sql.exec(`
      CREATE SCHEMA IF NOT EXISTS ${this.schema};
      CREATE TABLE IF NOT EXISTS ${this.schema}.states (
        code text PRIMARY KEY, name text NOT NULL, status text NOT NULL, since text NOT NULL,
        history jsonb NOT NULL, version integer NOT NULL);
      CREATE TABLE IF NOT EXISTS ${this.schema}.organisations (
        id text PRIMARY KEY, name text NOT NULL, acronym text NOT NULL, kind text NOT NULL,
        suspended boolean NOT NULL, version integer NOT NULL);
      CREATE TABLE IF NOT EXISTS ${this.schema}.contact_points (
        id text PRIMARY KEY, state text, organisation text,
        full_name text, email text, phone text, notes text, erased_on text,
        role text NOT NULL, authority text NOT NULL, languages text[] NOT NULL, expertise text[] NOT NULL,
        is_primary boolean NOT NULL, status text NOT NULL, last_confirmed_on text NOT NULL,
        version integer NOT NULL, position text NOT NULL);
      CREATE INDEX IF NOT EXISTS contact_points_state ON ${this.schema}.contact_points (state);
      CREATE INDEX IF NOT EXISTS contact_points_languages ON ${this.schema}.contact_points USING gin (languages);`);
  }

  async apply(tx: SqlQueryable, event: RecordedEvent): Promise<void> {
    const data = event.data as Data;
    const s = this.schema;
    const version = event.streamVersion;
    switch (event.type) {
      case 'StateAdmitted':
        await tx.query(
          `INSERT INTO ${s}.states (code, name, status, since, history, version) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (code) DO NOTHING`,
          [
            data.code,
            data.name,
            data.status,
            data.effectiveFrom,
            JSON.stringify([{ status: data.status, from: data.effectiveFrom }]),
            version,
          ],
        );
        return;
      case 'StateStatusChanged':
        await tx.query(
          `UPDATE ${s}.states SET status = $2, since = $3, version = $4,
                  history = history || jsonb_build_array(jsonb_build_object('status', $2::text, 'from', $3::text))
            WHERE code = $1`,
          [data.code, data.to, data.effectiveFrom, version],
        );
        return;
      case 'LiaisonOrganisationRegistered':
        await tx.query(
          `INSERT INTO ${s}.organisations (id, name, acronym, kind, suspended, version)
           VALUES ($1, $2, $3, $4, false, $5) ON CONFLICT (id) DO NOTHING`,
          [data.organisationId, data.name, data.acronym, data.kind, version],
        );
        return;
      case 'LiaisonOrganisationDetailsChanged': {
        const changes = (data.changes ?? {}) as Data;
        await tx.query(
          `UPDATE ${s}.organisations SET name = coalesce($2, name), acronym = coalesce($3, acronym),
                  kind = coalesce($4, kind), version = $5 WHERE id = $1`,
          [this.idOf(event), text(changes.name), text(changes.acronym), text(changes.kind), version],
        );
        return;
      }
      case 'LiaisonOrganisationSuspended':
      case 'LiaisonOrganisationReinstated':
        await tx.query(`UPDATE ${s}.organisations SET suspended = $2, version = $3 WHERE id = $1`, [
          this.idOf(event),
          event.type === 'LiaisonOrganisationSuspended',
          version,
        ]);
        return;
      default:
        if (event.type.startsWith('ContactPoint')) await this.applyContactPoint(tx, event);
    }
  }

  private async applyContactPoint(tx: SqlQueryable, event: RecordedEvent): Promise<void> {
    const s = this.schema;
    const id = this.idOf(event);
    const version = event.streamVersion;
    const position = event.globalPosition;
    const decoded = await this.decoded(event);
    switch (event.type) {
      case 'ContactPointRegistered': {
        const personal = (decoded.personal ?? {}) as Data;
        if (decoded.replacesPrimary) await this.unsetPrimary(tx, String(decoded.replacesPrimary));
        await tx.query(
          `INSERT INTO ${s}.contact_points (id, state, organisation, full_name, email, phone, notes, role,
             authority, languages, expertise, is_primary, status, last_confirmed_on, version, position)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'active', $13, $14, $15)
           ON CONFLICT (id) DO NOTHING`,
          [
            id,
            text(decoded.state),
            text(decoded.organisation),
            text(personal.fullName),
            text(personal.email),
            text(personal.phone),
            text(personal.notes),
            decoded.role,
            decoded.authority,
            list(decoded.languages) ?? [],
            list(decoded.expertise) ?? [],
            decoded.primary === true,
            decoded.registeredOn,
            version,
            position,
          ],
        );
        return;
      }
      case 'ContactPointDetailsChanged': {
        const changes = (decoded.changes ?? {}) as Data;
        const personal = (decoded.personalChanges ?? {}) as Data;
        await tx.query(
          `UPDATE ${s}.contact_points SET
             role = coalesce($2, role), authority = coalesce($3, authority),
             languages = coalesce($4, languages), expertise = coalesce($5, expertise),
             full_name = CASE WHEN erased_on IS NULL THEN coalesce($6, full_name) END,
             email = CASE WHEN erased_on IS NULL THEN coalesce($7, email) END,
             phone = CASE WHEN erased_on IS NULL THEN coalesce($8, phone) END,
             notes = CASE WHEN erased_on IS NULL THEN coalesce($9, notes) END,
             version = $10, position = $11
           WHERE id = $1`,
          [
            id,
            text(changes.role),
            text(changes.authority),
            list(changes.languages),
            list(changes.expertise),
            text(personal.fullName),
            text(personal.email),
            text(personal.phone),
            text(personal.notes),
            version,
            position,
          ],
        );
        return;
      }
      case 'ContactPointDesignatedPrimary':
        if (decoded.replacesPrimary) await this.unsetPrimary(tx, String(decoded.replacesPrimary));
        await this.touch(tx, id, version, position, 'is_primary = true');
        return;
      case 'ContactPointRetired':
        await this.touch(tx, id, version, position, `is_primary = false, status = 'retired'`);
        return;
      case 'ContactPointReinstated':
        await this.touch(tx, id, version, position, `status = 'active'`);
        return;
      case 'ContactPointConfirmed':
        await this.touch(tx, id, version, position, 'last_confirmed_on = $4', [decoded.on]);
        return;
      case 'ContactPointPersonalDataErased':
        await this.touch(
          tx,
          id,
          version,
          position,
          'full_name = NULL, email = NULL, phone = NULL, notes = NULL, erased_on = $4',
          [decoded.on],
        );
        return;
      default:
        return;
    }
  }

  private async decoded(event: RecordedEvent): Promise<Data> {
    if (
      !CONTACT_POINT_PERSONAL_FIELDS.fields[event.type as keyof typeof CONTACT_POINT_PERSONAL_FIELDS.fields]
    ) {
      return event.data as Data;
    }
    const key = await this.keys.find(this.idOf(event));
    return this.codec.decodeData(event, key) as Data;
  }

  private async touch(
    tx: SqlQueryable,
    id: string,
    version: number,
    position: string,
    set: string,
    extra: unknown[] = [],
  ) {
    await tx.query(
      `UPDATE ${this.schema}.contact_points SET ${set}, version = $2, position = $3 WHERE id = $1`,
      [id, version, position, ...extra],
    );
  }

  private async unsetPrimary(tx: SqlQueryable, id: string) {
    await tx.query(`UPDATE ${this.schema}.contact_points SET is_primary = false WHERE id = $1`, [id]);
  }

  private idOf(event: RecordedEvent): string {
    const prefix = this.filter.streamPrefixes.find((candidate) => event.streamId.startsWith(candidate)) ?? '';
    return event.streamId.slice(prefix.length);
  }
}
