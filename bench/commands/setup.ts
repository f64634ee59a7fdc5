import { generateKeyPairSync } from 'node:crypto';

import { LocalKeyring } from '@focal/events';

/** The contact point the command benchmarks register: the n-th, with personal fields to encrypt. */
export const contactPoint = (n: number, state = 'FR') => ({
  state,
  fullName: `Claire Martin ${n}`,
  email: `claire.martin.${n}@justice.example`,
  role: 'prosecutor',
  authority: 'Parquet national antiterroriste',
  languages: ['fr', 'en'],
  primary: false,
});

/**
 * Focal's environment in the command benchmarks: production mode, checkpoint sealing on (its own key), rate
 * limits off, subjects under `namespace`; the store's variables come from the caller.
 */
export function focalEnvironment(options: {
  store: Record<string, string>;
  namespace: string;
  jwtSecret: string;
  natsUrl: string;
  masterKey?: string;
}): Record<string, string> {
  return {
    ...options.store,
    NODE_ENV: 'production',
    NATS_URL: options.natsUrl,
    FOCAL_NATS_NAMESPACE: options.namespace,
    FOCAL_JWT_SECRET: options.jwtSecret,
    FOCAL_MASTER_KEY: options.masterKey ?? LocalKeyring.newLine('bench'),
    FOCAL_CHECKPOINT_SIGNING_KEY: generateKeyPairSync('ed25519')
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString(),
    FOCAL_RATE_LIMIT_WRITES_PER_MINUTE: '0',
    // Health and metrics on a free port each: the default ones may be taken, by another run or a service.
    FOCAL_OPERATIONS_PORT: '0',
  };
}
