import { randomUUID } from 'node:crypto';

import { DIRECTORY_PREFIXES, DirectorySnapshots } from '@focal/audit';
import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import {
  contactPointDecider,
  DomainError,
  liaisonOrganisationDecider,
  primaryByState,
  stateDecider,
  statusOn,
  type Actor,
  type ContactPointEvent,
  type Decider,
  type DomainEvent,
} from '@focal/domain';
import { LogNotReadableError, PersonalDataCodec, type NewEvent } from '@focal/events';
import pg from 'pg';

import { directoryAsOfByReplay } from './support/directory-as-of.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';

const secretariat: Actor = { principal: 'history', role: 'secretariat' };
const CODES =
  'AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE BA CA NO CH US GB GM GN SN AL AD AM AZ BY GE IS LI MD MC ME MK SM RS'.split(
    ' ',
  );
const ROUNDS = 20;

/** One entity of the generated history: its stream, its decider, the commands it cycles through. */
interface Entity {
  streamId: string;
  decider: Decider<unknown, unknown, DomainEvent>;
  state: unknown;
  next(round: number, attempt: number): unknown;
  /** The domain event of each round, in order. */
  events: DomainEvent[];
}

describe.each(STORES)('the directory as it stood at any instant (%s store)', (store) => {
  let system: TestSystem;
  let token: string;
  const entities: Entity[] = [];
  /** After each round: the instant between it and the next, and the expected directory then. */
  const snapshots: { instant: Date; expected: ReturnType<typeof expectedDirectory> }[] = [];

  const at = (round: number) => new Date(Date.UTC(2024, 0, 1 + round)).toISOString();

  function expectedDirectory(date: string) {
    const states: Record<string, string> = {};
    const organisations: Record<string, boolean> = {};
    const contactPoints: Record<string, string> = {};
    const contactPointEvents: { contactPointId: string; event: ContactPointEvent }[] = [];
    for (const entity of entities) {
      const state = entity.state as Record<string, unknown>;
      if (entity.streamId.startsWith('state-')) {
        const status = statusOn(state as never, date);
        if (status) states[String(state.code)] = status;
      } else if (entity.streamId.startsWith('liaison-organisation-')) {
        if (state.registered) organisations[String(state.organisationId)] = Boolean(state.suspended);
      } else if (state.registered) {
        contactPoints[String(state.contactPointId)] = `${String(state.status)}|${String(state.authority)}`;
      }
    }
    // Primaries follow the log order of designations, which is the rounds' order here.
    for (let round = 0; round < ROUNDS; round++) {
      for (const entity of entities) {
        const event = entity.events[round];
        if (entity.streamId.startsWith('contact-point-') && event) {
          contactPointEvents.push({
            contactPointId: entity.streamId.slice(14),
            event: event as ContactPointEvent,
          });
        }
      }
    }
    return {
      states,
      organisations,
      contactPoints,
      primaries: [...new Set(primaryByState(contactPointEvents).values())].sort(),
    };
  }

  beforeAll(async () => {
    // Snapshots every 300 directory events: about 33 over this history, so that queries start from them.
    system = await startSystem(store, 'asof', { directorySnapshotEvery: 300 });
    token = await system.token({ role: 'auditor' });
    const codec = new PersonalDataCodec(system.persistence.keys, CONTACT_POINT_PERSONAL_FIELDS);

    for (const code of CODES) {
      entities.push({
        streamId: `state-${code}`,
        decider: stateDecider as never,
        state: stateDecider.initialState,
        events: [],
        next: (round) =>
          round === 0
            ? {
                type: 'AdmitState',
                actor: secretariat,
                at: at(0),
                code,
                name: code,
                status: 'member',
                effectiveFrom: '2002-06-13',
              }
            : {
                type: 'ChangeStateStatus',
                actor: secretariat,
                at: at(round),
                code,
                to: round % 2 ? 'observer' : 'member',
                effectiveFrom: `2010-01-${String(round).padStart(2, '0')}`,
              },
      });
    }
    for (let i = 0; i < 100; i++) {
      const organisationId = randomUUID();
      entities.push({
        streamId: `liaison-organisation-${organisationId}`,
        decider: liaisonOrganisationDecider as never,
        state: liaisonOrganisationDecider.initialState,
        events: [],
        next: (round, attempt) =>
          round === 0
            ? {
                type: 'RegisterLiaisonOrganisation',
                actor: secretariat,
                at: at(0),
                organisationId,
                name: `Org ${i}`,
                acronym: `O${i}`,
                kind: 'other',
              }
            : [
                {
                  type: 'SuspendLiaisonOrganisation',
                  actor: secretariat,
                  at: at(round),
                  organisationId,
                  reason: 'review',
                },
                { type: 'ReinstateLiaisonOrganisation', actor: secretariat, at: at(round), organisationId },
                {
                  type: 'ChangeLiaisonOrganisationDetails',
                  actor: secretariat,
                  at: at(round),
                  organisationId,
                  changes: { acronym: `O${i}-${round}` },
                },
              ][(round + attempt) % 3],
      });
    }
    for (let i = 0; i < 350; i++) {
      const contactPointId = randomUUID();
      const state = CODES[i % CODES.length]!;
      entities.push({
        streamId: `contact-point-${contactPointId}`,
        decider: contactPointDecider as never,
        state: contactPointDecider.initialState,
        events: [],
        next: (round, attempt) => {
          const base = { actor: secretariat, at: at(round), contactPointId };
          if (round === 0) {
            return {
              ...base,
              type: 'RegisterContactPoint',
              state,
              personal: { fullName: `Person ${i}`, email: `p${i}@example.org` },
              role: 'prosecutor',
              authority: `Authority ${i}`,
              languages: ['en'],
              expertise: [],
              primary: false,
              facts: {},
            };
          }
          // One contact point per state is ever designated primary, so that each state's primary does not
          // depend on the order of the appends racing within a round.
          const commands = [
            {
              ...base,
              type: 'ChangeContactPointDetails',
              changes: { authority: `Authority ${i}.${round}` },
              personalChanges: {},
            },
            ...(i < CODES.length ? [{ ...base, type: 'DesignatePrimaryContactPoint', facts: {} }] : []),
            { ...base, type: 'RetireContactPoint', reason: 'moved' },
            { ...base, type: 'ReinstateContactPoint' },
            { ...base, type: 'ConfirmContactPoint' },
          ];
          return commands[(round + attempt) % commands.length];
        },
      });
    }
    expect(entities).toHaveLength(500);

    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(
        entities.map(async (entity) => {
          let decided: readonly DomainEvent[] | DomainError = [];
          for (let attempt = 0; attempt < 5; attempt++) {
            decided = entity.decider.decide(entity.next(round, attempt), entity.state);
            if (!(decided instanceof DomainError) && decided.length === 1) break;
          }
          if (decided instanceof DomainError || decided.length !== 1)
            throw new Error(`no event for ${entity.streamId}`);
          const [event] = decided as [DomainEvent];
          const [data] = await codec.encode(entity.streamId, [event]);
          const stored: NewEvent = {
            eventId: randomUUID(),
            type: event.type,
            data: data!,
            metadata: { actor: secretariat, correlationId: 'history' },
            visibility: event.visibility,
          };
          await system.persistence.store.append(entity.streamId, [stored], { expectedVersion: round });
          entity.state = entity.decider.evolve(entity.state, event);
          entity.events.push(event);
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 5));
      snapshots.push({
        instant: new Date(),
        expected: expectedDirectory(new Date().toISOString().slice(0, 10)),
      });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }, 180_000);
  afterAll(() => system?.stop());

  it('equals a replay of the history up to each of 50 random instants over 10,000 events', async () => {
    const picks = Array.from({ length: 50 }, () => snapshots[Math.floor(Math.random() * snapshots.length)]!);
    for (const { instant, expected } of picks) {
      const response = await system.call('GET', `/v1/directory?asOf=${instant.toISOString()}`, { token });
      expect(response.status).toBe(200);
      const body = response.body as {
        states: { code: string; status: string }[];
        organisations: { id: string; suspended: boolean }[];
        contactPoints: {
          id: string;
          status: string;
          authority: string;
          primary: boolean;
          fullName?: string;
        }[];
      };
      expect(Object.fromEntries(body.states.map((s) => [s.code, s.status]))).toEqual(expected.states);
      expect(Object.fromEntries(body.organisations.map((o) => [o.id, o.suspended]))).toEqual(
        expected.organisations,
      );
      expect(Object.fromEntries(body.contactPoints.map((c) => [c.id, `${c.status}|${c.authority}`]))).toEqual(
        expected.contactPoints,
      );
      expect(
        body.contactPoints
          .filter((c) => c.primary)
          .map((c) => c.id)
          .sort(),
      ).toEqual(expected.primaries);
      expect(body.contactPoints.every((c) => c.fullName?.startsWith('Person '))).toBe(true);
    }
  }, 180_000);

  it('from snapshots, equals a full replay from the start at its edges and 50 random instants', async () => {
    const { store, sql, keys } = system.persistence;
    const directory = new DirectorySnapshots(store, sql, keys, { every: 300 });
    await directory.setUp();
    await directory.catchUp();
    const [{ taken } = { taken: '0' }] = await sql.query<{ taken: string }>(
      'SELECT count(*)::text AS taken FROM focal_directory_snapshots',
    );
    expect(Number(taken)).toBeGreaterThanOrEqual(30);
    // The edges, every time: before the first directory event (no snapshot serves it, and every segment
    // begins after it), at that event, just before and at the first snapshot's latest event, and at the end.
    const [firstEvent] = await store.readAll({
      limit: 1,
      filter: { streamPrefixes: Object.values(DIRECTORY_PREFIXES) },
    });
    const [{ sealed }] = (await sql.query<{ sealed: Date }>(
      'SELECT min(max_recorded_at) AS sealed FROM focal_directory_snapshots',
    )) as [{ sealed: Date }];
    const [firstAt, firstSnapshotAt] = [firstEvent!.recordedAt.getTime(), new Date(sealed).getTime()];
    const [first, last] = [snapshots[0]!.instant.getTime() - 50, snapshots.at(-1)!.instant.getTime()];
    const instants = [
      firstAt - 1,
      firstAt,
      firstSnapshotAt - 1,
      firstSnapshotAt,
      last,
      ...Array.from({ length: 50 }, () => first + Math.random() * (last - first)),
    ].map((time) => new Date(time));
    for (const instant of instants) {
      const fast = await directory.asOf(instant);
      expect({ instant, directory: fast }).toEqual({
        instant,
        directory: await directoryAsOfByReplay(store, keys, instant),
      });
    }
  }, 180_000);

  // Only a server has other connections: on PGlite no transaction can stay open beside the system's work.
  (store === 'postgres' ? it : it.skip)(
    'refuses, rather than answer with part of the log, while committed events hide behind an open transaction',
    async () => {
      const { store, sql, keys } = system.persistence;
      const held = new pg.Client({ connectionString: system.storeEnv.DATABASE_URL });
      await held.connect();
      try {
        // An append left open (as a slow writer would), then one committed after it, at a later position.
        const event = (type: string) => ({
          eventId: randomUUID(),
          type,
          schemaVersion: 1,
          data: {},
          metadata: { actor: secretariat, correlationId: 'held' },
          visibility: { level: 'open' as const },
        });
        const slow = event('SlowWriteHeld');
        await held.query('BEGIN');
        await held.query(`SELECT * FROM focal_append('held-writer', 'any', $1::uuid[], $2::jsonb)`, [
          [slow.eventId],
          JSON.stringify([slow]),
        ]);
        const { schemaVersion: _version, ...committed } = event('CommittedAfterIt');
        await store.append('committed-writer', [committed], { expectedVersion: 'any' });

        const directory = new DirectorySnapshots(store, sql, keys, { every: 300, readableWaitMs: 200 });
        await expect(directory.asOf(new Date())).rejects.toBeInstanceOf(LogNotReadableError);
        const refused = await system.call('GET', `/v1/directory?asOf=${new Date().toISOString()}`, { token });
        expect(refused).toMatchObject({
          status: 503,
          body: {
            type: 'urn:focal:problem:log-not-readable-yet',
            detail: expect.stringMatching(/try again/),
          },
        });

        await held.query('ROLLBACK');
        await expect(directory.asOf(new Date())).resolves.toMatchObject({ states: expect.any(Array) });
      } finally {
        await held.end();
      }
    },
    30_000,
  );

  it('is for the secretariat and auditors, and refuses a time that is not one', async () => {
    const member = await system.token({ role: 'member-state', state: 'FR' });
    expect(
      (await system.call('GET', '/v1/directory?asOf=2024-01-01T00:00:00Z', { token: member })).status,
    ).toBe(403);
    expect((await system.call('GET', '/v1/directory?asOf=yesterday', { token })).status).toBe(400);
  });
});
