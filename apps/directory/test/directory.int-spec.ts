import { randomUUID } from 'node:crypto';

import { testKeyring } from '../../../test/support/secrets.js';
import { CONTACT_POINT_PERSONAL_FIELDS, inNamespace } from '@focal/contracts';
import { contactPointDecider, fold, type ContactPointEvent } from '@focal/domain';
import {
  openPostgresEventStore,
  PersonalDataCodec,
  SqlKeyStore,
  PgDriver,
  untilReadable,
  type EventStore,
} from '@focal/events';
import type { RunningService } from '@focal/service';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';

import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.js';
import {
  actors,
  failureOf,
  natsUrl,
  startDirectory,
  testClient,
  testConfig,
  testNamespace,
  type TestClient,
} from '../../../test/support/services.js';

const personal = { fullName: 'Claire Martin', email: 'claire.martin@justice.gouv.fr', phone: '+33140000000' };
const post = {
  role: 'prosecutor' as const,
  authority: 'Parquet national antiterroriste',
  languages: ['fr', 'en'],
};

describe('directory service over NATS (PostgreSQL store)', () => {
  let db: TestDatabase;
  let namespace: string;
  let service: RunningService;
  let client: TestClient;
  let store: EventStore;
  let raw: NatsConnection;

  beforeAll(async () => {
    db = await createTestDatabase('directory');
    namespace = testNamespace('directory');
    service = await startDirectory(testConfig(db.url, namespace));
    client = await testClient(namespace);
    store = await openPostgresEventStore({ connectionString: db.url });
    raw = await connect({ servers: natsUrl });
  });

  afterAll(async () => {
    await raw?.close();
    await client?.close();
    await service?.stop();
    await store?.close();
    await db?.drop();
  });

  const registerFrench = (contactPointId = randomUUID(), primary = false) =>
    client.send('focal.directory.contact-point.register', actors.france, {
      contactPointId,
      state: 'FR',
      personal,
      primary,
      expertise: [],
      ...post,
    });

  describe('states', () => {
    it('admits a state and changes its status; the reply names stream, version and position', async () => {
      const admitted = await client.send('focal.directory.state.admit', actors.secretariat, {
        code: 'SE',
        name: 'Sweden',
        status: 'member',
        effectiveFrom: '2002-06-13',
      });
      expect(admitted).toEqual({ streamId: 'state-SE', version: 1, position: expect.any(String) });
      const changed = await client.send('focal.directory.state.change-status', actors.secretariat, {
        code: 'SE',
        to: 'observer',
        effectiveFrom: '2030-01-01',
      });
      expect(changed.version).toBe(2);
      expect(
        store.comparePositions(
          store.parsePosition(changed.position!),
          store.parsePosition(admitted.position!),
        ),
      ).toBeGreaterThan(0);
      const events = await store.readStream('state-SE');
      expect(events.map((event) => event.type)).toEqual(['StateAdmitted', 'StateStatusChanged']);
      expect(events[0]!.metadata.actor).toEqual(actors.secretariat);
    });

    it('refuses with the domain error: Forbidden, Conflict, Invalid naming the field', async () => {
      const byFrance = await failureOf(
        client.send('focal.directory.state.admit', actors.france, {
          code: 'PT',
          name: 'Portugal',
          status: 'member',
          effectiveFrom: '2002-06-13',
        }),
      );
      expect(byFrance).toMatchObject({ code: 'Forbidden', reason: 'state/secretariat-only' });
      const admit = { code: 'FI', name: 'Finland', status: 'member' as const, effectiveFrom: '2002-06-13' };
      await client.send('focal.directory.state.admit', actors.secretariat, admit);
      expect(
        await failureOf(client.send('focal.directory.state.admit', actors.secretariat, admit)),
      ).toMatchObject({
        code: 'Conflict',
        reason: 'state/already-admitted',
      });
      const badCode = await failureOf(
        client.send('focal.directory.state.admit', actors.secretariat, { ...admit, code: 'EL' }),
      );
      expect(badCode).toMatchObject({ code: 'Invalid', fields: { code: expect.stringMatching(/GR/) } });
      expect(await store.readStream('state-EL')).toEqual([]);
    });
  });

  describe('contact points', () => {
    it('keeps personal fields encrypted in the log and readable through the key store', async () => {
      const id = randomUUID();
      await registerFrench(id);
      const [stored] = await store.readStream(`contact-point-${id}`);
      expect(JSON.stringify(stored!.data)).not.toContain('Claire');
      expect(stored!.data.personal).toMatch(/^aes-256-gcm:v1:/);
      expect(stored!.data.authority).toBe(post.authority);

      const sql = new PgDriver({ connectionString: db.url });
      try {
        const codec = new PersonalDataCodec(
          await SqlKeyStore.open(sql, testKeyring),
          CONTACT_POINT_PERSONAL_FIELDS,
        );
        const events = await codec.decode(
          `contact-point-${id}`,
          await store.readStream(`contact-point-${id}`),
        );
        const state = fold(contactPointDecider, events as ContactPointEvent[]);
        expect(state).toMatchObject({ registered: true, personal });
      } finally {
        await sql.close();
      }
    });

    it('runs the whole lifecycle; a second primary replaces the first', async () => {
      const first = randomUUID();
      const second = randomUUID();
      await registerFrench(first, true);
      await registerFrench(second);
      const designated = await client.send('focal.directory.contact-point.designate-primary', actors.france, {
        contactPointId: second,
      });
      expect(designated.version).toBe(2);
      const [, event] = await store.readStream(`contact-point-${second}`);
      expect(event).toMatchObject({
        type: 'ContactPointDesignatedPrimary',
        data: { replacesPrimary: first },
      });

      await client.send('focal.directory.contact-point.change-details', actors.france, {
        contactPointId: first,
        changes: { languages: ['fr', 'de'] },
        personalChanges: { phone: '+33140000001' },
      });
      await client.send('focal.directory.contact-point.confirm', actors.secretariat, {
        contactPointId: first,
      });
      await client.send('focal.directory.contact-point.retire', actors.france, {
        contactPointId: first,
        reason: 'moved to another post',
      });
      const frozen = await failureOf(
        client.send('focal.directory.contact-point.confirm', actors.france, { contactPointId: first }),
      );
      expect(frozen).toMatchObject({ code: 'RuleViolated', reason: 'contact-point/retired' });
      const reinstated = await client.send('focal.directory.contact-point.reinstate', actors.france, {
        contactPointId: first,
      });
      expect(reinstated.version).toBe(5);
      const types = (await store.readStream(`contact-point-${first}`)).map((e) => e.type);
      expect(types).toEqual([
        'ContactPointRegistered',
        'ContactPointDetailsChanged',
        'ContactPointConfirmed',
        'ContactPointRetired',
        'ContactPointReinstated',
      ]);
    });

    it("refuses a state's national authority on another state's contact point", async () => {
      const id = randomUUID();
      await registerFrench(id);
      const refused = await failureOf(
        client.send('focal.directory.contact-point.retire', actors.germany, {
          contactPointId: id,
          reason: 'x',
        }),
      );
      expect(refused).toMatchObject({ code: 'Forbidden', reason: 'contact-point/other-state' });
      const unknown = await failureOf(
        client.send('focal.directory.contact-point.confirm', actors.france, { contactPointId: randomUUID() }),
      );
      expect(unknown).toMatchObject({ code: 'NotFound', reason: 'contact-point/not-found' });
    });

    it('erases personal data by destroying the key: history still verifies, fields read as erased', async () => {
      const id = randomUUID();
      await registerFrench(id);
      await client.send('focal.directory.contact-point.change-details', actors.france, {
        contactPointId: id,
        changes: {},
        personalChanges: { notes: 'reachable on Tuesdays' },
      });
      const denied = await failureOf(
        client.send('focal.directory.contact-point.erase-personal-data', actors.france, {
          contactPointId: id,
        }),
      );
      expect(denied).toMatchObject({ code: 'Forbidden', reason: 'contact-point/erasure-secretariat-only' });
      await client.send('focal.directory.contact-point.erase-personal-data', actors.secretariat, {
        contactPointId: id,
      });

      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      try {
        const { rows } = await admin.query('SELECT key, destroyed_at FROM focal_keys WHERE subject_id = $1', [
          id,
        ]);
        expect(rows).toEqual([{ key: null, destroyed_at: expect.any(Date) }]);
      } finally {
        await admin.end();
      }
      const sql = new PgDriver({ connectionString: db.url });
      try {
        const codec = new PersonalDataCodec(
          await SqlKeyStore.open(sql, testKeyring),
          CONTACT_POINT_PERSONAL_FIELDS,
        );
        const events = await codec.decode(
          `contact-point-${id}`,
          await store.readStream(`contact-point-${id}`),
        );
        expect(JSON.stringify(events)).not.toMatch(/Claire|Tuesdays|justice\.gouv/);
        expect(fold(contactPointDecider, events as ContactPointEvent[])).toMatchObject({
          personal: { erased: true, erasedOn: expect.any(String) },
          authority: post.authority,
        });
      } finally {
        await sql.close();
      }
      expect(await store.verifyStream(`contact-point-${id}`)).toMatchObject({ ok: true });
      const after = await failureOf(
        client.send('focal.directory.contact-point.change-details', actors.secretariat, {
          contactPointId: id,
          changes: { authority: 'x' },
          personalChanges: {},
        }),
      );
      expect(after).toMatchObject({ code: 'RuleViolated', reason: 'contact-point/erased' });
    });
  });

  describe('liaison organisations', () => {
    it('registers, changes, suspends and reinstates', async () => {
      const organisationId = randomUUID();
      await client.send('focal.directory.liaison-organisation.register', actors.secretariat, {
        organisationId,
        name: 'International Criminal Court',
        acronym: 'ICC',
        kind: 'international-court',
      });
      await client.send('focal.directory.liaison-organisation.change-details', actors.secretariat, {
        organisationId,
        changes: { acronym: 'CPI' },
      });
      await client.send('focal.directory.liaison-organisation.suspend', actors.secretariat, {
        organisationId,
        reason: 'review',
      });
      const reinstated = await client.send(
        'focal.directory.liaison-organisation.reinstate',
        actors.secretariat,
        {
          organisationId,
        },
      );
      expect(reinstated).toMatchObject({ streamId: `liaison-organisation-${organisationId}`, version: 4 });
      const byState = await failureOf(
        client.send('focal.directory.liaison-organisation.suspend', actors.france, {
          organisationId,
          reason: 'x',
        }),
      );
      expect(byState).toMatchObject({ code: 'Forbidden' });
    });
  });

  describe('idempotency', () => {
    it('a retry with the same key returns the first result and has no second effect', async () => {
      const id = randomUUID();
      const idempotencyKey = randomUUID();
      const command = { contactPointId: id, state: 'FR', personal, primary: false, expertise: [], ...post };
      const first = await client.send('focal.directory.contact-point.register', actors.france, command, {
        idempotencyKey,
      });
      const again = await client.send('focal.directory.contact-point.register', actors.france, command, {
        idempotencyKey,
      });
      expect(again).toEqual(first);
      expect(await store.readStream(`contact-point-${id}`)).toHaveLength(1);
    });

    it('a retry after a lost reply (the caller gave up waiting) returns the first result, one effect', async () => {
      const impatient = await testClient(namespace, { timeoutMs: 1 });
      const organisationId = randomUUID();
      const idempotencyKey = randomUUID();
      const command = { organisationId, name: 'Eurojust', acronym: 'EJ', kind: 'other' as const };
      try {
        const lost = await failureOf(
          impatient.send('focal.directory.liaison-organisation.register', actors.secretariat, command, {
            idempotencyKey,
          }),
        );
        expect(lost).toMatchObject({ code: 'Unavailable' });
      } finally {
        await impatient.close();
      }
      // The service carried on without the caller.
      const deadline = Date.now() + 5_000;
      while ((await store.readStream(`liaison-organisation-${organisationId}`)).length === 0) {
        if (Date.now() > deadline) throw new Error('the first attempt was never applied');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const retry = await client.send(
        'focal.directory.liaison-organisation.register',
        actors.secretariat,
        command,
        {
          idempotencyKey,
        },
      );
      expect(retry).toMatchObject({ version: 1 });
      expect(await store.readStream(`liaison-organisation-${organisationId}`)).toHaveLength(1);
    });

    it('ten copies racing with one key make one effect and the same reply', async () => {
      const organisationId = randomUUID();
      const idempotencyKey = randomUUID();
      const command = { organisationId, name: 'IRMCT', acronym: 'IRMCT', kind: 'un-mechanism' as const };
      const replies = await Promise.all(
        Array.from({ length: 10 }, () =>
          client.send('focal.directory.liaison-organisation.register', actors.secretariat, command, {
            idempotencyKey,
          }),
        ),
      );
      expect(new Set(replies.map((reply) => JSON.stringify(reply))).size).toBe(1);
      expect(await store.readStream(`liaison-organisation-${organisationId}`)).toHaveLength(1);
    });

    it('the same key for another command is refused', async () => {
      const idempotencyKey = randomUUID();
      const organisationId = randomUUID();
      const register = { organisationId, name: 'Eurojust', acronym: 'EJ', kind: 'other' as const };
      await client.send('focal.directory.liaison-organisation.register', actors.secretariat, register, {
        idempotencyKey,
      });
      const sameStream = await failureOf(
        client.send(
          'focal.directory.liaison-organisation.change-details',
          actors.secretariat,
          { organisationId, changes: { acronym: 'EUJ' } },
          { idempotencyKey },
        ),
      );
      expect(sameStream).toMatchObject({ code: 'Conflict', reason: 'idempotency-key-reused' });
      const otherStream = await failureOf(
        client.send(
          'focal.directory.liaison-organisation.register',
          actors.secretariat,
          { ...register, organisationId: randomUUID() },
          { idempotencyKey },
        ),
      );
      expect(otherStream).toMatchObject({ code: 'Conflict', reason: 'idempotency-key-reused' });
    });
  });

  describe('bad input', () => {
    const request = async (subject: string, payload: string | object) => {
      const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
      const reply = await raw.request(inNamespace(namespace, subject), body, { timeout: 5_000 });
      return reply.json<{ err?: Record<string, unknown>; response?: unknown }>();
    };
    const envelope = (command: unknown) => ({
      actor: actors.secretariat,
      idempotencyKey: randomUUID(),
      correlationId: randomUUID(),
      command,
    });

    it('a message that is not JSON gets an Invalid reply', async () => {
      const reply = await request('focal.directory.state.admit', '{not json');
      expect(reply.err).toMatchObject({
        code: 'Invalid',
        fields: { message: expect.stringMatching(/not JSON/) },
      });
    });

    it('missing fields, wrong types and unknown fields are each named', async () => {
      const missing = await request('focal.directory.state.admit', { command: { code: 'AT' } });
      expect(missing.err).toMatchObject({
        code: 'Invalid',
        fields: { actor: expect.any(String), idempotencyKey: expect.any(String) },
      });
      const wrongTypes = await request(
        'focal.directory.contact-point.register',
        envelope({
          contactPointId: randomUUID(),
          state: 'FR',
          personal,
          primary: 'yes',
          ...post,
          languages: 'fr',
        }),
      );
      expect(wrongTypes.err).toMatchObject({
        code: 'Invalid',
        fields: { primary: expect.any(String), languages: expect.any(String) },
      });
      const unknown = await request(
        'focal.directory.state.admit',
        envelope({
          code: 'AT',
          name: 'Austria',
          status: 'member',
          effectiveFrom: '2002-06-13',
          capital: 'Vienna',
        }),
      );
      expect(unknown.err).toMatchObject({ code: 'Invalid', fields: { capital: 'unknown field: remove it' } });
    });

    it('keeps running and writes nothing', async () => {
      await untilReadable(store);
      const before = await store.readAll({ limit: 10_000 });
      await request('focal.directory.state.admit', '\u0000\u0001');
      await request('focal.directory.state.admit', envelope(null));
      await untilReadable(store);
      const after = await store.readAll({ limit: 10_000 });
      expect(after).toHaveLength(before.length);
      const health = await request('focal.directory.health', {});
      expect(health.response).toEqual({ service: 'directory', status: 'ok' });
    });
  });
});
