import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { spawnNode, stopProcess, waitForLine, type ServiceProcess } from './support/processes.js';
import { createTestDatabase } from './support/postgres.js';
import { natsUrl, testNamespace } from './support/services.js';
import { until } from './support/until.js';

const root = join(import.meta.dirname, '..');
const run = promisify(execFile);

// What production runs: `npm run build`, then plain `node` on the output, without a TypeScript loader.
describe('the built system', () => {
  const home = mkdtempSync(join(tmpdir(), 'focal-built-'));
  const dataDir = join(home, 'data');
  let focal: ServiceProcess | undefined;

  beforeAll(async () => {
    await run('npm', ['run', '-s', 'build'], { cwd: root });
  }, 300_000);
  afterAll(async () => {
    if (focal) await stopProcess(focal.child);
    rmSync(home, { recursive: true, force: true });
  });

  it('starts with node alone, serves a command, stops on SIGINT, and its CLI verifies what it wrote', async () => {
    const env = {
      FOCAL_DATA_DIR: dataDir,
      PORT: '0',
      FOCAL_OPERATIONS_PORT: '0',
      NATS_URL: natsUrl,
      FOCAL_NATS_NAMESPACE: testNamespace('built'),
    };
    focal = spawnNode([join(root, 'dist/apps/system/src/main.js')], env);
    await waitForLine(focal, /export TOKEN=/, 120_000);
    const printed = focal.lines.join('\n');
    const url = /Focal is running on (\S+)/.exec(printed)![1]!;
    const token = /export TOKEN=(\S+)/.exec(printed)![1]!;
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    const admitted = await fetch(`${url}/v1/states/MT`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Malta', status: 'member', effectiveFrom: '2004-05-01' }),
    });
    expect({ status: admitted.status, body: await admitted.json() }).toMatchObject({ status: 201 });

    focal.child.kill('SIGINT');
    expect(await focal.exited).toBe(0);
    const { stdout } = await run(process.execPath, [join(root, 'dist/scripts/audit.js'), 'verify'], {
      cwd: root,
      // The secrets npm start made in its data directory, named as an operator names them.
      env: {
        ...process.env,
        FOCAL_STORE: 'pglite',
        FOCAL_DATA_DIR: dataDir,
        FOCAL_MASTER_KEY_FILE: join(dataDir, 'secrets', 'master.key'),
        FOCAL_CHECKPOINT_SIGNING_KEY_FILE: join(dataDir, 'secrets', 'checkpoint-signing-key.pem'),
      },
    });
    expect(stdout).toMatch(/^intact: \d+ events/m);

    // A rebuild of the read models finds the data directory's secrets by itself, as `npm run audit` does.
    const newcomer = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('FOCAL_')),
    );
    const rebuilt = await run(process.execPath, [join(root, 'dist/scripts/rebuild-projections.js')], {
      cwd: root,
      env: { ...newcomer, FOCAL_STORE: 'pglite', FOCAL_DATA_DIR: dataDir },
    });
    expect(rebuilt.stdout).toMatch(/^read models rebuilt from \d+ events/m);
    // Its progress counts what the projections apply, and ends whole.
    const last = [...rebuilt.stderr.matchAll(/(\d+)% (\d+)\/(\d+) events/g)].at(-1)!;
    expect({ percent: last[1], done: last[2] }).toEqual({ percent: '100', done: last[3] });
  }, 240_000);

  it('runs on a PostgreSQL server too: a write, its read, and a clean stop', async () => {
    const db = await createTestDatabase('built');
    try {
      focal = spawnNode([join(root, 'dist/apps/system/src/main.js')], {
        FOCAL_STORE: 'postgres',
        DATABASE_URL: db.url,
        FOCAL_DATA_DIR: join(home, 'postgres-secrets'),
        PORT: '0',
        FOCAL_OPERATIONS_PORT: '0',
        NATS_URL: natsUrl,
        FOCAL_NATS_NAMESPACE: testNamespace('built-pg'),
      });
      await waitForLine(focal, /export TOKEN=/, 120_000);
      const printed = focal.lines.join('\n');
      const url = /Focal is running on (\S+)/.exec(printed)![1]!;
      const authorization = `Bearer ${/export TOKEN=(\S+)/.exec(printed)![1]!}`;
      const admitted = await fetch(`${url}/v1/states/MT`, {
        method: 'PUT',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Malta', status: 'member', effectiveFrom: '2004-05-01' }),
      });
      expect(admitted.status).toBe(201);
      let read: Response | undefined;
      await until(async () => {
        read = await fetch(`${url}/v1/states/MT`, { headers: { authorization } });
        return read.status === 200;
      }, 'the state in the read models');
      expect(await read!.json()).toMatchObject({ code: 'MT', status: 'member' });
      focal.child.kill('SIGTERM');
      expect(await focal.exited).toBe(0);
      focal = undefined;
    } finally {
      await db.drop();
    }
  }, 180_000);
});
