import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';

import { ServiceUnavailableError } from '@focal/contracts';
import type { RunningService } from '@focal/service';
import { connect } from '@nats-io/transport-node';

import { createTestDatabase, type TestDatabase } from './support/postgres.js';
import { freePort, natsServerBinary, startNatsServer, stopProcess } from './support/processes.js';
import {
  actors,
  startDirectory,
  testClient,
  testConfig,
  testNamespace,
  type TestClient,
} from './support/services.js';

// This test stops and restarts NATS, so it runs its own server rather than the machine's.
const describeWithNats = natsServerBinary ? describe : describe.skip;
if (!natsServerBinary) {
  console.warn('NATS outage test skipped: nats-server is not installed (apt-get install nats-server)');
}

describeWithNats('when NATS goes away', () => {
  let db: TestDatabase;
  let port: number;
  let nats: ChildProcess;
  let directory: RunningService;
  let client: TestClient;
  const TIMEOUT_MS = 1_500;

  const organisation = () => ({
    organisationId: randomUUID(),
    name: 'Office of the Prosecutor',
    acronym: 'OTP',
    kind: 'international-court' as const,
  });

  beforeAll(async () => {
    db = await createTestDatabase('outage');
    port = await freePort();
    nats = await startNatsServer(port);
    const url = `nats://127.0.0.1:${port}`;
    const namespace = testNamespace('outage');
    directory = await startDirectory(testConfig(db.url, namespace, url));
    client = await testClient(namespace, { url, timeoutMs: TIMEOUT_MS });
  });

  afterAll(async () => {
    await client?.close();
    await directory?.stop();
    if (nats) await stopProcess(nats);
    await db?.drop();
  });

  it('callers get "service unavailable" within the timeout, and the service resumes when NATS is back', async () => {
    await client.send('focal.directory.liaison-organisation.register', actors.secretariat, organisation());

    await stopProcess(nats);
    const started = Date.now();
    const failure = await client
      .send('focal.directory.liaison-organisation.register', actors.secretariat, organisation())
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    const elapsed = Date.now() - started;
    expect(failure).toBeInstanceOf(ServiceUnavailableError);
    expect((failure as Error).message).toMatch(/did not answer within 1500 ms|cannot be reached/);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1_000);

    nats = await startNatsServer(port);
    // Neither the service nor the client is restarted: both reconnect on their own.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const attempt = await client
        .send('focal.directory.liaison-organisation.register', actors.secretariat, organisation())
        .then(
          (reply) => reply,
          (error: unknown) => error,
        );
      if (!(attempt instanceof Error)) {
        expect(attempt).toMatchObject({ version: 1 });
        break;
      }
      expect(attempt).toBeInstanceOf(ServiceUnavailableError);
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (Date.now() > deadline)
        throw new Error('the service did not resume within 20 s of NATS coming back');
    }
  });

  it('a service given a list of servers whose first one is down starts on another and takes commands', async () => {
    const url = `nats://127.0.0.1:${port}`;
    const down = `nats://127.0.0.1:${await freePort()}`;
    const namespace = testNamespace('seeds');
    // Twice the same list: the client library tries the seeds in random order, and either order must start.
    const instances = [
      await startDirectory(testConfig(db.url, namespace, `${down}, ${url}`)),
      await startDirectory(testConfig(db.url, namespace, `${down},${url},`)),
    ];
    const seeded = await testClient(namespace, { url, timeoutMs: 5_000 });
    try {
      await expect(
        seeded.send('focal.directory.liaison-organisation.register', actors.secretariat, organisation()),
      ).resolves.toMatchObject({ version: 1 });
    } finally {
      await seeded.close();
      for (const instance of instances) await instance.stop();
    }
  });
});

describeWithNats('a NATS server that requires credentials', () => {
  let db: TestDatabase;
  let nats: ChildProcess;
  let directory: RunningService;
  let client: TestClient;
  let port: number;

  beforeAll(async () => {
    db = await createTestDatabase('natsauth');
    port = await freePort();
    nats = await startNatsServer(port, ['--user', 'focal', '--pass', 'p@ss:word']);
    // Credentials in NATS_URL, percent-encoded as in any URL.
    const url = `nats://focal:${encodeURIComponent('p@ss:word')}@127.0.0.1:${port}`;
    const namespace = testNamespace('natsauth');
    directory = await startDirectory(testConfig(db.url, namespace, url));
    client = await testClient(namespace, { url });
  });

  afterAll(async () => {
    await client?.close();
    await directory?.stop();
    if (nats) await stopProcess(nats);
    await db?.drop();
  });

  it('services and clients connect with the credentials NATS_URL carries; without them the server refuses', async () => {
    const reply = await client.send('focal.directory.liaison-organisation.register', actors.secretariat, {
      organisationId: randomUUID(),
      name: 'Office of the Prosecutor',
      acronym: 'OTP',
      kind: 'international-court',
    });
    expect(reply.version).toBe(1);
    await expect(
      connect({ servers: `nats://127.0.0.1:${port}`, maxReconnectAttempts: 0, reconnect: false }),
    ).rejects.toThrow(/Authorization Violation/);
  });
});
