import { CheckpointSigner } from '@focal/events';
import { readSecret } from '@focal/service';

export interface CheckpointSettings {
  signer: CheckpointSigner;
  /** Keys a checkpoint in the log may be signed with: the signer's, and earlier ones after a rotation. */
  trustedKeys: string[];
  everyEvents: number;
  everyMs: number;
}

/**
 * FOCAL_CHECKPOINT_SIGNING_KEY (an Ed25519 private key, PKCS#8 PEM) or FOCAL_CHECKPOINT_SIGNING_KEY_FILE (its
 * path), required whatever NODE_ENV says (npm start makes one in its data directory). FOCAL_CHECKPOINT_TRUSTED_KEYS:
 * public keys of earlier signing keys (comma-separated, base64url), kept trusted after a rotation.
 * Problems are added to `problems`, so that a start names them all at once.
 */
export function loadCheckpointSigner(
  env: NodeJS.ProcessEnv,
  problems: string[],
): { signer: CheckpointSigner; trustedKeys: string[] } | undefined {
  const pem = readSecret(env, 'FOCAL_CHECKPOINT_SIGNING_KEY', problems);
  if (pem === undefined) {
    if (!problems.some((problem) => problem.startsWith('FOCAL_CHECKPOINT_SIGNING_KEY'))) {
      problems.push(
        'FOCAL_CHECKPOINT_SIGNING_KEY_FILE is not set: checkpoints are signed with a key of this deployment ' +
          '(npm run audit -- keygen makes one; npm start makes one in its data directory)',
      );
    }
    return undefined;
  }
  let signer: CheckpointSigner;
  try {
    signer = CheckpointSigner.fromPem(pem);
  } catch (error) {
    problems.push(`FOCAL_CHECKPOINT_SIGNING_KEY: ${(error as Error).message}`);
    return undefined;
  }
  const earlier = (env.FOCAL_CHECKPOINT_TRUSTED_KEYS ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean);
  const malformed = earlier.filter((key) => !/^[A-Za-z0-9_-]{43}$/.test(key));
  if (malformed.length > 0) {
    problems.push(
      `FOCAL_CHECKPOINT_TRUSTED_KEYS holds ${malformed.join(', ')}: give Ed25519 public keys, base64url ` +
        '(npm run audit -- keygen prints one beside its private key)',
    );
  }
  return { signer, trustedKeys: [signer.publicKey, ...earlier] };
}
