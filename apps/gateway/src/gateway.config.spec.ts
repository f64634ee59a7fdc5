import { generateKeyPairSync } from 'node:crypto';

import { ConfigError } from '@focal/service';

import { DEVELOPMENT_CHECKPOINT_KEY } from './audit/checkpoint.config.js';
import { DEVELOPMENT_SECRET } from './auth/authenticator.js';
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
  it('uses the development secret outside production', () => {
    expect(loadGatewayConfig({})).toMatchObject({
      port: 3000,
      jwtSecret: DEVELOPMENT_SECRET,
      commandTimeoutMs: 5_000,
    });
  });

  const ownKey = generateKeyPairSync('ed25519')
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();

  it('refuses to start in production without a secret and a signing key of its own', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'FOCAL_JWT_SECRET is not set: production needs a secret of its own (at least 32 characters)',
      'FOCAL_CHECKPOINT_SIGNING_KEY (or _FILE) is not set: production needs an Ed25519 key of its own ' +
        '(npm run audit -- keygen makes one)',
    ]);
    expect(
      problemsOf({
        NODE_ENV: 'production',
        FOCAL_JWT_SECRET: DEVELOPMENT_SECRET,
        FOCAL_CHECKPOINT_SIGNING_KEY: DEVELOPMENT_CHECKPOINT_KEY,
      }),
    ).toEqual([
      'FOCAL_JWT_SECRET is the development secret: production needs a secret of its own',
      'FOCAL_CHECKPOINT_SIGNING_KEY is the development key: production needs a key of its own',
    ]);
    const config = loadGatewayConfig({
      NODE_ENV: 'production',
      FOCAL_JWT_SECRET: 'x'.repeat(40),
      FOCAL_CHECKPOINT_SIGNING_KEY: ownKey,
    });
    expect(config.jwtSecret).toHaveLength(40);
    expect(config.checkpoints).toMatchObject({ everyEvents: 10_000, everyMs: 300_000 });
  });

  it('names what is wrong with a checkpoint key and its settings', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    expect(problemsOf({ FOCAL_CHECKPOINT_SIGNING_KEY: 'not a key' })).toEqual([
      'FOCAL_CHECKPOINT_SIGNING_KEY: the checkpoint signing key is not a PEM private key (PKCS#8, "BEGIN PRIVATE KEY")',
    ]);
    expect(problemsOf({ FOCAL_CHECKPOINT_SIGNING_KEY: rsa })).toEqual([
      'FOCAL_CHECKPOINT_SIGNING_KEY: the checkpoint signing key is a rsa key: use an Ed25519 key ' +
        '(npm run audit -- keygen makes one)',
    ]);
    expect(problemsOf({ FOCAL_CHECKPOINT_SIGNING_KEY_FILE: '/nonexistent/key.pem' })).toEqual([
      'FOCAL_CHECKPOINT_SIGNING_KEY_FILE=/nonexistent/key.pem cannot be read (ENOENT): give the path of a PEM private key',
    ]);
    expect(
      problemsOf({
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
    expect(problemsOf({ PORT: 'eighty', FOCAL_JWT_SECRET: 'short', FOCAL_STORE: 'sqlite' })).toEqual([
      'FOCAL_STORE=sqlite is not a store: use one of pglite, postgres, eventstoredb',
      'PORT=eighty is not a port: use 0 to 65535',
      'FOCAL_JWT_SECRET is shorter than 32 characters: use a long random secret',
    ]);
  });
});
