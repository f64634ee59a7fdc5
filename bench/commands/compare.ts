/**
 * The command path of this working tree against another commit's, taking turns: on a shared 2-core host the
 * same code's CPU per registration moves by half between runs minutes apart, so a change is measured only
 * against a baseline run beside it, round after round.
 *
 *   npm run bench:commands:compare -- --against REV [--command register --rate 150 --rounds 3 --seconds 3
 *     --open-seconds 10 --json]
 *
 * REV (a commit, branch or tag) is checked out into a temporary worktree sharing this tree's node_modules
 * (say so when its package-lock.json differs: the comparison then runs REV with these dependencies), and
 * must have `bench:commands` with the open loop's machine CPU. Each round runs, in REV then here, the
 * closed loop of `--command` (register, change or post) at 32 connections for `--seconds` (3) and the open loop
 * of registration at `--rate`, one process on
 * PostgreSQL (bench/commands/main.ts: DATABASE_URL, NATS_URL). Prints each run and the medians.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    against: { type: 'string' },
    rate: { type: 'string', default: '150' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    command: { type: 'string', default: 'register' },
    'open-seconds': { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
  },
});
if (!args.against) {
  process.stderr.write('--against REV is required: the commit to compare this working tree with\n');
  process.exit(2);
}
const rounds = Number(args.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write(`--rounds ${args.rounds}: use a whole number of rounds, 1 or more\n`);
  process.exit(2);
}
const log = (line: string) => (args.json ? process.stderr : process.stdout).write(`${line}\n`);
const here = resolve(import.meta.dirname, '../..');

interface Run {
  side: 'against' | 'here';
  closedRequestsPerSecond: number;
  openP50: number;
  openP99: number;
  machineCpuMsPerRequest: number;
}

/** One run of bench/commands/main.ts in `dir`, its JSON summary read back. */
function runIn(dir: string, side: Run['side']): Promise<Run> {
  const bench = [
    ...['--json', '--stores', 'postgres', '--connections', '32', '--layouts', 'one-process'],
    ...['--commands', args.command, '--seconds', args.seconds, '--warmup', '1'],
    ...['--rate', args.rate, '--open-seconds', args['open-seconds']],
  ];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(join(here, 'node_modules/.bin/tsx'), ['bench/commands/main.ts', ...bench], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0)
        return reject(new Error(`the bench in ${dir} exited with ${code}:\n${err.slice(-2_000)}`));
      const summary = JSON.parse(out.trim().split('\n').at(-1)!) as {
        cells: { layout: string; requestsPerSecond: number }[];
        openLoop: { register: { p50: number; p99: number; machineCpuMsPerRequest?: number } }[];
      };
      const open = summary.openLoop[0]?.register;
      if (open?.machineCpuMsPerRequest === undefined) {
        return reject(
          new Error(`the bench in ${dir} reports no machine CPU per request: take a later commit`),
        );
      }
      resolvePromise({
        side,
        closedRequestsPerSecond: summary.cells.find((cell) => cell.layout !== 'bare')!.requestsPerSecond,
        openP50: open.p50,
        openP99: open.p99,
        machineCpuMsPerRequest: open.machineCpuMsPerRequest,
      });
    });
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function main() {
  const revision = execFileSync('git', ['rev-parse', '--short', `${args.against}^{commit}`], { cwd: here })
    .toString()
    .trim();
  const worktree = join(await mkdtemp(join(tmpdir(), 'focal-compare-')), revision);
  execFileSync('git', ['worktree', 'add', '--detach', worktree, revision], { cwd: here, stdio: 'ignore' });
  try {
    await symlink(join(here, 'node_modules'), join(worktree, 'node_modules'));
    const locks = await Promise.all([here, worktree].map((dir) => readFile(join(dir, 'package-lock.json'))));
    if (!locks[0]!.equals(locks[1]!)) {
      log(`note: ${revision}'s package-lock.json differs; it runs with this tree's node_modules`);
    }
    const runs: Run[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const [side, dir] of [
        ['against', worktree],
        ['here', here],
      ] as const) {
        const run = await runIn(dir, side);
        runs.push(run);
        log(
          `round ${round}, ${side === 'here' ? 'this tree' : revision}: closed ${run.closedRequestsPerSecond} req/s; ` +
            `open ${args.rate}/s p50 ${run.openP50} ms p99 ${run.openP99} ms; machine CPU ${run.machineCpuMsPerRequest} ms a registration`,
        );
      }
    }
    const medians = (side: Run['side']) => {
      const mine = runs.filter((run) => run.side === side);
      return {
        closedRequestsPerSecond: median(mine.map((run) => run.closedRequestsPerSecond)),
        openP99: median(mine.map((run) => run.openP99)),
        machineCpuMsPerRequest: median(mine.map((run) => run.machineCpuMsPerRequest)),
      };
    };
    const summary = {
      against: revision,
      rate: Number(args.rate),
      rounds,
      runs,
      medians: { against: medians('against'), here: medians('here') },
    };
    log(
      `medians: ${revision} ${JSON.stringify(summary.medians.against)}; this tree ${JSON.stringify(summary.medians.here)}`,
    );
    if (args.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', worktree], { cwd: here, stdio: 'ignore' });
    await rm(resolve(worktree, '..'), { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  },
);
