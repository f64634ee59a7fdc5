import type { EventStore } from '../event-store.js';
import type { IntegrityFailure } from '../integrity.js';
import {
  verifyCheckpoints,
  type CheckpointFailure,
  type CheckpointVerificationOptions,
} from './checkpoint-verifier.js';

export type LogVerification =
  | { ok: true; checked: number; checkpoints: number }
  | {
      ok: false;
      checked: number;
      checkpoints: number;
      /** `chain`: a stream's hash chain or versions; `checkpoint`: a sealed range or the checkpoints themselves. */
      firstFailure: ({ kind: 'chain' } & IntegrityFailure) | ({ kind: 'checkpoint' } & CheckpointFailure);
    };

/**
 * Everything `audit verify` proves: every stream's hash chain recomputed from the stored content, then every
 * checkpoint's seal over the log (and, given an export, the log still holding what it sealed).
 */
export async function verifyLog(
  store: EventStore,
  options: CheckpointVerificationOptions & { onPhase?: (phase: 'chains' | 'checkpoints') => void } = {},
): Promise<LogVerification> {
  options.onPhase?.('chains');
  const chains = await store.verifyAll(options.onProgress ? { onProgress: options.onProgress } : {});
  if (!chains.ok) {
    return {
      ok: false,
      checked: chains.checked,
      checkpoints: 0,
      firstFailure: { kind: 'chain', ...chains.firstFailure },
    };
  }
  options.onPhase?.('checkpoints');
  const sealed = await verifyCheckpoints(store, options);
  return sealed.ok
    ? { ok: true, checked: chains.checked, checkpoints: sealed.checkpoints }
    : {
        ok: false,
        checked: chains.checked,
        checkpoints: sealed.checkpoints,
        firstFailure: { kind: 'checkpoint', ...sealed.firstFailure },
      };
}
