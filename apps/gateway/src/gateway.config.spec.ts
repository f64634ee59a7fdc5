import { generateKeyPairSync } from 'node:crypto';

import { ConfigError } from '@focal/service';

import { LocalKeyring } from '@focal/events';

import { loadGatewayConfig } from './gateway.config.js';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadGatewayConfig(env);
  } catch (error) {
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
};

describe('gateway configuration', () => {
  const ownKey = generateKeyPairSync('ed25519')
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();
  /** What a deployment configures: a token secret, a signing key and a master key of its own. */
  const secrets = {
    FOCAL_JWT_SECRET: 'x'.repeat(40),
    FOCAL_CHECKPOINT_SIGNING_KEY: ownKey,
    FOCAL_MASTER_KEY: LocalKeyring.newLine('kek-1'),
  };

  it('starts with secrets of its own', () => {
    expect(loadGatewayConfig(secrets)).toMatchObject({
      port: 3000,
      jwtSecret: 'x'.repeat(40),
      commandTimeoutMs: 5_000,
      checkpoints: { everyEvents: 10_000, everyMs: 300_000 },
    });
  });

  it.each([undefined, 'development', 'staging', 'prod', 'Production', 'production ', 'production', 'test'])(
    'refuses to start without them whatever NODE_ENV says (%s), naming each',
    (nodeEnv) => {
      expect(problemsOf(nodeEnv === undefined ? {} : { NODE_ENV: nodeEnv })).toEqual([
        expect.stringMatching(/^FOCAL_MASTER_KEY_FILE is not set: every process needs the key that wraps/),
        expect.stringMatching(
          /^FOCAL_JWT_SECRET_FILE is not set: tokens are checked with a secret of this deployment/,
        ),
        expect.stringMatching(
          /^FOCAL_CHECKPOINT_SIGNING_KEY_FILE is not set: checkpoints are signed with a key/,
        ),
      ]);
    },
  );

  it('reads each secret from its file, and says which file cannot be read', () => {
    expect(
      problemsOf({
        FOCAL_JWT_SECRET_FILE: '/nonexistent/jwt',
        FOCAL_CHECKPOINT_SIGNING_KEY: ownKey,
        FOCAL_MASTER_KEY_FILE: '/nonexistent/master.key',
      }),
    ).toEqual([
      'FOCAL_MASTER_KEY_FILE=/nonexistent/master.key cannot be read (ENOENT): give the path of a file only this user may read',
      'FOCAL_JWT_SECRET_FILE=/nonexistent/jwt cannot be read (ENOENT): give the path of a file only this user may read',
    ]);
    expect(problemsOf({ ...secrets, FOCAL_MASTER_KEY: 'kek-1 not-base64' })).toEqual([
      expect.stringMatching(/^FOCAL_MASTER_KEY, line 1: write "<id> <base64 of 32 random bytes>"/),
    ]);
  });

  it('names what is wrong with a checkpoint key and its settings', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const others = { FOCAL_JWT_SECRET: secrets.FOCAL_JWT_SECRET, FOCAL_MASTER_KEY: secrets.FOCAL_MASTER_KEY };
    expect(problemsOf({ ...others, FOCAL_CHECKPOINT_SIGNING_KEY: 'not a key' })).toEqual([
      'FOCAL_CHECKPOINT_SIGNING_KEY: the checkpoint signing key is not a PEM private key (PKCS#8, "BEGIN PRIVATE KEY")',
    ]);
    expect(problemsOf({ ...others, FOCAL_CHECKPOINT_SIGNING_KEY: rsa })).toEqual([
      'FOCAL_CHECKPOINT_SIGNING_KEY: the checkpoint signing key is a rsa key: use an Ed25519 key ' +
        '(npm run audit -- keygen makes one)',
    ]);
    expect(problemsOf({ ...others, FOCAL_CHECKPOINT_SIGNING_KEY_FILE: '/nonexistent/key.pem' })).toEqual([
      'FOCAL_CHECKPOINT_SIGNING_KEY_FILE=/nonexistent/key.pem cannot be read (ENOENT): give the path of a file only this user may read',
    ]);
    expect(
      problemsOf({
        ...secrets,
        FOCAL_CHECKPOINT_TRUSTED_KEYS: 'abc',
        FOCAL_CHECKPOINT_EVERY_EVENTS: '0',
        FOCAL_CHECKPOINT_EVERY_SECONDS: 'hourly',
      }),
    ).toEqual([
      'FOCAL_CHECKPOINT_TRUSTED_KEYS holds abc: give Ed25519 public keys, base64url ' +
        '(npm run audit -- keygen prints one beside its private key)',
      'FOCAL_CHECKPOINT_EVERY_EVENTS=0 must be a whole number of events, at least 1',
      'FOCAL_CHECKPOINT_EVERY_SECONDS=hourly must be a whole number of seconds, at least 1',
    ]);
  });

  it('names every bad setting', () => {
    expect(
      problemsOf({ ...secrets, PORT: 'eighty', FOCAL_JWT_SECRET: 'short', FOCAL_STORE: 'sqlite' }),
    ).toEqual([
      'FOCAL_STORE=sqlite is not a store: use one of pglite, postgres, eventstoredb',
      'PORT=eighty is not a port: use 0 to 65535',
      'FOCAL_JWT_SECRET is shorter than 32 characters: use a long random secret',
    ]);
  });
});
