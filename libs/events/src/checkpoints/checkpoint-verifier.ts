import type { EventStore } from '../event-store.js';
import type { Position } from '../envelope.js';
import { checkpointHash, signatureValid, type LogCheckpoint } from './checkpoint.js';
import { readCheckpoints } from './checkpoint-sealer.js';
import { leafHash, merkleRoot } from './merkle.js';

export interface CheckpointFailure {
  /** The checkpoint whose seal the log no longer matches. */
  checkpoint: number;
  /** The position concerned, where one can be named: the checkpoint's event, or the sealed range's end. */
  position?: string;
  /** The sealed range: events after `after` up to `lastPosition`. */
  range?: { after: string | null; lastPosition: string };
  /** On truncation: the last event the log still holds. */
  lastIntactPosition?: string;
  problem: string;
}

export type CheckpointReport =
  | { ok: true; checkpoints: number; checked: number }
  | { ok: false; checkpoints: number; checked: number; firstFailure: CheckpointFailure };

export interface CheckpointVerificationOptions {
  /** Public keys (base64url) a checkpoint may be signed with; any valid signature when omitted. */
  trustedKeys?: readonly string[];
  /**
   * Checkpoints exported earlier and kept outside the store (the chain up to the latest): the log must still
   * hold what they sealed.
   */
  against?: readonly LogCheckpoint[];
  onProgress?: (checked: number) => void;
}

/** The first problem with a chain of checkpoints: numbering, signature, trusted key or link. */
function chainProblem(
  chain: readonly LogCheckpoint[],
  trustedKeys: readonly string[] | undefined,
): { index: number; problem: string } | undefined {
  for (const [index, checkpoint] of chain.entries()) {
    const previous = chain[index - 1];
    if (checkpoint.seq !== index + 1) {
      return { index, problem: `checkpoint ${index + 1} reads as number ${checkpoint.seq}: it was altered` };
    }
    if (!signatureValid(checkpoint)) {
      return { index, problem: 'its signature does not match its content: the checkpoint was altered' };
    }
    if (trustedKeys && !trustedKeys.includes(checkpoint.publicKey)) {
      return { index, problem: `it is signed by key ${checkpoint.publicKey}, which is not a trusted key` };
    }
    if (
      checkpoint.previousCheckpointHash !== (previous ? checkpointHash(previous) : '') ||
      checkpoint.after !== (previous?.lastPosition ?? null)
    ) {
      return {
        index,
        problem: 'it does not follow the checkpoint before it: the chain of checkpoints was altered',
      };
    }
  }
  return undefined;
}

/**
 * Checks the log against its checkpoints: each one signed by a trusted key and chained to the one before,
 * each sealed range recomputed from the log to the same Merkle root. With `against`, the exported chain is
 * the authority: the log's checkpoints must begin with it unchanged and its ranges must still be in the log.
 * This finds a log truncated or rewritten after the export, even with its hash chains and checkpoints redone.
 */
export async function verifyCheckpoints(
  store: EventStore,
  options: CheckpointVerificationOptions = {},
): Promise<CheckpointReport> {
  const stored = await readCheckpoints(store);
  let checked = 0;
  const fail = (failure: CheckpointFailure): CheckpointReport => ({
    ok: false,
    checkpoints: stored.length,
    checked,
    firstFailure: failure,
  });

  const inLog = stored.map(({ checkpoint }) => checkpoint);
  const logProblem = chainProblem(inLog, options.trustedKeys);
  if (logProblem) {
    return fail({
      checkpoint: logProblem.index + 1,
      position: stored[logProblem.index]!.event.globalPosition,
      problem: logProblem.problem,
    });
  }

  let ranges = inLog;
  let exportedMissing: number | undefined;
  const against = options.against;
  if (against && against.length > 0) {
    const fileProblem = chainProblem(against, undefined);
    if (fileProblem) {
      return fail({
        checkpoint: fileProblem.index + 1,
        problem: `in the exported file, checkpoint ${fileProblem.index + 1}: ${fileProblem.problem}`,
      });
    }
    for (const [index, exported] of against.entries()) {
      const logged = stored[index];
      if (logged && checkpointHash(logged.checkpoint) !== checkpointHash(exported)) {
        return fail({
          checkpoint: exported.seq,
          position: logged.event.globalPosition,
          problem: `the log's checkpoint ${exported.seq} is not the one exported: the log was rewritten after the export`,
        });
      }
    }
    if (stored.length < against.length) exportedMissing = stored.length + 1;
    ranges = [...against, ...inLog.slice(against.length)];
  }

  // One pass over the log, leaves gathered per sealed range.
  let index = 0;
  let leaves: Buffer[] = [];
  let lastSeen: Position | undefined;
  const close = (range: LogCheckpoint): CheckpointFailure | undefined => {
    const where = { checkpoint: range.seq, range: { after: range.after, lastPosition: range.lastPosition } };
    if (leaves.length < range.eventCount && (!lastSeen || BigInt(lastSeen) < BigInt(range.lastPosition))) {
      return {
        ...where,
        position: range.lastPosition,
        ...(lastSeen ? { lastIntactPosition: lastSeen } : {}),
        problem:
          `the log ends at position ${lastSeen ?? '(empty)'}, but checkpoint ${range.seq} sealed ${range.eventCount} ` +
          `events up to position ${range.lastPosition}: ${range.eventCount - leaves.length} event(s) after ` +
          `${lastSeen ?? 'the start'} were removed (the log was truncated)`,
      };
    }
    if (leaves.length !== range.eventCount) {
      return {
        ...where,
        position: range.lastPosition,
        problem: `checkpoint ${range.seq} sealed ${range.eventCount} events in its range; the log now holds ${leaves.length} there`,
      };
    }
    if (merkleRoot(leaves).toString('hex') !== range.merkleRoot) {
      return {
        ...where,
        position: range.lastPosition,
        problem:
          `the events in checkpoint ${range.seq}'s range no longer hash to its Merkle root: ` +
          'an event in it was rewritten (its hash chain redone) or replaced',
      };
    }
    leaves = [];
    return undefined;
  };
  let after: Position | undefined;
  while (index < ranges.length) {
    const page = await store.readAll({ ...(after ? { after } : {}), limit: 5_000 });
    for (const event of page) {
      while (index < ranges.length && BigInt(event.globalPosition) > BigInt(ranges[index]!.lastPosition)) {
        const failure = close(ranges[index]!);
        if (failure) return fail(failure);
        index++;
      }
      if (index >= ranges.length) break;
      leaves.push(leafHash(event.globalPosition, event.hash));
      lastSeen = event.globalPosition;
      checked++;
    }
    options.onProgress?.(checked);
    if (page.length === 0) {
      // The log ends: every range still open must be complete.
      for (; index < ranges.length; index++) {
        const failure = close(ranges[index]!);
        if (failure) return fail(failure);
      }
      break;
    }
    after = page.at(-1)!.globalPosition;
  }
  if (exportedMissing !== undefined) {
    return fail({
      checkpoint: exportedMissing,
      problem:
        `the log lacks exported checkpoint ${exportedMissing} and later ones, though the ranges they seal are ` +
        'intact: checkpoints were removed from the log',
    });
  }
  return { ok: true, checkpoints: stored.length, checked };
}
