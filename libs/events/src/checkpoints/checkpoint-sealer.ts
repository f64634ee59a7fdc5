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
import { leafHash, MerkleAccumulator } from './merkle.js';

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

/**
 * Events gathered for the next checkpoint, in log order: their tree grows as they arrive, so that sealing costs
 * a few hashes rather than one per event.
 */
class Leaves {
  readonly tree = new MerkleAccumulator();
  firstPosition?: string;
  lastPosition?: string;
  /** Whether one of them is not itself a checkpoint: a quiet log is not sealed for its own checkpoints. */
  substantive = false;

  add(event: Pick<RecordedEvent, 'globalPosition' | 'hash' | 'type'>): void {
    this.tree.add(leafHash(event.globalPosition, event.hash));
    this.firstPosition ??= event.globalPosition;
    this.lastPosition = event.globalPosition;
    if (event.type !== CHECKPOINT_SEALED) this.substantive = true;
  }
}

/**
 * Seals `leaves` (the events right after `previous`, in log order) into the next checkpoint and appends it at
 * the checkpoint stream's expected version, so that of two sealers racing, one wins and the other re-reads.
 * @throws WrongExpectedVersionError when another sealer came first
 */
async function seal(
  store: EventStore,
  signer: CheckpointSigner,
  previous: LogCheckpoint | undefined,
  leaves: Leaves,
): Promise<LogCheckpoint> {
  const checkpoint = signer.sign({
    seq: (previous?.seq ?? 0) + 1,
    after: previous?.lastPosition ?? null,
    firstPosition: leaves.firstPosition!,
    lastPosition: leaves.lastPosition!,
    eventCount: leaves.tree.size,
    merkleRoot: leaves.tree.root().toString('hex'),
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
    const leaves = new Leaves();
    for (const event of events) leaves.add(event);
    previous = await seal(store, signer, previous, leaves);
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
    // The events not sealed yet, in checkpoints to be: the last one takes new events until it is full or
    // its sealing starts.
    const pending: Leaves[] = [];
    let open: Leaves | undefined;
    const round = new AbortController();
    const signal = AbortSignal.any([round.signal, this.stopping.signal]);
    let failure: unknown;
    let sealing = Promise.resolve();

    const sealNext = () => {
      sealing = sealing.then(async () => {
        const leaves = pending[0];
        if (signal.aborted || !leaves) return;
        if (leaves === open) open = undefined;
        try {
          previous = await seal(this.store, this.options.signer, previous, leaves);
          pending.shift();
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
          pending.some((leaves) => leaves.substantive)
        ) {
          void sealNext();
        }
      },
      Math.max(10, Math.min(this.options.everyMs, 1_000)),
    );
    try {
      for await (const event of this.store.subscribe({
        ...(previous ? { after: this.store.parsePosition(previous.lastPosition) } : {}),
        signal,
      })) {
        if (!open) pending.push((open = new Leaves()));
        open.add(event);
        if (open.tree.size >= this.options.everyEvents) {
          open = undefined;
          await sealNext();
        }
      }
      await sealing;
    } finally {
      clearInterval(timer);
    }
    if (failure) throw failure;
  }
}
