import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  freePort,
  natsServerBinary,
  stopProcess,
  waitForLine,
  type ServiceProcess,
} from './support/processes.js';
import { natsUrl, testNamespace } from './support/services.js';

const root = join(import.meta.dirname, '..');

/** `npm start`, as a user runs it: one process, the embedded store, NATS found or started. */
function npmStart(env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'apps/system/src/main.ts')], {
    cwd: root,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const collect = (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return { child, lines, exited: new Promise((resolve) => child.once('exit', resolve)) };
}

describe('npm start', () => {
  let dataDir: string;
  const started: ServiceProcess[] = [];

  beforeEach(() => {
    dataDir = join(mkdtempSync(join(tmpdir(), 'focal-start-')), 'data');
  });
  afterEach(async () => {
    for (const process of started.splice(0)) await stopProcess(process.child);
    rmSync(join(dataDir, '..'), { recursive: true, force: true });
  });

  const startAndUse = async (env: Record<string, string>) => {
    const focal = npmStart({ FOCAL_DATA_DIR: dataDir, FOCAL_NATS_NAMESPACE: testNamespace('start'), ...env });
    started.push(focal);
    await waitForLine(focal, /export TOKEN=/, 60_000);
    const url = /Focal is running on (\S+)/.exec(focal.lines.join('\n'))![1]!;
    const token = /export TOKEN=(\S+)/.exec(focal.lines.join('\n'))![1]!;
    expect((await fetch(`${url}/docs`)).status).toBe(200);
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    const admitted = await fetch(`${url}/v1/states/SE`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Sweden', status: 'member', effectiveFrom: '2002-06-13' }),
    });
    expect(admitted.status).toBe(201);
    const states = await fetch(`${url}/v1/states`, {
      headers: {
        authorization: `Bearer ${token}`,
        'focal-read-after': admitted.headers.get('focal-position')!,
      },
    });
    expect(await states.json()).toMatchObject({ items: [{ code: 'SE', status: 'member' }] });
    return focal;
  };

  it('serves the API with the embedded store, prints a token, is seeded, and stops cleanly on SIGTERM', async () => {
    const focal = await startAndUse({ NATS_URL: natsUrl });
    const url = /Focal is running on (\S+)/.exec(focal.lines.join('\n'))![1]!;
    const seed = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/seed.ts')], {
      cwd: root,
      env: { ...process.env, FOCAL_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    seed.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    expect(await new Promise((resolve) => seed.once('exit', resolve))).toBe(0);
    expect(output).toMatch(/seeded 36 states and 16 liaison organisations/);
    const token = /export TOKEN=(\S+)/.exec(focal.lines.join('\n'))![1]!;
    const organisations = await fetch(`${url}/v1/liaison-organisations`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const { items } = (await organisations.json()) as { items: { acronym: string; suspended: boolean }[] };
    expect(items).toHaveLength(16);
    expect(items.filter((item) => item.suspended).map((item) => item.acronym)).toEqual(['UNITAD']);
    focal.child.kill('SIGTERM');
    expect(await focal.exited).toBe(0);
  });

  (natsServerBinary ? it : it.skip)('starts a local nats-server when none answers at NATS_URL', async () => {
    const port = await freePort();
    const focal = await startAndUse({ NATS_URL: `nats://127.0.0.1:${port}` });
    expect(focal.lines.join('\n')).toMatch(/started a local nats-server/);
    focal.child.kill('SIGTERM');
    expect(await focal.exited).toBe(0);
  });
});
