import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { generatedSecrets, tokenSecret } from './secrets.js';

describe('tokenSecret (npm run token, npm run seed)', () => {
  let dataDir: string;
  beforeEach(async () => (dataDir = await mkdtemp(join(tmpdir(), 'focal-secrets-'))));
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('takes FOCAL_JWT_SECRET first, then the one npm start made in the data directory', () => {
    expect(tokenSecret({ FOCAL_JWT_SECRET: 'configured', FOCAL_DATA_DIR: dataDir })).toBe('configured');
    generatedSecrets(dataDir, {});
    expect(tokenSecret({ FOCAL_DATA_DIR: dataDir })).toMatch(/^[A-Za-z0-9_-]{64}$/);
  });

  it('says where it looked, and that FOCAL_DATA_DIR must be the one npm start ran with', () => {
    expect(() => tokenSecret({ FOCAL_DATA_DIR: dataDir })).toThrow(
      `none is there in FOCAL_DATA_DIR=${dataDir}`,
    );
  });
});
