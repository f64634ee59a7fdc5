import { ConfigError } from '@focal/service';

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

  it('refuses to start in production without a secret of its own', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'FOCAL_JWT_SECRET is not set: production needs a secret of its own (at least 32 characters)',
    ]);
    expect(problemsOf({ NODE_ENV: 'production', FOCAL_JWT_SECRET: DEVELOPMENT_SECRET })).toEqual([
      'FOCAL_JWT_SECRET is the development secret: production needs a secret of its own',
    ]);
    expect(
      loadGatewayConfig({ NODE_ENV: 'production', FOCAL_JWT_SECRET: 'x'.repeat(40) }).jwtSecret,
    ).toHaveLength(40);
  });

  it('names every bad setting', () => {
    expect(problemsOf({ PORT: 'eighty', FOCAL_JWT_SECRET: 'short', FOCAL_STORE: 'sqlite' })).toEqual([
      'FOCAL_STORE=sqlite is not a store: use one of pglite, postgres, eventstoredb',
      'PORT=eighty is not a port: use 0 to 65535',
      'FOCAL_JWT_SECRET is shorter than 32 characters: use a long random secret',
    ]);
  });
});
