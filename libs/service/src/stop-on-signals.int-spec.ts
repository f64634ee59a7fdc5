import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..', '..');

/** A process whose stop takes 1.5 s, stopping on signals as every Focal process does; resolves once it listens. */
async function stoppable() {
  const dir = mkdtempSync(join(tmpdir(), 'focal-signals-'));
  const script = join(dir, 'stoppable.ts');
  writeFileSync(
    script,
    `import { stopOnSignals } from ${JSON.stringify(join(root, 'libs/service/src/service-app.ts'))};
const say = (message: string) => process.stdout.write(message + '\\n');
stopOnSignals(
  () => new Promise<void>((resolve) => setTimeout(() => { say('stopped'); resolve(); }, 1_500)),
  10_000,
  { log: say, warn: say, error: say },
);
setInterval(() => undefined, 1_000);
say('ready');
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before it was ready: ${output}`)));
  });
  return {
    signal: (signal: NodeJS.Signals) => child.kill(signal),
    exited,
    output: () => output,
    cleanUp: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('stopOnSignals', () => {
  it('takes signals that follow the first within a second as the same stop: npm passes a group signal on', async () => {
    const process = await stoppable();
    try {
      process.signal('SIGTERM');
      await pause(20);
      process.signal('SIGTERM');
      await pause(20);
      process.signal('SIGINT');
      expect(await process.exited).toBe(0);
      expect(process.output()).toMatch(/SIGTERM: finishing the work in flight[\s\S]*stopped/);
      expect(process.output()).not.toMatch(/again/);
    } finally {
      process.cleanUp();
    }
  }, 30_000);

  it('exits at once on a signal more than a second after the first', async () => {
    const process = await stoppable();
    try {
      process.signal('SIGTERM');
      await pause(1_200);
      process.signal('SIGINT');
      expect(await process.exited).toBe(1);
      expect(process.output()).toMatch(/SIGINT again: exiting now/);
      expect(process.output()).not.toMatch(/stopped/);
    } finally {
      process.cleanUp();
    }
  }, 30_000);
});
