import { CheckpointSigner } from '@focal/events';
import {
  into,
  listOf,
  problem,
  secretOf,
  secretVars,
  type Env,
  type Problems,
  type Vars,
} from '@focal/service';

export interface CheckpointSettings {
  signer: CheckpointSigner;
  /** Keys a checkpoint in the log may be signed with: the signer's, and earlier ones after a rotation. */
  trustedKeys: string[];
  everyEvents: number;
  everyMs: number;
}

/** The variables the signer is read from. */
export const CHECKPOINT_SIGNER_VARS = [
  ...secretVars('FOCAL_CHECKPOINT_SIGNING_KEY'),
  'FOCAL_CHECKPOINT_TRUSTED_KEYS',
] as const;

/**
 * FOCAL_CHECKPOINT_SIGNING_KEY (an Ed25519 private key, PKCS#8 PEM) or FOCAL_CHECKPOINT_SIGNING_KEY_FILE (its
 * path), required whatever NODE_ENV says (npm start makes one in its data directory). FOCAL_CHECKPOINT_TRUSTED_KEYS:
 * public keys of earlier signing keys (comma-separated, base64url), kept trusted after a rotation.
 * Each problem goes to `problems`, so that a start names them all at once.
 */
export function checkpointSignerOf(
  vars: Vars,
  problems: Problems,
): { signer: CheckpointSigner; trustedKeys: string[] } | undefined {
  const pem = secretOf(
    vars,
    'FOCAL_CHECKPOINT_SIGNING_KEY',
    problems,
    'FOCAL_CHECKPOINT_SIGNING_KEY_FILE is not set: checkpoints are signed with a key of this deployment ' +
      '(npm run audit -- keygen makes one; npm start makes one in its data directory)',
  );
  if (pem === undefined) return undefined;
  let signer: CheckpointSigner;
  try {
    signer = CheckpointSigner.fromPem(pem);
  } catch (error) {
    problem(problems, `FOCAL_CHECKPOINT_SIGNING_KEY: ${(error as Error).message}`);
    return undefined;
  }
  const earlier = listOf(vars.FOCAL_CHECKPOINT_TRUSTED_KEYS);
  const malformed = earlier.filter((key) => !/^[A-Za-z0-9_-]{43}$/.test(key));
  if (malformed.length > 0) {
    problem(
      problems,
      `FOCAL_CHECKPOINT_TRUSTED_KEYS holds ${malformed.join(', ')}: give Ed25519 public keys, base64url ` +
        '(npm run audit -- keygen prints one beside its private key)',
    );
  }
  return { signer, trustedKeys: [signer.publicKey, ...earlier] };
}

/** The signer for the CLI, its problems added to `problems`. */
export const loadCheckpointSigner = (env: Env, problems: string[]) => checkpointSignerOf(env, into(problems));
