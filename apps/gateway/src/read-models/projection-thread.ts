import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

import type { ProjectionRunner } from '@focal/events';

/** What keeps a schema's read models fed from the log. */
export interface ProjectionFeeder {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Look at the log now: something was stored. */
  wake(): void;
  /** Applies every event stored before this call. */
  catchUp(): Promise<void>;
}

/** The runners themselves, on this thread. */
export const runnersFeeding = (runners: readonly ProjectionRunner[]): ProjectionFeeder => ({
  async start() {
    for (const runner of runners) await runner.start();
  },
  async stop() {
    await Promise.all(runners.map((runner) => runner.stop()));
  },
  wake() {
    for (const runner of runners) runner.wake();
  },
  async catchUp() {
    await Promise.all(runners.map((runner) => runner.catchUp()));
  },
});

/** What a worker needs to open its own connections and keys: plain strings, copied to the thread. */
export interface ProjectionWorkerSettings {
  databaseUrl: string;
  /** The keyring's text, and the file it was read from if it is followed (see KeyringFile). */
  masterKey: string;
  masterKeyFile?: string;
  pollMs?: number;
  batchSize?: number;
  onError?: (error: unknown) => void;
}

export type WorkerRequest = { kind: 'wake' } | { kind: 'catch-up'; id: number } | { kind: 'stop' };
export type WorkerAnswer =
  | { kind: 'ready' }
  | { kind: 'failed'; message: string }
  | { kind: 'caught-up'; id: number; error?: string }
  | { kind: 'error'; message: string }
  | { kind: 'stopped' };

/** Run from the TypeScript sources (npm start, the tests), not from the built JavaScript. */
const FROM_SOURCES = import.meta.url.endsWith('.ts');

/**
 * The worker's module; from the sources, a bootstrap that loads it through tsx's loader, registered in the
 * thread itself (Node 20 does not apply a process's `--import tsx` to a worker's entry).
 */
function workerEntry(): URL | string {
  if (!FROM_SOURCES) return new URL('./projection-worker.js', import.meta.url);
  const tsx = createRequire(import.meta.url)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs');
  const entry = new URL('./projection-worker.ts', import.meta.url).href;
  return `import(${JSON.stringify(pathToFileURL(tsx).href)})
    .then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
}

/** A worker that stops must not hold a gateway's stop for longer than this. */
const STOP_AT_MOST_MS = 10_000;
/** A worker that stopped without being asked is started again after this pause. */
const RESTART_AFTER_MS = 1_000;

/**
 * The gateway's projections on a worker thread with its own connections to the PostgreSQL server
 * (projection-worker.ts): applying events took about a quarter of the event loop's busy time at 500
 * registrations/s, each step holding up the requests that came meanwhile (bench/README). Wake-ups and
 * catch-ups go to the thread as messages. The embedded store has one connection, in this thread: its
 * projections stay here.
 *
 * Nothing is lost if the worker fails: each batch commits with its checkpoint, and a new worker, started
 * after a pause, goes on from there. The catch-ups it held fail, as a catch-up fails when the store does.
 */
export class ProjectionThread implements ProjectionFeeder {
  private worker?: Worker;
  private readonly pending = new Map<number, { resolve(): void; reject(error: Error): void }>();
  private nextId = 0;
  private stopping = false;
  private restart?: NodeJS.Timeout;

  constructor(
    private readonly schema: string,
    private readonly settings: ProjectionWorkerSettings,
  ) {}

  async start(): Promise<void> {
    await this.spawn();
  }

  wake(): void {
    this.post({ kind: 'wake' });
  }

  catchUp(): Promise<void> {
    const worker = this.worker;
    if (!worker) {
      return Promise.reject(
        new Error(
          this.stopping
            ? 'the read models have stopped'
            : 'the read models are starting again: retry in a moment',
        ),
      );
    }
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ kind: 'catch-up', id } satisfies WorkerRequest);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restart);
    const worker = this.worker;
    if (!worker) return;
    const stopped = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ kind: 'stop' } satisfies WorkerRequest);
    const timer = setTimeout(() => void worker.terminate(), STOP_AT_MOST_MS);
    await stopped;
    clearTimeout(timer);
  }

  private post(request: WorkerRequest): void {
    this.worker?.postMessage(request);
  }

  /** Starts a worker and waits until its runners have started (their tables set up, the log followed). */
  private spawn(): Promise<void> {
    const { onError, ...settings } = this.settings;
    const worker = new Worker(workerEntry(), {
      eval: FROM_SOURCES,
      workerData: { schema: this.schema, settings },
      // The process's own options (a heap size, its TypeScript loader) are not a thread's.
      execArgv: [],
    });
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      worker.on('message', (answer: WorkerAnswer) => {
        switch (answer.kind) {
          case 'ready':
            started = true;
            return resolve();
          case 'failed':
            return reject(new Error(`read models: the worker could not start: ${answer.message}`));
          case 'caught-up': {
            const waiting = this.pending.get(answer.id);
            this.pending.delete(answer.id);
            if (answer.error === undefined) waiting?.resolve();
            else waiting?.reject(new Error(answer.error));
            return;
          }
          case 'error':
            return onError?.(new Error(answer.message));
          case 'stopped':
            // Its connections are closed: nothing of it is left to wait for.
            void worker.terminate();
            return;
        }
      });
      let failure: Error | undefined;
      worker.on('error', (error) => {
        failure = error;
        if (started) onError?.(error);
      });
      worker.on('exit', (code) => {
        if (this.worker === worker) this.worker = undefined;
        const lost = new Error(
          `the read models' worker stopped (exit code ${code}${failure ? `: ${failure.message}` : ''}): ` +
            'retry in a moment',
          { cause: failure },
        );
        for (const waiting of this.pending.values()) waiting.reject(lost);
        this.pending.clear();
        if (!started) return reject(lost);
        if (this.stopping) return;
        onError?.(lost);
        this.respawn();
      });
    });
  }

  /** Starts a worker again after a pause, and again until one starts or the gateway stops. */
  private respawn(): void {
    this.restart = setTimeout(() => {
      if (this.stopping) return;
      this.spawn().catch((error: unknown) => {
        this.settings.onError?.(error);
        if (!this.stopping) this.respawn();
      });
    }, RESTART_AFTER_MS);
  }
}
