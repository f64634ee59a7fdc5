import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { LocalKeyring } from '@focal/events';
import pg from 'pg';

import { signToken } from '../../apps/gateway/src/index.js';
import { freePort } from '../../test/support/processes.js';
import { killHard, NatsCluster, outputOf, PrivatePostgres } from './servers.js';

const root = join(import.meta.dirname, '..', '..');
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One line of `npm run chaos -- --json`: what the retrying client saw, and what the store holds after. */
export interface ScenarioResult {
  scenario: string;
  /** Commands the client started (each with its own Idempotency-Key, retried under it). */
  sent: number;
  /** Commands answered 2xx, on some attempt within the client's retry budget. */
  acknowledged: number;
  /** Acknowledged commands that the store does not hold. */
  lost: number;
  /** Commands the store holds more than once. */
  duplicated: number;
  /** Answers with a 5xx status, by status, over every attempt. */
  serverErrors: Record<string, number>;
  /** Attempts that got no HTTP answer at all (connection refused or reset: a gateway down). */
  connectionErrors: number;
  /** Answers with a 4xx status, by status: none is expected, since every command is valid. */
  refused: Record<string, number>;
  /** The longest time without an acknowledgement while the client was sending, in seconds. */
  recoverySeconds: number;
  /** Both gateways' read models list exactly what the store holds. */
  converged: boolean;
  /** From the end of the load until the read models had converged. */
  convergedSeconds: number | null;
  /** GET /v1/audit/verify: every hash chain and checkpoint of the log checks. */
  verified: boolean;
  /** Processes of the system that exited without being killed by the suite (each restarted, as a supervisor would). */
  unexpectedExits: number;
  /** Warn and error lines all six processes logged during the scenario: bounded by the retries' backoff. */
  logLines: { warn: number; error: number };
}

type Service = 'directory' | 'messaging' | 'gateway';

/** One process of the system, started from its main.ts as `npm run start:<service>` does; its log in a file. */
class SystemProcess {
  private child?: ChildProcess;
  private killing = false;
  private stopped = false;
  unexpectedExits = 0;
  /** Log lines at warn and error level printed so far: an outage must cost a bounded number of them. */
  readonly logLines = { warn: 0, error: 0 };
  private readonly log: WriteStream;

  constructor(
    readonly name: string,
    private readonly service: Service,
    private readonly env: Record<string, string>,
    logDir: string,
    private readonly onUnexpectedExit: (name: string, code: number | null) => void,
    readonly port?: number,
  ) {
    this.log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, `apps/${this.service}/src/main.ts`)],
      {
        cwd: root,
        env: { ...process.env, ...this.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    child.stdout!.pipe(this.log, { end: false });
    child.stderr!.pipe(this.log, { end: false });
    const count = (chunk: Buffer) => {
      this.logLines.warn += chunk.toString().split('"level":"warn"').length - 1;
      this.logLines.error += chunk.toString().split('"level":"error"').length - 1;
    };
    child.stdout!.on('data', count);
    child.stderr!.on('data', count);
    child.once('exit', (code) => {
      if (this.killing || this.stopped || this.child !== child) return;
      // What a supervisor does: count it, start it again.
      this.unexpectedExits++;
      this.onUnexpectedExit(this.name, code);
      setTimeout(() => void this.start().catch(() => undefined), 1_000);
    });
    if (this.service === 'gateway') await this.untilReady(child);
    else await outputOf(child, /listening on/, 120_000);
  }

  /** kill -9, as a crash; not counted as unexpected. */
  async kill(): Promise<void> {
    if (!this.child) return;
    this.killing = true;
    await killHard(this.child);
    this.killing = false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.child) await killHard(this.child);
    this.log.end();
  }

  private async untilReady(child: ChildProcess): Promise<void> {
    for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
      if (child.exitCode !== null) throw new Error(`${this.name} exited (${child.exitCode}) while starting`);
      const ready = await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(2_000) }).catch(
        () => undefined,
      );
      if (ready?.status === 200) return;
      await pause(250);
    }
    throw new Error(`${this.name} was not ready within 120 s`);
  }
}

export interface ChaosSystem {
  postgres: PrivatePostgres;
  nats: NatsCluster;
  directory: SystemProcess[];
  messaging: SystemProcess[];
  gateways: SystemProcess[];
  databaseUrl: string;
  token: string;
  logDir: string;
  /** Scenarios say which processes exited on their own from this list's length before and after. */
  exits: string[];
  stop(): Promise<void>;
}

