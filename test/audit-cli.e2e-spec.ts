import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { testSecrets } from './support/secrets.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm run audit -- …` as an auditor runs it, as a process of its own on the test's store. */
function runAudit(
  system: TestSystem,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'node_modules/.bin/tsx',
      ['scripts/audit.ts', ...args],
      {
        env: { ...process.env, ...testSecrets.env, ...system.storeEnv, ...env },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * The CLI beside a running system on a server; on the embedded store, which serves one process, with the
 * system stopped for the while, as an operator of `npm start` would run it.
 */
async function audit(system: TestSystem, ...args: string[]): Promise<Run> {
  if (system.store === 'postgres') return runAudit(system, args);
  let run: Run | undefined;
  await system.restart(async () => {
    run = await runAudit(system, args);
  });
  return run!;
}

describe.each(STORES)('npm run audit (%s store)', (store) => {
  let system: TestSystem;
  let dir: string;
  let contactPointId: string;
  const query = (text: string, params?: unknown[]) => system.sql<Record<string, string>>(text, params);

  beforeAll(async () => {
    system = await startSystem(store, 'auditcli');
    dir = await mkdtemp(join(tmpdir(), 'focal-audit-'));
    const secretariat = await system.token({ role: 'secretariat' });
    await system.ok('PUT', '/v1/states/NL', secretariat, {
      name: 'Netherlands',
      status: 'member',
      effectiveFrom: '2002-06-13',
    });
    const netherlands = await system.token({ role: 'member-state', state: 'NL', principal: 'nl-editor' });
    const created = await system.ok('POST', '/v1/contact-points', netherlands, {
      state: 'NL',
      fullName: 'Pieter de Vries',
      email: 'p.devries@om.nl',
      role: 'prosecutor',
      authority: 'Openbaar Ministerie',
      languages: ['nl', 'en'],
    });
    contactPointId = created.body.id;
    await system.ok('PATCH', `/v1/contact-points/${contactPointId}`, netherlands, {
      authority: 'Landelijk Parket',
    });
  });
  afterAll(async () => {
    await system?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  (store === 'pglite' ? it : it.skip)(
    'on the embedded store, refuses to open it while the system runs, and says what to do',
    async () => {
      const run = await runAudit(system, ['verify']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/is open in process \d+; PGlite serves one process: stop it first/);
    },
  );

  it('refuses bad arguments with what to do, and exit code 2', async () => {
    for (const [args, message] of [
      [['as-of', 'yesterday'], /as-of needs an ISO 8601 time/],
      [['export'], /export needs --out/],
      [['export', '--out', join(dir, 'x'), '--from', 'soon'], /--from soon is neither a position/],
      [['verify', '--against', join(dir, 'missing.json')], /cannot be read as JSON/],
      [['frobnicate'], /unknown command frobnicate/],
      [['verify', '--everything'], /Unknown option '--everything'/],
    ] as const) {
      const run = await runAudit(system, args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toMatch(/usage: npm run audit/);
    }
  });

  it('exports the log as NDJSON with a progress bar, and shows history and the directory as of now', async () => {
    const out = join(dir, 'log.ndjson');
    const exported = await audit(system, 'export', '--out', out);
    expect(exported).toMatchObject({ code: 0 });
    expect(exported.stderr).toMatch(/\] 100% .* events read/);
    const lines = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const [{ count } = { count: '0' }] = await query('SELECT count(*)::int AS count FROM focal_events');
    // The export's own read is recorded first, so the file holds it too.
    expect(lines).toHaveLength(Number(count));
    expect(lines.find((line) => line.type === 'ContactPointRegistered').data.personal.fullName).toBe(
      'Pieter de Vries',
    );

    const fromSecond = await audit(
      system,
      'export',
      '--out',
      join(dir, 'tail.ndjson'),
      '--from',
      lines[1].position,
      '--to',
      lines[2].position,
    );
    expect(fromSecond).toMatchObject({ code: 0, stdout: expect.stringMatching(/^2 events written/) });

    const history = await audit(system, 'history', `contact-point-${contactPointId}`);
    expect(history.code).toBe(0);
    expect(JSON.parse(history.stdout).changes[1]).toMatchObject({
      by: { principal: 'nl-editor' },
      command: 'ChangeContactPointDetails',
      changes: expect.arrayContaining([
        { field: 'authority', from: 'Openbaar Ministerie', to: 'Landelijk Parket' },
      ]),
    });

    const instant = new Date().toISOString();
    const asOf = await audit(system, 'as-of', instant);
    expect(asOf.code).toBe(0);
    const auditor = await system.token({ role: 'auditor' });
    const overHttp = await system.ok('GET', `/v1/directory?asOf=${encodeURIComponent(instant)}`, auditor);
    expect(JSON.parse(asOf.stdout)).toEqual(overHttp.body);

    const reads = await query(
      `SELECT data->>'what' AS what FROM focal_events WHERE type = 'AuditTrailRead' ORDER BY position`,
    );
    expect(reads.map((read) => read.what)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^export/),
        `history contact-point-${contactPointId}`,
        `as-of ${instant}`,
      ]),
    );
  });

  it('seals and exports a checkpoint, verifies against it, and finds the tail truncated after it', async () => {
    expect(await audit(system, 'checkpoint', 'seal')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/sealed up to position/),
    });
    const file = join(dir, 'checkpoint.json');
    expect(await audit(system, 'checkpoint', 'export', '--out', file)).toMatchObject({ code: 0 });
    const exported = JSON.parse(await readFile(file, 'utf8'));
    expect(exported.latest).toMatchObject({
      seq: exported.checkpoints.length,
      signature: expect.any(String),
    });

    expect(await audit(system, 'verify', '--against', file)).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^intact/),
    });

    // An intruder cuts the log after its third event and moves every stream head back to match.
    const [third] = await query(
      'SELECT position::text AS position FROM focal_events ORDER BY position OFFSET 2 LIMIT 1',
    );
    await query('DELETE FROM focal_events WHERE position > $1', [third!.position]);
    await query(
      'DELETE FROM focal_streams s WHERE NOT EXISTS (SELECT 1 FROM focal_events e WHERE e.stream_id = s.stream_id)',
    );
    await query(
      `UPDATE focal_streams s SET version = e.stream_version, last_hash = e.hash
         FROM (SELECT DISTINCT ON (stream_id) stream_id, stream_version, hash FROM focal_events
                ORDER BY stream_id, stream_version DESC) e WHERE e.stream_id = s.stream_id`,
    );
    // The audit CLI's own recorded reads after the cut are not part of what the export sealed.
    const alone = await audit(system, 'verify');
    expect(alone.code).toBe(0);
    // Its progress ends whole, never past the whole (the verify's own recorded read is written meanwhile).
    const chains = [...alone.stderr.matchAll(/(\d+)% (\d+)\/(\d+) events: hash chains/g)].at(-1)!;
    expect(chains[1]).toBe('100');
    expect(Number(chains[2])).toBe(Number(chains[3]));

    const against = await audit(system, 'verify', '--against', file);
    expect(against.code).toBe(1);
    expect(against.stdout).toMatch(/truncated/);
    const report = JSON.parse(against.stdout.slice(against.stdout.indexOf('{')));
    expect(report.firstFailure).toMatchObject({ kind: 'checkpoint', lastIntactPosition: third!.position });
  });

  it('names the position of an event whose stored bytes changed', async () => {
    const [target] = await query(
      "SELECT position::text AS position FROM focal_events WHERE type = 'StateStatusRecorded' OR stream_id LIKE 'state-%' ORDER BY position LIMIT 1",
    );
    await query(
      `UPDATE focal_events SET data = jsonb_set(data, '{name}', '"Nederland"') WHERE position = $1`,
      [target!.position],
    );
    const run = await audit(system, 'verify');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`NOT INTACT at position ${target!.position}`);
  });

  it('rotates the master key: every data key wrapped under a new one, which alone then opens them; and back', async () => {
    const fresh = (await runAudit(system, ['keys', 'new'])).stdout.trim();
    expect(fresh).toMatch(/^kek-\S+ [A-Za-z0-9+/]{43}=$/);
    const old = testSecrets.masterKey.trim();
    const withKeyring = (keyring: string, ...args: string[]) =>
      runAudit(system, args, { FOCAL_MASTER_KEY: `${keyring}\n` });
    // On the embedded store, with the system stopped throughout: it holds the keys of the old keyring.
    const steps = async () => {
      const rotated = await withKeyring(`${fresh}\n${old}`, 'keys', 'rotate');
      expect(rotated).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+ data key\(s\) wrapped/) });
      expect(rotated.stderr).toMatch(/data keys wrapped again/);
      expect((await withKeyring(`${fresh}\n${old}`, 'keys', 'rotate')).stdout).toMatch(/^0 data key\(s\)/);
      // Only the new key is needed now; the old one alone no longer opens anything.
      const history = await withKeyring(fresh, 'history', `contact-point-${contactPointId}`);
      expect(history.stdout).toContain('Pieter de Vries');
      const stale = await withKeyring(old, 'history', `contact-point-${contactPointId}`);
      expect(stale.code).toBe(1);
      expect(stale.stderr).toMatch(/which this keyring does not hold: add it to FOCAL_MASTER_KEY_FILE/);
      // And back, so that the system this suite started keeps its keys.
      expect(await withKeyring(`${old}\n${fresh}`, 'keys', 'rotate')).toMatchObject({ code: 0 });
    };
    if (store === 'pglite') await system.restart(steps);
    else await steps();
  });
});
