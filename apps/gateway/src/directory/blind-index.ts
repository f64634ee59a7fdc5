import { createHmac } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * The blind token of a personal word: an HMAC under the index key, told from words by its leading `~`. Written
 * without free variables, so that the worker's source below is this very function and both threads make the
 * same tokens.
 */
const tokenWith = (hmac: typeof createHmac, key: Uint8Array, word: string): string =>
  `~${hmac('sha256', key).update(word).digest('base64url').slice(0, 22)}`;

/** The worker: answers `{ id, words }` with `{ id, tokens }` (or `{ id, error }`), one message per batch. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHmac } = require('node:crypto');
const tokenWith = ${tokenWith.toString()};
parentPort.on('message', ({ id, words }) => {
  try {
    parentPort.postMessage({ id, tokens: words.map((word) => tokenWith(createHmac, workerData.key, word)) });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error) });
  }
});`;

interface Pending {
  resolve(tokens: string[]): void;
  reject(error: Error): void;
}

/** A running worker and the batches it holds. */
interface Running {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * The keyed blind index of contact points' personal words (see contact-point-search.ts). A registration's
 * search document holds some seventy tokens (every personal word and its prefixes), which were the largest
 * part of the gateway's own work for it; the read model's batches have them made on a worker thread, so the
 * event loop answers requests meanwhile and the hashing runs on another core. A search's few tokens are made
 * at once, here.
 *
 * The key goes to the worker once, in memory; no token or word is kept after its answer. A worker that fails
 * fails the batches it held (the projection runner retries them) and the next batch starts a new one.
 */
export class BlindIndex {
  private running: Running | undefined;
  private nextId = 0;

  constructor(private readonly key: Buffer) {}

  /** The token of one word, on this thread: for a search's words. */
  token(word: string): string {
    return tokenWith(createHmac, this.key, word);
  }

  /** The tokens of `words`, in order, made on the worker thread. */
  tokens(words: readonly string[]): Promise<string[]> {
    if (words.length === 0) return Promise.resolve([]);
    const { worker, pending } = this.started();
    const id = this.nextId++;
    return new Promise<string[]>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      // While a batch waits on it, the worker keeps the process alive (a CLI on the embedded store has no
      // socket that would); idle, it does not.
      if (pending.size === 1) worker.ref();
      worker.postMessage({ id, words });
    });
  }

  /** Stops the worker, failing what it still held; a later batch starts another. */
  async close(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.worker.terminate();
  }

  private started(): Running {
    if (this.running) return this.running;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { key: new Uint8Array(this.key) },
      // Not the process's --import hooks (a TypeScript loader): the source is plain CommonJS.
      execArgv: [],
    });
    const running: Running = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', (answer: { id: number; tokens?: string[]; error?: string }) => {
      const pending = running.pending.get(answer.id);
      running.pending.delete(answer.id);
      if (running.pending.size === 0) worker.unref();
      if (answer.tokens) pending?.resolve(answer.tokens);
      else pending?.reject(new Error(`blind index worker: ${answer.error}`));
    });
    const failed = (error: Error) => {
      if (this.running === running) this.running = undefined;
      for (const pending of running.pending.values()) pending.reject(error);
      running.pending.clear();
    };
    worker.on('error', failed);
    worker.on('exit', (code) => failed(new Error(`blind index worker stopped (exit code ${code})`)));
    this.running = running;
    return running;
  }
}
