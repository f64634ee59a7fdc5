import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { openPostgresEventStore, untilReadable, type EventStore } from '@focal/events';
import type { CommandReply } from '@focal/contracts';

import { createTestDatabase, type TestDatabase } from './support/postgres.js';
import { spawnService, stopProcess, waitForLine, type ServiceProcess } from './support/processes.js';
import { actors, natsUrl, testClient, testNamespace, type TestClient } from './support/services.js';

const personal = { fullName: 'Anna Nowak', email: 'anna.nowak@pk.gov.pl' };
const post = { role: 'prosecutor' as const, authority: 'Prokuratura Krajowa', languages: ['pl', 'en'] };

describe('a service process, started from its main.ts', () => {
  let db: TestDatabase;
  let store: EventStore;
  let namespace: string;
  let client: TestClient;
  const running: ServiceProcess[] = [];

  const start = async () => {
    const service = spawnService('directory', {
      NATS_URL: natsUrl,
      FOCAL_NATS_NAMESPACE: namespace,
      FOCAL_STORE: 'postgres',
      DATABASE_URL: db.url,
    });
    running.push(service);
    await waitForLine(service, /listening on/);
    return service;
  };

  const register = (contactPointId: string, idempotencyKey: string) =>
    client.send(
      'focal.directory.contact-point.register',
      actors.secretariat,
      { contactPointId, state: 'PL', personal, primary: false, expertise: [], ...post },
      { idempotencyKey },
    );

  /**
   * Twenty callers sending one command after another, as traffic does, until `enough` of them were answered;
   * then `interrupt` runs while about twenty are in flight, and each caller stops at its first failure.
   */
  const traffic = async (enough: number, interrupt: () => void) => {
    const sent: { id: string; key: string }[] = [];
    const replies = new Map<string, CommandReply>();
    let interrupted = false;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (;;) {
          const command = { id: randomUUID(), key: randomUUID() };
          sent.push(command);
          try {
            replies.set(command.id, await register(command.id, command.key));
          } catch {
            return;
          }
          if (!interrupted && replies.size >= enough) {
            interrupted = true;
            interrupt();
          }
        }
      }),
    );
    return { sent, replies };
  };

  beforeAll(async () => {
    db = await createTestDatabase('process');
    store = await openPostgresEventStore({ connectionString: db.url });
  });

  beforeEach(async () => {
    namespace = testNamespace('process');
    client = await testClient(namespace, { timeoutMs: 3_000 });
  });

  afterEach(async () => {
    await client.close();
    for (const service of running.splice(0)) await stopProcess(service.child);
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('refuses to start on bad configuration, naming every problem', async () => {
    const service = spawnService('directory', {
      NATS_URL: 'http://localhost:4222',
      FOCAL_STORE: 'postgres',
      DATABASE_URL: '',
      FOCAL_MASTER_KEY: '',
      NODE_ENV: 'development',
    });
    running.push(service);
    expect(await service.exited).toBe(1);
    const output = service.lines.join('\n');
    expect(output).toMatch(/NATS_URL=http:\/\/localhost:4222 must start with nats:\/\//);
    expect(output).toMatch(/DATABASE_URL is not set/);
    // No secret has a default, in development as anywhere.
    expect(output).toMatch(/FOCAL_MASTER_KEY_FILE is not set/);
    // Structured logs: every line is one JSON object.
    for (const line of service.lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('says to create a database that does not exist, and to start a server that does not answer', async () => {
    const missing = new URL(db.url);
    missing.pathname = `/${db.name}_missing`;
    const closedPort = new URL(db.url);
    closedPort.port = '9';
    for (const [url, said] of [
      [
        missing,
        new RegExp(
          `database "${db.name}_missing" does not exist: create it first \\(createdb ${db.name}_missing`,
        ),
      ],
      [closedPort, /PostgreSQL at 127\.0\.0\.1:9: .*nothing answers there: start the server/],
    ] as const) {
      const service = spawnService('directory', {
        NATS_URL: natsUrl,
        FOCAL_NATS_NAMESPACE: namespace,
        FOCAL_STORE: 'postgres',
        DATABASE_URL: url.toString(),
        FOCAL_OPERATIONS_PORT: '0',
      });
      running.push(service);
      expect(await service.exited).toBe(1);
      const messages = service.lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
      expect(messages.join('\n')).toMatch(said);
    }
  });

  it('the gateway refuses to start without secrets of its own, whatever NODE_ENV says', async () => {
    for (const nodeEnv of [undefined, 'staging', 'prod', 'Production', 'production ']) {
      const gateway = spawnService('gateway', {
        NATS_URL: natsUrl,
        FOCAL_STORE: 'postgres',
        DATABASE_URL: db.url,
        FOCAL_JWT_SECRET: '',
        FOCAL_CHECKPOINT_SIGNING_KEY: '',
        FOCAL_MASTER_KEY: '',
        ...(nodeEnv === undefined ? {} : { NODE_ENV: nodeEnv }),
      });
      running.push(gateway);
      expect({ nodeEnv, code: await gateway.exited }).toEqual({ nodeEnv, code: 1 });
      const output = gateway.lines.join('\n');
      for (const secret of [
        'FOCAL_MASTER_KEY_FILE',
        'FOCAL_JWT_SECRET_FILE',
        'FOCAL_CHECKPOINT_SIGNING_KEY_FILE',
      ]) {
        expect(output).toMatch(new RegExp(`${secret} is not set`));
      }
    }
  });

  it('runs on the embedded store, and a second process on the same directory is refused, not let in', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'focal-')), 'data');
    const env = {
      NATS_URL: natsUrl,
      FOCAL_NATS_NAMESPACE: namespace,
      FOCAL_STORE: 'pglite',
      FOCAL_DATA_DIR: dataDir,
    };
    const first = spawnService('directory', env);
    running.push(first);
    await waitForLine(first, /listening on/);
    const id = randomUUID();
    expect(await register(id, randomUUID())).toMatchObject({ streamId: `contact-point-${id}`, version: 1 });

    const second = spawnService('directory', env);
    running.push(second);
    expect(await second.exited).toBe(1);
    expect(second.lines.join('\n')).toMatch(/is open in process \d+; PGlite serves one process/);
    await stopProcess(first.child, 'SIGTERM');
    rmSync(dirname(dataDir), { recursive: true, force: true });
  });

  it('killed in the middle of commands and restarted: retried commands lose nothing and double nothing', async () => {
    const first = await start();
    const { sent, replies } = await traffic(100, () => first.child.kill('SIGKILL'));
    await first.exited;
    expect(sent.length - replies.size).toBeGreaterThan(0);
    const stored = async () => {
      expect(await untilReadable(store, 20_000)).toBe(true);
      return (await store.readAll({ filter: { streamPrefixes: ['contact-point-'] }, limit: 10_000 })).filter(
        (event) => sent.some((command) => event.streamId === `contact-point-${command.id}`),
      );
    };
    const storedBeforeRetry = (await stored()).length;

    await start();
    // The callers retry everything they are unsure of, and even what was answered, with the same keys.
    const retried = await Promise.all(sent.map(({ id, key }) => register(id, key)));
    for (const [index, { id }] of sent.entries()) {
      const earlier = replies.get(id);
      if (earlier) expect(retried[index]).toEqual(earlier);
      expect(await store.readStream(`contact-point-${id}`)).toHaveLength(1);
    }
    expect(await stored()).toHaveLength(sent.length);
    // Commands applied before the kill whose replies were lost were not applied again.
    expect(storedBeforeRetry).toBeGreaterThanOrEqual(replies.size);
  });

  it('on SIGTERM, leaves the queue group, answers the commands in flight, then exits 0', async () => {
    const service = await start();
    const { sent, replies } = await traffic(100, () => service.child.kill('SIGTERM'));
    expect(await service.exited).toBe(0);
    // Every command it applied was answered: none was cut off between its append and its reply.
    // (Another test's open transaction on this server may hide the last appends for a moment.)
    expect(await untilReadable(store, 20_000)).toBe(true);
    const applied = new Set(
      (await store.readAll({ filter: { streamPrefixes: ['contact-point-'] }, limit: 10_000 }))
        .map((event) => event.streamId.slice('contact-point-'.length))
        .filter((id) => sent.some((command) => command.id === id)),
    );
    expect(applied).toEqual(new Set(replies.keys()));
    expect(replies.size).toBeGreaterThan(100);
    const log = service.lines.join('\n');
    expect(log).toMatch(/SIGTERM: finishing the work in flight/);
    expect(log).toMatch(/directory stopped/);
  });
});
