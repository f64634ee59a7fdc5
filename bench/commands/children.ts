import { spawn, type ChildProcess } from 'node:child_process';
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
  return { child, url };
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
