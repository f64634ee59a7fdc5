import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { freePort } from '../../test/support/processes.js';

const run = promisify(execFile);

export const NATS_SERVER = [
  '/usr/sbin/nats-server',
  '/usr/bin/nats-server',
  '/usr/local/bin/nats-server',
].find(existsSync);

/** The newest PostgreSQL server binaries installed the Debian way, or undefined. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((version) => existsSync(join(root, version, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `child` printed a line matching `pattern`; rejects if it exits first or after `timeoutMs`. */
export function outputOf(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${seen}`)), timeoutMs);
    const check = (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-10_000);
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ${pattern}: ${seen}`));
    });
  });
}

/** Sends SIGKILL to a child this process started, and waits for it to be gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/**
 * A private PostgreSQL cluster under `dir`, on a loopback port, run as the `postgres` user when this process
 * is root (PostgreSQL refuses to run as root). The postmaster's pid is read from its own pid file: that is
 * the process a kill -9 scenario kills, and the only one `stop` signals.
 */
export class PrivatePostgres {
  private constructor(
    private readonly bin: string,
    private readonly dataDir: string,
    private readonly socketDir: string,
    readonly port: number,
  ) {}

  static async create(dir: string): Promise<PrivatePostgres> {
    const bin = postgresBin();
    if (!bin)
      throw new Error(
        'PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install postgresql',
      );
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: group } = await run('id', ['-g', 'postgres']);
      chownSync(dir, Number(stdout.trim()), Number(group.trim()));
    }
    const server = new PrivatePostgres(bin, join(dir, 'pgdata'), dir, await freePort());
    await server.as(join(bin, 'initdb'), [
      '-D',
      server.dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '--no-sync',
    ]);
    await server.start();
    return server;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Starts the postmaster; after a kill -9 its orphaned backends may hold shared memory a moment: retried. */
  async start(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await this.as(join(this.bin, 'pg_ctl'), [
          'start',
          '-w',
          '-t',
          '30',
          '-D',
          this.dataDir,
          '-l',
          join(this.socketDir, 'postgres.log'),
          '-o',
          `-p ${this.port} -k ${this.socketDir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off`,
        ]);
        return;
      } catch (error) {
        lastError = error;
        await pause(500);
      }
    }
    throw lastError;
  }

  /** A clean stop (`fast`: sessions are ended, as an operator's restart does). */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.as(join(this.bin, 'pg_ctl'), ['stop', '-w', '-m', mode, '-D', this.dataDir]).catch(
      () => undefined,
    );
  }

  postmasterPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** kill -9 of the postmaster alone, as a crash of the server process would be. */
  killPostmaster(): void {
    const pid = this.postmasterPid();
    if (pid) process.kill(pid, 'SIGKILL');
  }

  private async as(command: string, args: string[]): Promise<void> {
    const root = process.getuid?.() === 0;
    await run(root ? 'runuser' : command, root ? ['-u', 'postgres', '--', command, ...args] : args, {
      timeout: 60_000,
    });
  }
}

/** A three-node NATS cluster on loopback: each node a child of this process, killed and restarted by index. */
export class NatsCluster {
  private readonly nodes: (ChildProcess | undefined)[] = [];

  private constructor(
    private readonly clientPorts: number[],
    private readonly routePorts: number[],
  ) {}

  static async create(size = 3): Promise<NatsCluster> {
    if (!NATS_SERVER) throw new Error('nats-server is not installed: apt-get install nats-server');
    const clientPorts: number[] = [];
    const routePorts: number[] = [];
    for (let i = 0; i < size; i++) {
      clientPorts.push(await freePort());
      routePorts.push(await freePort());
    }
    const cluster = new NatsCluster(clientPorts, routePorts);
    await Promise.all(clientPorts.map((_, i) => cluster.start(i)));
    return cluster;
  }

  /** NATS_URL as a process of the system is given it: every node, comma-separated. */
  get url(): string {
    return this.clientPorts.map((port) => `nats://127.0.0.1:${port}`).join(',');
  }

  get size(): number {
    return this.clientPorts.length;
  }

  async start(index: number): Promise<void> {
    const routes = this.routePorts
      .filter((_, i) => i !== index)
      .map((port) => `nats://127.0.0.1:${port}`)
      .join(',');
    const child = spawn(
      NATS_SERVER!,
      [
        '-a',
        '127.0.0.1',
        '-p',
        String(this.clientPorts[index]),
        '-n',
        `chaos-${index}`,
        '--cluster_name',
        'focal-chaos',
        '--cluster',
        `nats://127.0.0.1:${this.routePorts[index]}`,
        '--routes',
        routes,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.nodes[index] = child;
    await outputOf(child, /Server is ready/, 15_000);
  }

  async kill(index: number): Promise<void> {
    const node = this.nodes[index];
    this.nodes[index] = undefined;
    if (node) await killHard(node);
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.nodes.length; i++) await this.kill(i);
  }
}
