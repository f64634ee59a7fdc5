import { randomUUID } from 'node:crypto';

import { Backoff, pause } from '../backoff.js';
import type { RecordedEvent } from '../envelope.js';
import { WrongExpectedVersionError } from '../errors.js';
import type { EventStore } from '../event-store.js';
import {
  CHECKPOINT_SEALED,
  CHECKPOINT_STREAM,
  checkpointHash,
  parseCheckpoint,
  type CheckpointSigner,
  type LogCheckpoint,
} from './checkpoint.js';
import { leafHash, merkleRoot } from './merkle.js';

/** The newest checkpoint in the log, if any. */
export async function latestCheckpoint(store: EventStore): Promise<LogCheckpoint | undefined> {
  const [last] = await store.readStream(CHECKPOINT_STREAM, { direction: 'backwards', limit: 1 });
  return last && parseCheckpoint(last.data, `checkpoint at position ${last.globalPosition}`);
}

/** Every checkpoint in the log, in sealing order. */
export async function readCheckpoints(
  store: EventStore,
): Promise<{ checkpoint: LogCheckpoint; event: RecordedEvent }[]> {
  const events = await store.readStream(CHECKPOINT_STREAM);
  return events.map((event) => ({
    event,
    checkpoint: parseCheckpoint(event.data, `checkpoint at position ${event.globalPosition}`),
  }));
}

type Leaf = Pick<RecordedEvent, 'globalPosition' | 'hash' | 'type'>;

/**
 * Seals `leaves` (the events right after `previous`, in log order) into the next checkpoint and appends it at
 * the checkpoint stream's expected version, so that of two sealers racing, one wins and the other re-reads.
 * @throws WrongExpectedVersionError when another sealer came first
 */
async function seal(
  store: EventStore,
  signer: CheckpointSigner,
  previous: LogCheckpoint | undefined,
  leaves: readonly Leaf[],
): Promise<LogCheckpoint> {
  const checkpoint = signer.sign({
    seq: (previous?.seq ?? 0) + 1,
    after: previous?.lastPosition ?? null,
    firstPosition: leaves[0]!.globalPosition,
    lastPosition: leaves.at(-1)!.globalPosition,
    eventCount: leaves.length,
    merkleRoot: merkleRoot(leaves.map((leaf) => leafHash(leaf.globalPosition, leaf.hash))).toString('hex'),
    previousCheckpointHash: previous ? checkpointHash(previous) : '',
    sealedAt: new Date().toISOString(),
  });
  await store.append(
    CHECKPOINT_STREAM,
    [
      {
        eventId: randomUUID(),
        type: CHECKPOINT_SEALED,
        data: { ...checkpoint },
        metadata: { actor: { principal: 'checkpoint-sealer', role: 'system' }, correlationId: randomUUID() },
        visibility: { level: 'restricted', participants: [] },
      },
    ],
    { expectedVersion: previous?.seq ?? 0 },
  );
  return checkpoint;
}

/**
 * Seals every event readers can see now, in checkpoints of at most `maxEvents`: what `audit checkpoint seal`
 * runs before an export, so that the exported checkpoint covers the log as it stands.
 */
export async function sealAll(
  store: EventStore,
  signer: CheckpointSigner,
  maxEvents: number,
  onProgress?: (sealed: number) => void,
): Promise<LogCheckpoint | undefined> {
  let previous = await latestCheckpoint(store);
  // Up to what readers see now: the checkpoints appended here are left for the next seal.
  const until = await store.headPosition();
  let sealed = 0;
  while (until !== undefined) {
    const events = (
      await store.readAll({
        ...(previous ? { after: store.parsePosition(previous.lastPosition) } : {}),
        limit: Math.min(maxEvents, 10_000),
      })
    ).filter((event) => store.comparePositions(event.globalPosition, until) <= 0);
    if (events.length === 0) break;
    previous = await seal(store, signer, previous, events);
    sealed += events.length;
    onProgress?.(sealed);
  }
  return previous;
}

export interface CheckpointSealerOptions {
  signer: CheckpointSigner;
  /** Seal as soon as this many events wait unsealed. */
  everyEvents: number;
  /** Seal whatever waits (at least one event other than a checkpoint) once this long has passed. */
  everyMs: number;
  onError?: (error: unknown) => void;
  onSealed?: (checkpoint: LogCheckpoint) => void;
}

/**
 * Seals the log in the background: a checkpoint every `everyEvents` events, or every `everyMs` when fewer
 * arrived. Follows the log from the newest checkpoint, so a restart resumes where sealing stopped; several
 * sealers (several gateways) are safe: a conflict on the checkpoint stream sends the loser back to re-read.
 */
export class CheckpointSealer {
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;

  constructor(
    private readonly store: EventStore,
    private readonly options: CheckpointSealerOptions,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    // Capped at 5 s: a round that fails after hours of sealing waits no longer than that.
    const backoff = new Backoff(1_000, 5_000);
    while (!this.stopping.signal.aborted) {
      try {
        await this.followFromLatest();
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) {
          this.options.onError?.(error);
          await pause(backoff.next(), this.stopping.signal);
        }
      }
    }
  }

  private async followFromLatest(): Promise<void> {
    let previous = await latestCheckpoint(this.store);
    let lastSealedAt = previous ? Date.parse(previous.sealedAt) : Date.now();
    const pending: Leaf[] = [];
    const round = new AbortController();
    const signal = AbortSignal.any([round.signal, this.stopping.signal]);
    let failure: unknown;
    let sealing = Promise.resolve();

    const sealPending = (count: number) => {
      sealing = sealing.then(async () => {
        const take = Math.min(count, pending.length);
        if (signal.aborted || take === 0) return;
        try {
          previous = await seal(this.store, this.options.signer, previous, pending.slice(0, take));
          pending.splice(0, take);
          lastSealedAt = Date.now();
          this.options.onSealed?.(previous);
        } catch (error) {
          failure = error;
          round.abort();
        }
      });
      return sealing;
    };
    const timer = setInterval(
      () => {
        if (
          Date.now() - lastSealedAt >= this.options.everyMs &&
          pending.some((leaf) => leaf.type !== CHECKPOINT_SEALED)
        ) {
          void sealPending(Math.min(pending.length, this.options.everyEvents));
        }
      },
      Math.max(10, Math.min(this.options.everyMs, 1_000)),
    );
    try {
      for await (const event of this.store.subscribe({
        ...(previous ? { after: this.store.parsePosition(previous.lastPosition) } : {}),
        signal,
      })) {
        pending.push({ globalPosition: event.globalPosition, hash: event.hash, type: event.type });
        if (pending.length >= this.options.everyEvents) await sealPending(this.options.everyEvents);
      }
      await sealing;
    } finally {
      clearInterval(timer);
    }
    if (failure) throw failure;
  }
}
