/**
 * The worker thread of ProjectionThread (projection-thread.ts): the gateway's projections of one schema, with
 * their own connections to the PostgreSQL server, their own key store and blind index. It answers the main
 * thread's wake-ups and catch-ups, and stops when asked, keeping the place its runners reached.
 */
import { parentPort, workerData } from 'node:worker_threads';

import {
  KeyringFile,
  LocalKeyring,
  PgDriver,
  ProjectionRunner,
  SqlEventStore,
  SqlKeyStore,
} from '@focal/events';

import { BlindIndex } from '../directory/blind-index.js';
import { BLIND_INDEX_SUBJECT } from '../directory/contact-point-search.js';
import type { ProjectionWorkerSettings, WorkerAnswer, WorkerRequest } from './projection-thread.js';
import { gatewayProjections } from './read-models.js';

const port = parentPort!;
const { schema, settings } = workerData as {
  schema: string;
  settings: Omit<ProjectionWorkerSettings, 'onError'>;
};
const answer = (message: WorkerAnswer) => port.postMessage(message);
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

// Three runners, each reading a page while it applies the one before: a few connections are enough.
const sql = new PgDriver({ connectionString: settings.databaseUrl, max: 4 });

async function open() {
  const store = await SqlEventStore.open(sql, { closeDriver: false });
  const keyring = settings.masterKeyFile
    ? await KeyringFile.follow(settings.masterKeyFile, settings.masterKey, {
        onError: (error) => answer({ kind: 'error', message: `keyring: ${error.message}` }),
      })
    : LocalKeyring.parse(settings.masterKey, 'FOCAL_MASTER_KEY');
  const keys = await SqlKeyStore.open(sql, keyring, { logInSameDatabase: true });
  // Its tokens made on this thread, which is not the one that answers requests.
  const blindIndex = new BlindIndex(await keys.keyFor(BLIND_INDEX_SUBJECT), { onThisThread: true });
  const runners = gatewayProjections(schema, keys, blindIndex).map(
    (projection) =>
      new ProjectionRunner(store, sql, projection, {
        ...(settings.pollMs !== undefined ? { pollMs: settings.pollMs } : {}),
        ...(settings.batchSize !== undefined ? { batchSize: settings.batchSize } : {}),
        onError: (error) => answer({ kind: 'error', message: messageOf(error) }),
      }),
  );
  for (const runner of runners) await runner.start();
  return { store, runners, blindIndex };
}

const opened = open();

async function stop(): Promise<void> {
  try {
    const { store, runners, blindIndex } = await opened;
    await Promise.all(runners.map((runner) => runner.stop()));
    await blindIndex.close();
    await store.close();
  } catch {
    // It did not start: there is nothing of it to stop but the connections.
  } finally {
    await sql.close().catch(() => undefined);
    answer({ kind: 'stopped' });
    port.close();
  }
}

port.on('message', (request: WorkerRequest) => {
  switch (request.kind) {
    case 'wake':
      void opened.then(({ runners }) => runners.forEach((runner) => runner.wake())).catch(() => undefined);
      return;
    case 'catch-up':
      opened
        .then(({ runners }) => Promise.all(runners.map((runner) => runner.catchUp())))
        .then(
          () => answer({ kind: 'caught-up', id: request.id }),
          (error: unknown) => answer({ kind: 'caught-up', id: request.id, error: messageOf(error) }),
        );
      return;
    case 'stop':
      void stop();
      return;
  }
});

opened.then(
  () => answer({ kind: 'ready' }),
  (error: unknown) => {
    answer({ kind: 'failed', message: messageOf(error) });
    void stop();
  },
);
