import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { LocalKeyring, SqlKeyStore } from '@focal/events';

import { loadServiceConfig } from './config.js';
import { openPersistence, type Persistence } from './persistence.js';

/**
 * A master key rotation beside running processes, as the README tells it: put a new key first in the file, keep
 * the old one below, run `npm run audit -- keys rotate`, remove the old line. A process that read the file once
 * at start answered every contact point with a 500 from the rotation to its restart.
 */
describe('a process following its master key file (FOCAL_MASTER_KEY_FILE)', () => {
  let dir: string;
  let file: string;
  let persistence: Persistence;
  const problems: string[] = [];
  const oldLine = LocalKeyring.newLine('old-kek');
  const newLine = LocalKeyring.newLine('new-kek');
  const kekOf = async (subject: string) =>
    (
      await persistence.sql.query<{ kek_id: string }>('SELECT kek_id FROM focal_keys WHERE subject_id = $1', [
        subject,
      ])
    )[0]?.kek_id;
  const afterTheFileCheck = () => new Promise((resolve) => setTimeout(resolve, 1_100));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'focal-keyring-'));
    file = join(dir, 'master.key');
    await writeFile(file, `${oldLine}\n`, { mode: 0o600 });
    const config = loadServiceConfig({
      FOCAL_STORE: 'pglite',
      FOCAL_DATA_DIR: join(dir, 'data'),
      FOCAL_MASTER_KEY_FILE: file,
    });
    expect(config.masterKeyFile).toBe(file);
    persistence = await openPersistence(config, { onKeyringError: (error) => problems.push(error.message) });
  });
  afterAll(async () => {
    await persistence?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('wraps new keys under a new current key, reads keys rotated meanwhile, and keeps working without the old one', async () => {
    const first = await persistence.keys.keyFor('cp-1');
    expect(await kekOf('cp-1')).toBe('old-kek');

    await writeFile(file, `${newLine}\n${oldLine}\n`);
    await afterTheFileCheck();
    const second = await persistence.keys.keyFor('cp-2');
    expect(await kekOf('cp-2')).toBe('new-kek');

    // `keys rotate` in another process: cp-1 is now wrapped under a key this one did not hold at start.
    const rotating = await SqlKeyStore.open(persistence.sql, LocalKeyring.parse(`${newLine}\n${oldLine}\n`));
    expect(await rotating.rewrapAll()).toBe(1);
    expect(await persistence.keys.find('cp-1')).toEqual(first);

    await writeFile(file, `${newLine}\n`);
    await afterTheFileCheck();
    expect(await persistence.keys.find('cp-1')).toEqual(first);
    expect(await persistence.keys.find('cp-2')).toEqual(second);
    expect(problems).toEqual([]);
  });

  it('keeps the keys it holds when the file is left invalid, and says so', async () => {
    await writeFile(file, 'half an edit\n');
    await afterTheFileCheck();
    await persistence.keys.keyFor('cp-3');
    expect(await kekOf('cp-3')).toBe('new-kek');
    expect(await persistence.keys.find('cp-1')).toBeDefined();
    expect(problems).toEqual([expect.stringContaining(`${file}, line 1`)]);
  });
});