/**
 * Private servers (a PostgreSQL cluster under a temporary directory, a three-node NATS cluster) and the
 * system on them as separate processes: two instances of each service, two gateways, all on PostgreSQL,
 * each given every NATS node. Everything is a child of this process and is stopped by `stop()`.
 */
export async function startChaosSystem(log: (line: string) => void = () => undefined): Promise<ChaosSystem> {
  const dir = await mkdtemp(join(tmpdir(), 'focal-chaos-'));
  const started: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    for (const part of started.reverse()) await part.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const postgres = await PrivatePostgres.create(dir);
    started.push({ stop: () => postgres.stop('immediate') });
    const nats = await NatsCluster.create(3);
    started.push(nats);
    log(`private PostgreSQL on port ${postgres.port}, NATS cluster at ${nats.url}`);
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query('CREATE DATABASE focal');
    await admin.end();
    const databaseUrl = postgres.url.replace(/\/postgres$/, '/focal');

    const jwtSecret = randomBytes(32).toString('base64url');
    const env = {
      NATS_URL: nats.url,
      FOCAL_STORE: 'postgres',
      DATABASE_URL: databaseUrl,
      FOCAL_JWT_SECRET: jwtSecret,
      FOCAL_MASTER_KEY: `${LocalKeyring.newLine('chaos-kek')}\n`,
      FOCAL_CHECKPOINT_SIGNING_KEY: generateKeyPairSync('ed25519')
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString(),
      // The client is the load; the suite measures faults, not the rate limit.
      FOCAL_RATE_LIMIT_WRITES_PER_MINUTE: '0',
      // Longer than any outage here: a process that exits has crashed, it did not give up by design.
      FOCAL_STORE_GIVE_UP_MS: '120000',
      HOST: '127.0.0.1',
      // Two instances of each service on this host: each takes a free port for its health and metrics.
      FOCAL_OPERATIONS_PORT: '0',
    };
    const exits: string[] = [];
    const onExit = (name: string, code: number | null) => {
      exits.push(name);
      log(`${name} exited by itself (code ${code}); restarting it`);
    };
    const make = async (service: Service, index: number) => {
      const port = service === 'gateway' ? await freePort() : undefined;
      return new SystemProcess(
        `${service}-${index}`,
        service,
        { ...env, ...(port ? { PORT: String(port) } : {}) },
        dir,
        onExit,
        port,
      );
    };
    const directory = [await make('directory', 0), await make('directory', 1)];
    const messaging = [await make('messaging', 0), await make('messaging', 1)];
    const gateways = [await make('gateway', 0), await make('gateway', 1)];
    const all = [...directory, ...messaging, ...gateways];
    started.push({ stop: async () => void (await Promise.all(all.map((process) => process.stop()))) });
    // The first instance of each alone creates the schema; then the rest together.
    await Promise.all([directory[0]!.start(), messaging[0]!.start(), gateways[0]!.start()]);
    await Promise.all([directory[1]!.start(), messaging[1]!.start(), gateways[1]!.start()]);
    log(`two directory, two messaging and two gateway processes are up (logs under ${dir})`);
    const token = await signToken(jwtSecret, { sub: 'chaos-secretariat', role: 'secretariat' });
    return { postgres, nats, directory, messaging, gateways, databaseUrl, token, logDir: dir, exits, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A fault, injected and healed; returns when the system has been given back what it lost. */
type Fault = (system: ChaosSystem, options: ChaosOptions) => Promise<void>;

export const SCENARIOS: Record<string, Fault> = {
  'kill-directory-instance': async (system) => {
    await system.directory[0]!.kill();
    await pause(2_000);
    await system.directory[0]!.start();
  },
  'kill-gateway': async (system) => {
    await system.gateways[0]!.kill();
    await pause(2_000);
    await system.gateways[0]!.start();
  },
  'kill-nats-node': async (system) => {
    await system.nats.kill(0);
    await pause(5_000);
    await system.nats.start(0);
  },
  'kill-nats-cluster': async (system) => {
    for (let i = 0; i < system.nats.size; i++) await system.nats.kill(i);
    await pause(5_000);
    await Promise.all(Array.from({ length: system.nats.size }, (_, i) => system.nats.start(i)));
  },
  'kill-postgres-postmaster': async (system) => {
    system.postgres.killPostmaster();
    await pause(3_000);
    await system.postgres.start();
  },
  'terminate-every-backend': async (system) => {
    const admin = new pg.Client({ connectionString: system.postgres.url });
    await admin.connect();
    try {
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = $1',
        ['client backend'],
      );
    } finally {
      await admin.end();
    }
  },
  'stop-postgres-past-retry-budget': async (system, options) => {
    await system.postgres.stop('fast');
    await pause(options.retryBudgetMs + 3_000);
    await system.postgres.start();
  },
};

export interface ChaosOptions {
  /** Commands a second, across the client's workers. */
  rate: number;
  workers: number;
  /** How long the client retries one command (same Idempotency-Key) before it gives up on it. */
  retryBudgetMs: number;
  /** Load before the fault, and after it is healed. */
  beforeMs: number;
  afterMs: number;
  /** How long the read models get to converge once the load stops. */
  convergeWithinMs: number;
}

export const DEFAULT_OPTIONS: ChaosOptions = {
  rate: 30,
  workers: 8,
  retryBudgetMs: 12_000,
  beforeMs: 3_000,
  afterMs: 5_000,
  convergeWithinMs: 60_000,
};

/** Runs each scenario in turn on one system; the system is healed (and checked) between them. */
export async function runScenarios(
  system: ChaosSystem,
  scenarios: readonly string[],
  options: ChaosOptions = DEFAULT_OPTIONS,
  onResult: (result: ScenarioResult) => void = () => undefined,
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    const fault = SCENARIOS[scenario];
    if (!fault)
      throw new Error(`no scenario ${scenario}: the scenarios are ${Object.keys(SCENARIOS).join(', ')}`);
    const result = await runScenario(system, scenario, fault, options);
    results.push(result);
    onResult(result);
  }
  return results;
}

