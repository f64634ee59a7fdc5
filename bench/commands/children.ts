import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Starts one of this folder's scripts in a process of its own; resolves when it prints `ready <url>`. */
export async function startChild(script: string, env: Record<string, string>, nodeOptions: string[] = []) {
  const child = spawn(
    process.execPath,
    [...nodeOptions, '--import', 'tsx', join(import.meta.dirname, script)],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('ready ')) resolve(line.slice(6));
    });
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it was ready`)));
  });
  return { child, children: [child], url };
}

const ROOT = join(import.meta.dirname, '..', '..');
const built = (part: string) => join(ROOT, 'dist', 'apps', part, 'src', 'main.js');

/**
 * Focal as a deployment runs it: the built JavaScript (`npm run build` first if dist/ is missing), directory,
 * messaging and gateway each in a process of its own with plain `node`. Resolves once the gateway is ready
 * and both services answer over NATS.
 */
export async function startBuiltProcesses(env: Record<string, string>, nodeOptions: string[] = []) {
  if (!existsSync(built('gateway'))) {
    process.stderr.write('dist/ is missing: npm run build\n');
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const port = await freePort();
  // Each process's health and metrics on a port of its own choosing: the default one may be taken.
  const children = ['directory', 'messaging', 'gateway'].map((part) =>
    spawn(process.execPath, [...nodeOptions, built(part)], {
      env: { ...process.env, ...env, PORT: String(port), FOCAL_OPERATIONS_PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  // Their logs go to stdout, one JSON line each, too many to show; the last error is shown if one exits.
  const lastError = children.map(() => '');
  children.forEach((child, i) =>
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"level":"error"') || line.includes('"level":"fatal"')) lastError[i] = line;
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    const exited = Promise.race(
      children.map(
        (child, i) =>
          new Promise<never>((_, reject) =>
            child.once('exit', (code) =>
              reject(new Error(`process ${i} exited (${code}) before it was ready: ${lastError[i]}`)),
            ),
          ),
      ),
    );
    await Promise.race([exited, untilReady(`${url}/health/ready`, 60_000)]);
  } catch (error) {
    await Promise.all(children.map((child) => stopChild(child)));
    throw error;
  }
  return { children, url };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function untilReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} was not ready within ${timeoutMs / 1000} s`);
}

/** SIGTERM (the process stops as on a deployment's shutdown), SIGKILL if it has not exited in 15 s. */
export async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
