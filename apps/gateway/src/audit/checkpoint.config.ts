import { readFileSync } from 'node:fs';

import { CheckpointSigner } from '@focal/events';

/** For development and tests only: production refuses it (anyone can read it here). */
export const DEVELOPMENT_CHECKPOINT_KEY = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEICqPD5+M7bi0zLx065cGWfH1WN8/NrG2qRLARKRgi6Lv
-----END PRIVATE KEY-----
`;

export interface CheckpointSettings {
  signer: CheckpointSigner;
  /** Keys a checkpoint in the log may be signed with: the signer's, and earlier ones after a rotation. */
  trustedKeys: string[];
  everyEvents: number;
  everyMs: number;
}

/**
 * FOCAL_CHECKPOINT_SIGNING_KEY (an Ed25519 private key, PKCS#8 PEM) or FOCAL_CHECKPOINT_SIGNING_KEY_FILE (its
 * path): the development key outside production, required in production. FOCAL_CHECKPOINT_TRUSTED_KEYS: public
 * keys of earlier signing keys (comma-separated, base64url), kept trusted after a rotation.
 * Problems are added to `problems`, so that a start names them all at once.
 */
export function loadCheckpointSigner(
  env: NodeJS.ProcessEnv,
  problems: string[],
): { signer: CheckpointSigner; trustedKeys: string[] } | undefined {
  const production = env.NODE_ENV === 'production';
  let pem = env.FOCAL_CHECKPOINT_SIGNING_KEY;
  if (pem === undefined && env.FOCAL_CHECKPOINT_SIGNING_KEY_FILE !== undefined) {
    try {
      pem = readFileSync(env.FOCAL_CHECKPOINT_SIGNING_KEY_FILE, 'utf8');
    } catch (error) {
      problems.push(
        `FOCAL_CHECKPOINT_SIGNING_KEY_FILE=${env.FOCAL_CHECKPOINT_SIGNING_KEY_FILE} cannot be read ` +
          `(${(error as NodeJS.ErrnoException).code ?? String(error)}): give the path of a PEM private key`,
      );
      return undefined;
    }
  }
  if (pem === undefined) {
    if (production) {
      problems.push(
        'FOCAL_CHECKPOINT_SIGNING_KEY (or _FILE) is not set: production needs an Ed25519 key of its own ' +
          '(npm run audit -- keygen makes one)',
      );
      return undefined;
    }
    pem = DEVELOPMENT_CHECKPOINT_KEY;
  } else if (production && pem.trim() === DEVELOPMENT_CHECKPOINT_KEY.trim()) {
    problems.push('FOCAL_CHECKPOINT_SIGNING_KEY is the development key: production needs a key of its own');
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