async function runScenario(
  system: ChaosSystem,
  scenario: string,
  fault: Fault,
  options: ChaosOptions,
): Promise<ScenarioResult> {
  const exitsBefore = system.exits.length;
  const processes = [...system.directory, ...system.messaging, ...system.gateways];
  const logged = () =>
    processes.reduce(
      (sum, member) => ({
        warn: sum.warn + member.logLines.warn,
        error: sum.error + member.logLines.error,
      }),
      { warn: 0, error: 0 },
    );
  const loggedBefore = logged();
  const run = `chaos ${scenario} ${randomUUID().slice(0, 8)}`;
  const client = new RetryingClient(system, run, options);
  const load = client.drive();
  await pause(options.beforeMs);
  await fault(system, options);
  await pause(options.afterMs);
  client.stopSending();
  await load;
  const loadEnded = Date.now();

  const held = await namesInStore(system, run);
  const lost = [...client.acknowledged].filter((name) => !held.has(name)).length;
  const duplicated = [...held.values()].reduce((sum, count) => sum + Math.max(0, count - 1), 0);
  let convergedSeconds: number | null = null;
  for (const deadline = loadEnded + options.convergeWithinMs; Date.now() < deadline;) {
    if (await readModelsHold(system, run, held)) {
      convergedSeconds = (Date.now() - loadEnded) / 1_000;
      break;
    }
    await pause(500);
  }
  return {
    scenario,
    sent: client.sent,
    acknowledged: client.acknowledged.size,
    lost,
    duplicated,
    serverErrors: client.serverErrors,
    connectionErrors: client.connectionErrors,
    refused: client.refused,
    recoverySeconds: client.longestGapMs() / 1_000,
    converged: convergedSeconds !== null,
    convergedSeconds,
    verified: await verified(system),
    unexpectedExits: system.exits.length - exitsBefore,
    logLines: {
      warn: logged().warn - loggedBefore.warn,
      error: logged().error - loggedBefore.error,
    },
  };
}

/**
 * Registers liaison organisations, each named after its own Idempotency-Key, through either gateway, and
 * retries every failed attempt under the same key (alternating gateways) until it is answered or its
 * budget is spent: what a careful API client does.
 */
class RetryingClient {
  sent = 0;
  readonly acknowledged = new Set<string>();
  readonly serverErrors: Record<string, number> = {};
  readonly refused: Record<string, number> = {};
  connectionErrors = 0;
  private readonly acknowledgedAt: number[] = [];
  private sending = true;
  private startedAt = Date.now();
  private stoppedAt = Date.now();

  constructor(
    private readonly system: ChaosSystem,
    private readonly run: string,
    private readonly options: ChaosOptions,
  ) {}

  async drive(): Promise<void> {
    this.startedAt = Date.now();
    const interval = (this.options.workers * 1_000) / this.options.rate;
    await Promise.all(
      Array.from({ length: this.options.workers }, async (_, worker) => {
        await pause((worker * interval) / this.options.workers);
        for (let n = 0; this.sending && n < 100_000; n++) {
          const began = Date.now();
          await this.command(`${this.run} w${worker} n${n}`, worker + n);
          await pause(Math.max(0, interval - (Date.now() - began)));
        }
      }),
    );
  }

