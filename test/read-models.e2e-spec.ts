import { DEFAULT_LIMITS, openPersistence, type Persistence } from '@focal/service';

import { openPersonal } from '../apps/gateway/src/directory/personal-data.js';
import { READ_MODEL_LAYOUT, ReadModels } from '../apps/gateway/src/read-models/read-models.js';
import { rebuildReadModels } from '../apps/gateway/src/read-models/rebuild.js';
import { testSecrets } from './support/secrets.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';

const TABLES = [
  'states',
  'organisations',
  'contact_points',
  'meeting_requests',
  'threads',
  'messages',
  'plenary_meetings',
  'plenary_agenda_items',
  'plenary_delegates',
];

describe.each(STORES)('the read models (%s store)', (store) => {
  let system: TestSystem;
  let persistence: Persistence;
  let secretariat: string;
  let france: string;
  let erasedId: string;

  /** Every row of every table, personal data opened: ciphertext differs from one sealing to the next. */
  const snapshot = async (schema: string) => {
    const tables: Record<string, unknown[]> = {};
    for (const table of TABLES) {
      tables[table] = await persistence.sql.query(`SELECT * FROM ${schema}.${table} ORDER BY 1, 2`);
    }
    const rows = tables.contact_points as { id: string; personal: string | null }[];
    const keys = await persistence.keys.findMany(rows.map((row) => row.id));
    tables.contact_points = rows.map((row) => ({
      ...row,
      personal: openPersonal(keys.get(row.id), row.id, row.personal),
    }));
    return tables;
  };

  beforeAll(async () => {
    system = await startSystem(store, 'readmodels');
    // Rebuilds and a second runner on connections of their own, as another process would on a server; the
    // embedded store has one connection, the system's.
    persistence =
      store === 'postgres'
        ? await openPersistence({
            store: { kind: 'postgres', databaseUrl: system.storeEnv.DATABASE_URL! },
            limits: DEFAULT_LIMITS,
            masterKey: testSecrets.masterKey,
          })
        : system.persistence;
    secretariat = await system.token({ role: 'secretariat' });
    await system.ok('PUT', '/v1/states/FR', secretariat, {
      name: 'France',
      status: 'member',
      effectiveFrom: '2002-06-13',
    });
    await system.ok('PUT', '/v1/states/DE', secretariat, {
      name: 'Germany',
      status: 'member',
      effectiveFrom: '2002-06-13',
    });
    france = await system.token({ role: 'member-state', state: 'FR' });
    const germany = await system.token({ role: 'member-state', state: 'DE' });
    const person = {
      state: 'FR',
      role: 'judge',
      authority: 'Tribunal judiciaire de Paris',
      languages: ['fr'],
    };
    const kept = await system.ok('POST', '/v1/contact-points', secretariat, {
      ...person,
      fullName: 'Paul Durand',
      email: 'paul@justice.fr',
      primary: true,
    });
    const erased = await system.ok('POST', '/v1/contact-points', secretariat, {
      ...person,
      fullName: 'Marie Curie',
      email: 'marie@justice.fr',
      phone: '+33100000000',
    });
    erasedId = erased.body.id;
    await system.ok('PATCH', `/v1/contact-points/${kept.body.id}`, france, { notes: 'on leave in August' });
    await system.ok('DELETE', `/v1/contact-points/${erasedId}/personal-data`, secretariat);
    const meeting = await system.ok('POST', '/v1/meeting-requests', france, {
      subjectKind: 'situation',
      title: 'Situation X',
      summary: 'S',
      confidentiality: 'closed',
      proposedDates: ['2031-05-05'],
      invitedStates: ['DE'],
    });
    await system.ok('POST', `/v1/meeting-requests/${meeting.body.id}/co-sponsor`, germany);
    const thread = await system.ok('POST', '/v1/threads', france, {
      subject: 'Q',
      visibility: 'restricted',
      participants: ['secretariat', 'state:DE'],
    });
    await system.ok('POST', `/v1/threads/${thread.body.id}/messages`, france, {
      body: 'hello',
      handlingCode: 'H1',
    });
    const plenary = `/v1/plenary-meetings/${
      (
        await system.ok('POST', '/v1/plenary-meetings', secretariat, {
          number: 39,
          title: '39th plenary meeting',
          theme: 'Digital evidence',
          startsOn: '2031-05-12',
          endsOn: '2031-05-13',
          venue: 'Eurojust, The Hague',
          presidency: 'NL',
        })
      ).body.id
    }`;
    await system.ok('POST', `${plenary}/agenda-items`, secretariat, { session: 'closed', title: 'Cases' });
    const delegate = await system.ok('POST', `${plenary}/delegates`, france, {
      session: 'closed',
      name: 'Paul Durand',
      contactPointId: kept.body.id,
    });
    await system.ok('DELETE', `${plenary}/delegates/${delegate.body.id}`, france);
    await system.gateway.readModels.catchUp();
  });

  afterAll(async () => {
    if (store === 'postgres') await persistence?.close();
    await system?.stop();
  });

  it('is idempotent when run twice: a second runner over the same log changes nothing', async () => {
    const before = await snapshot('gateway_v1');
    const again = await ReadModels.open(persistence.sql, persistence.store, persistence.keys, 'gateway_v1');
    await again.start();
    await again.catchUp();
    await again.stop();
    expect(await snapshot('gateway_v1')).toEqual(before);
    expect(before.contact_points).toHaveLength(2);
    expect(before.meeting_requests).toEqual([expect.objectContaining({ co_sponsors: ['DE'] })]);
    expect(before.plenary_meetings).toEqual([expect.objectContaining({ number: 39, version: 4 })]);
    expect(before.plenary_delegates).toEqual([
      expect.objectContaining({ session: 'closed', withdrawn: true }),
    ]);
  });

  it('a rebuild equals the live read models, keeps erased data erased, and the gateway switches to it', async () => {
    const progress: number[] = [];
    const report = await rebuildReadModels(persistence, (done) => progress.push(done));
    expect(report).toMatchObject({ from: 'gateway_v1', to: 'gateway_v2' });
    expect(progress.at(-1)).toBe(report.events);
    expect(await snapshot('gateway_v2')).toEqual(await snapshot('gateway_v1'));
    const erased = await persistence.sql.query(`SELECT * FROM gateway_v2.contact_points WHERE id = $1`, [
      erasedId,
    ]);
    expect(JSON.stringify(erased)).not.toMatch(/Marie|marie@|\+33100000000/);

    const deadline = Date.now() + 10_000;
    while ((await system.call('GET', '/health/ready')).body.checks.readModels !== 'gateway_v2') {
      if (Date.now() > deadline) throw new Error('the gateway did not switch to gateway_v2');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const read = await system.call('GET', `/v1/contact-points/${erasedId}`, { token: france });
    expect(read.body).toMatchObject({ fullName: null, personalData: { erased: true } });
    expect(read.body).not.toHaveProperty('email');
  });

  it('carries the correlation id from HTTP through NATS into the event metadata', async () => {
    const response = await system.call('PUT', '/v1/states/NL', {
      token: secretariat,
      body: { name: 'Netherlands', status: 'member', effectiveFrom: '2002-06-13' },
      headers: { 'x-correlation-id': 'journey-42' },
    });

    expect(response.headers.get('x-correlation-id')).toBe('journey-42');
    const [event] = await persistence.store.readStream('state-NL');
    expect(event!.metadata).toMatchObject({ correlationId: 'journey-42', actor: { role: 'secretariat' } });
  });

  it('read models of an older layout (personal data in the clear) are rebuilt when the gateway starts, and dropped', async () => {
    // What an earlier version left: a schema with names in the clear, in use, of layout 1.
    await system.sql('CREATE SCHEMA gateway_v7');
    await system.sql(
      'CREATE TABLE gateway_v7.contact_points (id text PRIMARY KEY, full_name text, email text, is_primary boolean)',
    );
    await system.sql(
      `INSERT INTO gateway_v7.contact_points VALUES ('x', 'Marie Curie', 'marie@example.org', true)`,
    );
    await system.sql(`UPDATE focal_read_models SET schema = 'gateway_v7', layout = 1 WHERE name = 'gateway'`);
    await system.restartGateway();
    const [active] = await system.sql<{ schema: string; layout: number }>(
      `SELECT schema, layout FROM focal_read_models WHERE name = 'gateway'`,
    );
    expect(active).toEqual({ schema: 'gateway_v8', layout: READ_MODEL_LAYOUT });
    const schemas = await system.sql<{ nspname: string }>(
      `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'gateway%' ORDER BY nspname`,
    );
    expect(schemas.map((row) => row.nspname)).not.toContain('gateway_v7');
    const read = await system.call('GET', '/v1/contact-points?q=marie', { token: secretariat });
    expect(read.body.items).toEqual([]);
    const listed = await system.call('GET', '/v1/contact-points', { token: france });
    expect(listed.body.total).toBe(2);
  });
});
