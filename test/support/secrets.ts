import { generateKeyPairSync, randomBytes } from 'node:crypto';

import { CheckpointSigner, LocalKeyring } from '@focal/events';

/**
 * The secrets of this test run, made afresh: no test leans on a well-known secret, as no deployment may.
 * `env` is what a process of the system started by a test is given.
 */
export const testSecrets = (() => {
  const jwtSecret = randomBytes(32).toString('base64url');
  const masterKey = `${LocalKeyring.newLine('test-kek')}\n`;
  const signingKey = generateKeyPairSync('ed25519')
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();
  return {
    jwtSecret,
    masterKey,
    signingKey,
    signer: CheckpointSigner.fromPem(signingKey),
    env: {
      FOCAL_JWT_SECRET: jwtSecret,
      FOCAL_MASTER_KEY: masterKey,
      FOCAL_CHECKPOINT_SIGNING_KEY: signingKey,
    },
  };
})();

/** The key-encryption keys of this test run, for tests that open a key store themselves. */
export const testKeyring = LocalKeyring.parse(testSecrets.masterKey);