  stopSending(): void {
    this.sending = false;
    this.stoppedAt = Date.now();
  }

  /** The longest stretch without an acknowledgement while the client was sending. */
  longestGapMs(): number {
    const times = [this.startedAt, ...this.acknowledgedAt.sort((a, b) => a - b), this.stoppedAt];
    let longest = 0;
    for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i]! - times[i - 1]!);
    return longest;
  }

  private async command(name: string, seed: number): Promise<void> {
    this.sent++;
    const key = randomUUID();
    const deadline = Date.now() + this.options.retryBudgetMs;
    for (let attempt = 0; Date.now() < deadline && attempt < 200; attempt++) {
      const gateway = this.system.gateways[(seed + attempt) % this.system.gateways.length]!;
      let status: number;
      try {
        const response = await fetch(`${gateway.url}/v1/liaison-organisations`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${this.system.token}`,
            'content-type': 'application/json',
            'idempotency-key': key,
          },
          body: JSON.stringify({ name, acronym: 'CHAOS', kind: 'civil-society' }),
          signal: AbortSignal.timeout(15_000),
        });
        await response.arrayBuffer();
        status = response.status;
      } catch {
        this.connectionErrors++;
        await pause(Math.min(1_000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2));
        continue;
      }
      if (status >= 200 && status < 300) {
        this.acknowledged.add(name);
        this.acknowledgedAt.push(Date.now());
        return;
      }
      if (status < 500) {
        // No retry changes a refusal; every command sent is valid, so each one counted here is a defect.
        this.refused[status] = (this.refused[status] ?? 0) + 1;
        return;
      }
      this.serverErrors[status] = (this.serverErrors[status] ?? 0) + 1;
      await pause(Math.min(1_000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2));
    }
  }
}

/** The run's organisations in the event store itself, by name, with how many times each was registered. */
async function namesInStore(system: ChaosSystem, run: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: system.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; count: string }>(
      `SELECT data->>'name' AS name, count(*) AS count FROM focal_events
        WHERE type = 'LiaisonOrganisationRegistered' AND starts_with(data->>'name', $1) GROUP BY 1`,
      [`${run} `],
    );
    return new Map(rows.map((row) => [row.name, Number(row.count)]));
  } finally {
    await client.end();
  }
}

async function readModelsHold(system: ChaosSystem, run: string, held: Map<string, number>): Promise<boolean> {
  for (const gateway of system.gateways) {
    const answer = await fetch(`${gateway.url}/v1/liaison-organisations`, {
      headers: { authorization: `Bearer ${system.token}` },
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
    if (answer?.status !== 200) return false;
    const { items } = (await answer.json()) as { items: { name: string }[] };
    const listed = items.filter((item) => item.name.startsWith(`${run} `)).map((item) => item.name);
    if (listed.length !== held.size || listed.some((name) => !held.has(name))) return false;
  }
  return true;
}

async function verified(system: ChaosSystem): Promise<boolean> {
  const answer = await fetch(`${system.gateways[1]!.url}/v1/audit/verify`, {
    headers: { authorization: `Bearer ${system.token}` },
    signal: AbortSignal.timeout(120_000),
  }).catch(() => undefined);
  if (answer?.status !== 200) return false;
  return ((await answer.json()) as { ok?: boolean }).ok === true;
}

/** The readable summary of one scenario. */
export function describeResult(result: ScenarioResult): string {
  const errors = Object.entries(result.serverErrors)
    .map(([status, count]) => `${count} × ${status}`)
    .join(', ');
  return [
    `${result.scenario}: ${result.acknowledged} of ${result.sent} commands acknowledged, ` +
      `${result.lost} lost, ${result.duplicated} duplicated`,
    `  answers with 5xx: ${errors || 'none'}; attempts without an answer: ${result.connectionErrors}; ` +
      `refusals (4xx): ${Object.values(result.refused).reduce((sum, count) => sum + count, 0)}`,
    `  longest time without an acknowledgement: ${result.recoverySeconds.toFixed(1)} s; read models ` +
      (result.converged
        ? `converged ${result.convergedSeconds!.toFixed(1)} s after the load`
        : 'did NOT converge'),
    `  log verified: ${result.verified ? 'yes' : 'NO'}; processes that exited by themselves: ${result.unexpectedExits}; ` +
      `lines logged at warn/error level: ${result.logLines.warn}/${result.logLines.error}`,
  ].join('\n');
}
