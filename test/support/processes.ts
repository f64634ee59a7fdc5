import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { testSecrets } from './secrets.js';

const root = join(import.meta.dirname, '..', '..');

/** nats-server from Debian's package, or the one on PATH; undefined when neither is installed. */
export const natsServerBinary = [
  '/usr/sbin/nats-server',
  '/usr/bin/nats-server',
  '/usr/local/bin/nats-server',
].find(existsSync);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A private NATS server on `port`, for tests that stop and restart it. */
export async function startNatsServer(port: number, args: string[] = []): Promise<ChildProcess> {
  if (!natsServerBinary) throw new Error('nats-server is not installed: apt-get install nats-server');
  const child = spawn(natsServerBinary, ['-a', '127.0.0.1', '-p', String(port), ...args], { stdio: 'pipe' });
  await waitForOutput(child, /Server is ready/, 10_000);
  return child;
}

/** A service started from its own main.ts, as `npm run start:<service>` does, with JSON logs captured. */
export interface ServiceProcess {
  child: ChildProcess;
  /** Every line it printed so far, parsed as JSON where it is JSON. */
  lines: string[];
  exited: Promise<number | null>;
}

export function spawnService(
  service: 'directory' | 'messaging' | 'gateway',
  env: Record<string, string>,
): ServiceProcess {
  // The run's secrets, as an operator configures them; a test can take one away by setting it empty. Any
  // free port for a service's health and metrics: tests run side by side, so the fixed defaults would clash.
  return spawnNode(['--import', 'tsx', join(root, `apps/${service}/src/main.ts`)], {
    ...testSecrets.env,
    FOCAL_OPERATIONS_PORT: '0',
    ...env,
  });
}

/** `node <args>` in the repository, its output collected line by line. */
export function spawnNode(args: string[], env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const collect = (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

/** Resolves once the process has printed a line matching `pattern`. */
export async function waitForLine(
  service: ServiceProcess,
  pattern: RegExp,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!service.lines.some((line) => pattern.test(line))) {
    if (service.child.exitCode !== null) {
      throw new Error(`the process exited (${service.child.exitCode}):\n${service.lines.join('\n')}`);
    }
    if (Date.now() > deadline) throw new Error(`no line matching ${pattern}:\n${service.lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${seen}`)), timeoutMs);
    const check = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', (code) => reject(new Error(`nats-server exited (${code}): ${seen}`)));
  });
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}
