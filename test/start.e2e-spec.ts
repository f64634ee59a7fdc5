import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';

import {
  freePort,
  natsServerBinary,
  stopProcess,
  waitForLine,
  type ServiceProcess,
} from './support/processes.js';
import { natsUrl, testNamespace } from './support/services.js';
import { until } from './support/until.js';

const root = join(import.meta.dirname, '..');

/** `npm start`, as a user runs it: one process, the embedded store, NATS found or started. */
function npmStart(env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'apps/system/src/main.ts')], {
    cwd: root,
    // Operations on any free port: suites run side by side, and the default one is the same for all.
    env: { ...process.env, PORT: '0', FOCAL_OPERATIONS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const collect = (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return { child, lines, exited: new Promise((resolve) => child.once('exit', resolve)) };
}

/** `npm run <script> -- args` as the README has users run it, with its output. */
function npmRun(script: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', join(root, `scripts/${script}.ts`), ...args],
      { cwd: root, env: { ...process.env, ...env } },
      (error, stdout, stderr) => (error ? reject(new Error(`${script}: ${stderr}`)) : resolve(stdout)),
    ),
  );
}

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

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

  /** Starts it and waits for what it prints when ready: the URL and a secretariat token. */
  const start = async (env: Record<string, string>) => {
    const focal = npmStart({ FOCAL_DATA_DIR: dataDir, ...env });
    started.push(focal);
    await waitForLine(focal, /export TOKEN=/, 60_000);
    const printed = focal.lines.join('\n');
    return {
      focal,
      url: /Focal is running on (\S+)/.exec(printed)![1]!,
      token: /export TOKEN=(\S+)/.exec(printed)![1]!,
    };
  };

  it('a newcomer’s journey: seed, register, retry, change, retire, confirm, erase; stop with SIGINT; start again and find it all; a crash loses nothing', async () => {
    const namespace = testNamespace('start');
    let { focal, url, token } = await start({ NATS_URL: natsUrl, FOCAL_NATS_NAMESPACE: namespace });
    // An empty directory: the banner says how to load the reference one (and, once loaded, no longer: below),
    // with the settings this start was given, so that the line works as printed in another shell.
    expect(focal.lines).toContain(
      `  load the reference directory: FOCAL_DATA_DIR=${dataDir} NATS_URL=${natsUrl} ` +
        `FOCAL_NATS_NAMESPACE=${namespace} FOCAL_URL=${url} npm run seed`,
    );
    expect(focal.lines.join('\n')).toContain(`FOCAL_DATA_DIR=${dataDir} npm run token makes others`);
    expect((await fetch(`${url}/docs`)).status).toBe(200);
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    // Its secrets, made on this first start, for its owner's eyes only (and reused below, after restarts).
    expect(statSync(join(dataDir, 'secrets')).mode & 0o777).toBe(0o700);
    for (const file of ['jwt-secret', 'checkpoint-signing-key.pem', 'master.key']) {
      expect({ file, mode: statSync(join(dataDir, 'secrets', file)).mode & 0o777 }).toEqual({
        file,
        mode: 0o600,
      });
    }
    // The tools find the secret npm start made in the data directory, as the Quick start has it.
    expect(
      await npmRun('seed', [], {
        FOCAL_URL: url,
        FOCAL_DATA_DIR: dataDir,
        NATS_URL: natsUrl,
        FOCAL_NATS_NAMESPACE: namespace,
      }),
    ).toMatch(/seeded 36 states and 16 liaison organisations, and the 38th plenary meeting,/);
    // The 38th meeting is there to browse: found by its conclusions' words, with its guest delegations.
    const browse = (path: string) =>
      fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}`, 'focal-read-after': '0' } }).then(
        (response) => response.json() as Promise<Record<string, unknown>>,
      );
    const meetings = (await browse('/v1/plenary-meetings?q=satellite%20imagery')) as {
      items: { id: string }[];
    };
    expect(meetings.items).toEqual([
      expect.objectContaining({ number: 38, presidency: 'DK', startsOn: '2025-11-19', status: 'concluded' }),
    ]);
    expect(await browse(`/v1/plenary-meetings/${meetings.items[0]!.id}/participation`)).toMatchObject({
      countries: 3,
      sessions: [
        { session: 'open', delegates: 3, attended: 3 },
        { session: 'closed', delegates: 0 },
      ],
    });
    const france = (
      await npmRun('token', ['--role', 'member-state', '--state', 'FR'], { FOCAL_DATA_DIR: dataDir })
    ).trim();
    // Without the data directory npm start ran with, the tools say where they looked, in a line.
    const elsewhere = join(dataDir, 'not-the-data-directory');
    for (const script of ['seed', 'token']) {
      const refused = npmRun(script, script === 'token' ? ['--role', 'secretariat'] : [], {
        FOCAL_URL: url,
        FOCAL_DATA_DIR: elsewhere,
      });
      await expect(refused).rejects.toThrow(`none is there in FOCAL_DATA_DIR=${elsewhere}`);
      await expect(refused).rejects.not.toThrow(/ at |usage:/);
    }
    // A token the gateway would refuse is not printed: the tool says what to write instead.
    await expect(
      npmRun('token', ['--role', 'member-state', '--state', 'fr'], { FOCAL_DATA_DIR: dataDir }),
    ).rejects.toThrow(/must be upper case: FR/);
    await expect(
      npmRun('token', ['--role', 'liaison-organisation', '--organisation', 'icc'], {
        FOCAL_DATA_DIR: dataDir,
      }),
    ).rejects.toThrow(/not a lower-case UUID/);
    const call = async (
      method: string,
      path: string,
      as: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const response = await fetch(`${url}${path}`, {
        method,
        signal: AbortSignal.timeout(10_000),
        headers: {
          authorization: `Bearer ${as}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        body: text ? JSON.parse(text) : undefined,
      };
    };
    const entry = (fullName: string, email: string) => ({
      state: 'FR',
      fullName,
      email,
      role: 'prosecutor',
      authority: 'Parquet national antiterroriste',
      languages: ['fr', 'en'],
    });

    // The README's Quick start: a contact point with an Idempotency-Key, sent twice.
    const key = `first-entry-${randomUUID()}`;
    const claire = await call(
      'POST',
      '/v1/contact-points',
      france,
      entry('Claire Martin', 'claire@pnat.example'),
      {
        'idempotency-key': key,
      },
    );
    expect(claire.status).toBe(201);
    const again = await call(
      'POST',
      '/v1/contact-points',
      france,
      entry('Claire Martin', 'claire@pnat.example'),
      {
        'idempotency-key': key,
      },
    );
    expect(again).toMatchObject({ status: 201, body: claire.body });
    // Without a key, and then the next command right after it: nothing waits on anything.
    const paul = await call('POST', '/v1/contact-points', france, entry('Paul Durand', 'paul@pnat.example'));
    expect(paul.status).toBe(201);
    const lea = await call('POST', '/v1/contact-points', france, entry('Léa Bernard', 'lea@pnat.example'));
    expect(lea.status).toBe(201);
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);

    const changed = await call(
      'PATCH',
      `/v1/contact-points/${claire.body.id}`,
      france,
      { phone: '+33144000000' },
      {
        'if-match': claire.headers.get('etag')!,
      },
    );
    expect(changed).toMatchObject({ status: 200, body: { version: 2 } });
    expect(
      await call('POST', `/v1/contact-points/${paul.body.id}/retire`, france, {
        reason: 'moved to another post',
      }),
    ).toMatchObject({ status: 200 });
    expect(await call('POST', `/v1/contact-points/${claire.body.id}/confirm`, france)).toMatchObject({
      status: 200,
      body: { version: 3 },
    });
    const erased = await call('DELETE', `/v1/contact-points/${lea.body.id}/personal-data`, token);
    expect(erased.status).toBe(200);

    const directory = async (as: string, after?: string | null) =>
      (
        await call(
          'GET',
          '/v1/contact-points?state=FR',
          as,
          undefined,
          after ? { 'focal-read-after': after } : {},
        )
      ).body.items.map((item: Record<string, unknown>) => ({
        id: item.id,
        fullName: item.fullName,
        phone: item.phone,
        status: item.status,
      }));
    const before = await directory(token, erased.headers.get('focal-position'));
    expect(before).toEqual(
      expect.arrayContaining([
        { id: claire.body.id, fullName: 'Claire Martin', phone: '+33144000000', status: 'active' },
        expect.objectContaining({ id: paul.body.id, fullName: 'Paul Durand', status: 'retired' }),
        expect.objectContaining({ id: lea.body.id, fullName: null }),
      ]),
    );
    expect(before).toHaveLength(3);

    // Stopped as a user stops it in a terminal: Ctrl-C.
    focal.child.kill('SIGINT');
    expect(await focal.exited).toBe(0);

    ({ focal, url, token } = await start({ NATS_URL: natsUrl, FOCAL_NATS_NAMESPACE: namespace }));
    expect(focal.lines.join('\n')).not.toContain('npm run seed');
    expect(await directory(token)).toEqual(before);
    const states = await call('GET', '/v1/states', token);
    expect(states.body.items).toHaveLength(36);
    const history = await call('GET', `/v1/audit/streams/contact-point-${claire.body.id}`, token);
    expect(history.body.changes.map((change: { type: string }) => change.type)).toEqual([
      'ContactPointRegistered',
      'ContactPointDetailsChanged',
      'ContactPointConfirmed',
    ]);

    // A crash right after an answer loses nothing: what was acknowledged is there after the restart.
    const late = await call('POST', '/v1/contact-points', france, entry('Hugo Petit', 'hugo@pnat.example'));
    expect(late.status).toBe(201);
    focal.child.kill('SIGKILL');
    await focal.exited;
    ({ focal, url, token } = await start({ NATS_URL: natsUrl, FOCAL_NATS_NAMESPACE: namespace }));
    const found = await call('GET', `/v1/contact-points/${late.body.id}`, token);
    expect(found).toMatchObject({
      status: 200,
      body: { fullName: 'Hugo Petit', email: 'hugo@pnat.example' },
    });
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    focal.child.kill('SIGTERM');
    expect(await focal.exited).toBe(0);
    // Three starts of the whole system and a seed that also loads a plenary meeting: more than a minute on a
    // loaded machine.
  }, 180_000);

  it('two npm starts on one NATS server, each with its own data directory, never take each other’s commands', async () => {
    // No FOCAL_NATS_NAMESPACE, as two checkouts on one machine would run: each data directory has its own.
    const env = { ...process.env };
    delete env.FOCAL_NATS_NAMESPACE;
    const systems = [];
    for (const name of ['first', 'second']) {
      const focal = npmStart({
        ...(env as Record<string, string>),
        FOCAL_DATA_DIR: join(dataDir, '..', name),
      });
      started.push(focal);
      await waitForLine(focal, /export TOKEN=/, 60_000);
      const printed = focal.lines.join('\n');
      systems.push({
        url: /Focal is running on (\S+)/.exec(printed)![1]!,
        token: /export TOKEN=(\S+)/.exec(printed)![1]!,
      });
    }
    const [first, second] = systems as [(typeof systems)[0], (typeof systems)[0]];
    for (let i = 0; i < 6; i++) {
      const registered = await fetch(`${first.url}/v1/liaison-organisations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Organisation ${i}`, acronym: `ORG${i}`, kind: 'other' }),
      });
      expect(registered.status).toBe(201);
    }
    const listed = async (system: typeof first) =>
      (
        (await (
          await fetch(`${system.url}/v1/liaison-organisations`, {
            headers: { authorization: `Bearer ${system.token}`, 'focal-read-after': '0' },
          })
        ).json()) as { items: unknown[] }
      ).items.length;
    expect(await listed(first)).toBe(6);
    expect(await listed(second)).toBe(0);
    expect(readFileSync(join(dataDir, '..', 'first', 'nats-namespace'), 'utf8')).not.toEqual(
      readFileSync(join(dataDir, '..', 'second', 'nats-namespace'), 'utf8'),
    );
  }, 120_000);

  // A supervisor signals the whole process group (systemd's default, a terminal's Ctrl-C) or only the pid it
  // started, npm's. Either is one graceful stop of the node process below npm.
  it.each(['the process group', 'npm alone'] as const)(
    'npm start stops gracefully on one SIGTERM to %s',
    async (target) => {
      const npm = spawn('npm', ['start'], {
        cwd: root,
        env: {
          ...process.env,
          PORT: '0',
          FOCAL_OPERATIONS_PORT: '0',
          FOCAL_DATA_DIR: dataDir,
          NATS_URL: natsUrl,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      const focal: ServiceProcess = {
        child: npm,
        lines: [],
        exited: new Promise((resolve) => npm.once('exit', resolve)),
      };
      const collect = (chunk: Buffer) => focal.lines.push(...chunk.toString().split('\n').filter(Boolean));
      npm.stdout!.on('data', collect);
      npm.stderr!.on('data', collect);
      try {
        await waitForLine(focal, /export TOKEN=/, 60_000);
        const node = Number(
          execFileSync('pgrep', [
            '-g',
            String(npm.pid),
            '-f',
            '^\\S*node --import tsx apps/system/src/main.ts',
          ])
            .toString()
            .trim(),
        );
        if (target === 'npm alone') {
          process.kill(npm.pid!, 'SIGTERM');
        } else {
          process.kill(-npm.pid!, 'SIGTERM');
          // npm passes it on too, later when busy: still the same stop, not the impatient second signal.
          await new Promise((resolve) => setTimeout(resolve, 20));
          process.kill(node, 'SIGTERM');
        }
        await until(
          () => focal.lines.some((line) => /messaging stopped/.test(line)),
          'the services to stop',
          20_000,
        );
        await until(() => !isRunning(node), 'the process to exit', 20_000);
        expect(focal.lines.join('\n')).not.toMatch(/again: exiting now/);
      } finally {
        // Whatever is left of the group, if the test failed half-way.
        try {
          process.kill(-npm.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
    120_000,
  );

  /** Starts it with `setting` naming a port another process holds; what it printed before exiting 1. */
  const startOnTakenPort = async (setting: 'PORT' | 'FOCAL_OPERATIONS_PORT') => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const focal = npmStart({
        FOCAL_DATA_DIR: dataDir,
        [setting]: String(port),
        FOCAL_NATS_NAMESPACE: testNamespace('start'),
      });
      started.push(focal);
      expect(await focal.exited).toBe(1);
      return { port, printed: focal.lines.join('\n') };
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  };

  it('says which port is taken and what to do, and exits', async () => {
    const { port, printed } = await startOnTakenPort('PORT');
    expect(printed).toContain(
      `the gateway cannot listen on 127.0.0.1:${port} (EADDRINUSE): another process has that port`,
    );
  }, 60_000);

  it('serves its metrics apart from the API, on any free port when its default one is taken', async () => {
    // The default port held here (or already by someone else): another checkout's npm start on this host.
    const taken = createServer();
    const holding = await new Promise<boolean>((resolve) => {
      taken.once('error', () => resolve(false));
      taken.listen(9463, '127.0.0.1', () => resolve(true));
    });
    try {
      const { focal, url } = await start({
        FOCAL_OPERATIONS_PORT: '',
        FOCAL_NATS_NAMESPACE: testNamespace('start'),
      });
      const printed = focal.lines.join('\n');
      expect(printed).toContain('port 9463 is taken: health and metrics take any free port instead');
      const metricsUrl = /metrics: +(\S+)/.exec(printed)![1]!;
      expect(new URL(metricsUrl).port).not.toBe('9463');
      const metrics = await fetch(metricsUrl);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/focal_http_requests_total/);
      expect((await fetch(`${url}/metrics`)).status).toBe(404);
    } finally {
      if (holding) await new Promise((resolve) => taken.close(resolve));
    }
  }, 60_000);

  it("keeps a data directory that already existed to its owner: PGlite's own files are anyone's", async () => {
    mkdirSync(dataDir, { recursive: true, mode: 0o755 });
    chmodSync(dataDir, 0o755);
    await start({ FOCAL_NATS_NAMESPACE: testNamespace('start') });
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  }, 60_000);

  it('exits naming FOCAL_OPERATIONS_PORT when the port it was given is taken', async () => {
    const { port, printed } = await startOnTakenPort('FOCAL_OPERATIONS_PORT');
    expect(printed).toContain(
      `the operations listener cannot listen on 127.0.0.1:${port} (listen EADDRINUSE`,
    );
    expect(printed).toContain('set FOCAL_OPERATIONS_PORT to a free port, 0 for any, or off');
    // It never took a request: the API did not listen before its operations listener failed.
    expect(printed).not.toContain('gateway listening on');
  }, 60_000);

  (natsServerBinary ? it : it.skip)('starts a local nats-server when none answers at NATS_URL', async () => {
    const port = await freePort();
    const { focal, url, token } = await start({
      NATS_URL: `nats://127.0.0.1:${port}`,
      FOCAL_NATS_NAMESPACE: testNamespace('start'),
    });
    expect(focal.lines.join('\n')).toMatch(/started a local nats-server/);
    const admitted = await fetch(`${url}/v1/states/SE`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Sweden', status: 'member', effectiveFrom: '2002-06-13' }),
    });
    expect(admitted.status).toBe(201);
    focal.child.kill('SIGTERM');
    expect(await focal.exited).toBe(0);
  });
});
