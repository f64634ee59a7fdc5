import { generateKeyPairSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';

import {
  AuditRefusedError,
  AuditTrail,
  DirectorySnapshots,
  loadCheckpointSigner,
  recordAuditRead,
} from '@focal/audit';
import type { Actor } from '@focal/domain';
import {
  CheckpointSigner,
  LocalKeyring,
  parseCheckpoint,
  readCheckpoints,
  sealAll,
  type LogCheckpoint,
  type Position,
} from '@focal/events';
import {
  ConfigError,
  loadServiceConfig,
  openPersistence,
  startSecrets,
  type Persistence,
} from '@focal/service';

import { progressBar } from './progress.js';

const USAGE = `usage: npm run audit -- <command>

  export --out <file.ndjson> [--from <position|ISO time>] [--to <position|ISO time>]
                                   the log as NDJSON, personal fields readable unless erased
  verify [--against <checkpoint file>]
                                   recompute every hash chain and checkpoint; with --against, also prove the
                                   log still holds what an exported checkpoint sealed (exit 1 when not)
  checkpoint seal                  seal every event not yet sealed (the gateway also seals periodically)
  checkpoint export --out <file>   write the latest signed checkpoint, with the chain before it, to keep
                                   outside the store
  as-of <ISO time> [--out <file>]  the directory as it stood at that instant, as JSON
  history <streamId>               one entity's history: who, when, which command, what changed
  keygen                           a new Ed25519 key for FOCAL_CHECKPOINT_SIGNING_KEY, and its public key
  keys new                         a new master key, as a line for the FOCAL_MASTER_KEY_FILE keyring
  keys rotate                      wrap every data key under the keyring's first (current) key; resumable;
                                   afterwards the retired keys below it can be removed from the file

Configuration as for the services (FOCAL_STORE, DATABASE_URL, FOCAL_DATA_DIR, FOCAL_CHECKPOINT_SIGNING_KEY, ...).`;

class UsageError extends Error {}

const EXPORT_FORMAT = 'focal-checkpoints/1';

/** Who is reading: audit reads from the command line are recorded too. */
const reader: Actor = { principal: `cli:${userInfo().username}`, role: 'auditor' };

type Bound = { position: bigint } | { time: number };

function bound(name: string, value: string | undefined): Bound | undefined {
  if (value === undefined) return undefined;
  if (/^[0-9]{1,19}$/.test(value)) return { position: BigInt(value) };
  const time = Date.parse(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(time)) return { time };
  throw new UsageError(`--${name} ${value} is neither a position (digits) nor an ISO 8601 time`);
}

async function totalEvents(persistence: Persistence): Promise<number | undefined> {
  if (loadServiceConfig().store.kind === 'eventstoredb') return undefined;
  const [row] = await persistence.sql.query<{ count: string }>(
    'SELECT count(*)::text AS count FROM focal_events',
  );
  return Number(row!.count);
}

/** Checks the arguments of `export` before anything is opened; returns the export to run. */
function exportLog(options: { out?: string; from?: string; to?: string }) {
  if (!options.out) throw new UsageError('export needs --out <file.ndjson>');
  const out = options.out;
  const from = bound('from', options.from);
  const to = bound('to', options.to);
  return (persistence: Persistence) => runExport(persistence, { ...options, out }, from, to);
}

async function runExport(
  persistence: Persistence,
  options: { out: string; from?: string; to?: string },
  from: Bound | undefined,
  to: Bound | undefined,
) {
  const { store } = persistence;
  const after: Position | undefined =
    from && 'position' in from && from.position > 0n
      ? store.parsePosition(String(from.position - 1n))
      : undefined;
  const lines = await auditTrail(persistence).events(
    reader,
    `export ${options.from ?? ''}..${options.to ?? ''}`,
    after ? { after } : {},
  );
  const partial = `${options.out}.partial`;
  // The export holds personal data: readable by its owner only, whatever the umask.
  const file = createWriteStream(partial, { mode: 0o600 });
  const bar = progressBar('events read');
  const total = await totalEvents(persistence);
  let read = 0;
  let written = 0;
  try {
    for await (const line of lines) {
      read++;
      if (read % 2_000 === 0) bar.update(read, total);
      if (to && 'position' in to && BigInt(line.position) > to.position) break;
      const time = Date.parse(line.recordedAt);
      if ((from && 'time' in from && time < from.time) || (to && 'time' in to && time > to.time)) continue;
      if (!file.write(`${JSON.stringify(line)}\n`)) {
        await new Promise<void>((resolve) => file.once('drain', () => resolve()));
      }
      written++;
    }
    bar.update(read, total);
    await new Promise<void>((resolve, reject) =>
      file.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    // Written aside and renamed at the end: a file under the asked name is always a complete export.
    await rename(partial, options.out);
  } catch (error) {
    file.destroy();
    await rm(partial, { force: true });
    throw error;
  } finally {
    bar.end();
  }
  console.log(`${written} events written to ${options.out}`);
}

/** The snapshots the gateway took in this database, if any (as-of replays the whole log otherwise). */
const directorySnapshots = (persistence: Persistence) =>
  new DirectorySnapshots(persistence.store, persistence.sql, persistence.keys, { every: 20_000 });

function auditTrail(persistence: Persistence, snapshots = directorySnapshots(persistence)): AuditTrail {
  return new AuditTrail(persistence.store, persistence.keys, snapshots);
}

async function readExport(path: string): Promise<LogCheckpoint[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(
      `--against ${path} cannot be read as JSON (${(error as Error).message}): give a file written by ` +
        '`npm run audit -- checkpoint export`',
    );
  }
  const file = parsed as { format?: unknown; checkpoints?: unknown };
  if (file.format !== EXPORT_FORMAT || !Array.isArray(file.checkpoints) || file.checkpoints.length === 0) {
    throw new UsageError(`--against ${path} is not a checkpoint export (format ${EXPORT_FORMAT})`);
  }
  try {
    return file.checkpoints.map((checkpoint, index) =>
      parseCheckpoint(checkpoint, `${path}, checkpoint ${index + 1}`),
    );
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function verify(persistence: Persistence, options: { against?: string }, against?: LogCheckpoint[]) {
  const problems: string[] = [];
  const signing = loadCheckpointSigner(process.env, problems);
  if (!signing) throw new ConfigError(problems);
  const total = await totalEvents(persistence);
  let bar = progressBar('events: hash chains');
  // The checkpoints cover the sealed part of the log only: that phase counts, without a share of the whole.
  let phaseTotal: number | undefined = total;
  const report = await auditTrail(persistence).verify(
    reader,
    `verify${options.against ? ' --against' : ''}`,
    {
      trustedKeys: signing.trustedKeys,
      ...(against ? { against } : {}),
      onPhase: (phase) => {
        if (phase === 'checkpoints') {
          bar.end();
          bar = progressBar('events sealed: checkpoints');
          phaseTotal = undefined;
        }
      },
      onProgress: (checked) => bar.update(checked, phaseTotal),
    },
  );
  bar.end();
  if (report.ok) {
    console.log(
      `intact: ${report.checked} events, every hash chain and ${report.checkpoints} checkpoint(s) verified` +
        (against
          ? `; the log still holds everything the exported checkpoint ${against.at(-1)!.seq} sealed`
          : ''),
    );
    return 0;
  }
  const failure = report.firstFailure;
  console.log(
    `NOT INTACT at ${failure.position !== undefined ? `position ${failure.position}` : 'the place below'}: ${failure.problem}`,
  );
  console.log(JSON.stringify(report, null, 2));
  return 1;
}

/** Checks the arguments of `checkpoint` before anything is opened. */
function checkAction(action: string | undefined, options: { out?: string }): void {
  if (action === 'export' && !options.out) throw new UsageError('checkpoint export needs --out <file>');
  if (action !== 'seal' && action !== 'export') {
    throw new UsageError(
      `checkpoint ${action ?? ''}: use \`checkpoint seal\` or \`checkpoint export --out <file>\``,
    );
  }
}

async function checkpoint(persistence: Persistence, action: string | undefined, options: { out?: string }) {
  if (action === 'seal') {
    const problems: string[] = [];
    const signing = loadCheckpointSigner(process.env, problems);
    if (!signing) throw new ConfigError(problems);
    const bar = progressBar('events sealed');
    const latest = await sealAll(persistence.store, signing.signer, 10_000, (sealed) => bar.update(sealed));
    bar.end();
    console.log(
      latest ? `sealed up to position ${latest.lastPosition} (checkpoint ${latest.seq})` : 'the log is empty',
    );
    return;
  }
  if (action === 'export' && options.out) {
    const chain = (await readCheckpoints(persistence.store)).map(({ checkpoint: sealed }) => sealed);
    if (chain.length === 0) {
      throw new UsageError(
        'the log has no checkpoint yet: run `npm run audit -- checkpoint seal`, or wait for the gateway to seal one',
      );
    }
    await recordAuditRead(persistence.store, reader, 'checkpoint export');
    const latest = chain.at(-1)!;
    await writeFile(
      options.out,
      `${JSON.stringify({ format: EXPORT_FORMAT, exportedAt: new Date().toISOString(), latest, checkpoints: chain }, null, 2)}\n`,
    );
    console.log(
      `checkpoint ${latest.seq} (events up to position ${latest.lastPosition}, sealed ${latest.sealedAt}) and the ` +
        `${chain.length - 1} before it written to ${options.out}: keep it outside the store`,
    );
  }
}

async function main(argv: string[]): Promise<number> {
  // After npm start, its data directory's secrets, as `npm run token` and `npm run seed` find them.
  Object.assign(process.env, startSecrets());
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      against: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, argument, ...rest] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (command === 'keys' && argument === 'new' && rest.length === 0) {
    console.log(LocalKeyring.newLine());
    console.error(
      'put it first in the keyring file (FOCAL_MASTER_KEY_FILE, readable by the services only), keep the old ' +
        'key below it, then run: npm run audit -- keys rotate',
    );
    return 0;
  }
  if (command === 'keygen') {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    process.stdout.write(pem);
    console.error(
      `public key (for FOCAL_CHECKPOINT_TRUSTED_KEYS and auditors): ${CheckpointSigner.fromPem(pem).publicKey}`,
    );
    return 0;
  }
  const takesArgument =
    command === 'as-of' || command === 'history' || command === 'checkpoint' || command === 'keys';
  if (rest.length > 0 || (!takesArgument && argument !== undefined)) {
    throw new UsageError(`unexpected argument ${[argument, ...rest].filter(Boolean).join(' ')}`);
  }
  // Each command checks its arguments before the store is opened: a mistake is told at once, and does not
  // need the store (which on PGlite a running `npm start` holds).
  type Run = (persistence: Persistence) => Promise<number | void>;
  const commands: Record<string, () => Promise<Run>> = {
    export: async () => exportLog(values),
    verify: async () => {
      const against = values.against ? await readExport(values.against) : undefined;
      return (persistence) => verify(persistence, values, against);
    },
    checkpoint: async () => {
      checkAction(argument, values);
      return (persistence) => checkpoint(persistence, argument, values);
    },
    'as-of': async () => {
      const instant = argument && /^\d{4}-\d{2}-\d{2}/.test(argument) ? new Date(argument) : undefined;
      if (!instant || Number.isNaN(instant.getTime())) {
        throw new UsageError(
          `as-of needs an ISO 8601 time, e.g. 2024-01-01T00:00:00Z (got ${argument ?? 'nothing'})`,
        );
      }
      return (persistence) => asOf(persistence, instant);
    },
    history: async () => {
      if (!argument) throw new UsageError('history needs a stream id, e.g. contact-point-<id>');
      return (persistence) => showHistory(persistence, argument);
    },
    keys: async () => {
      if (argument !== 'rotate') throw new UsageError('keys: use `keys new` or `keys rotate`');
      return async (persistence) => {
        const bar = progressBar('data keys wrapped again');
        const done = await persistence.keys.rewrapAll((wrapped, remaining) =>
          bar.update(wrapped, wrapped + remaining),
        );
        bar.end();
        console.log(
          `${done} data key(s) wrapped under the current master key; the retired keys below it in the keyring ` +
            'can now be removed',
        );
      };
    },
  };
  const asOf = async (persistence: Persistence, instant: Date) => {
    const snapshots = directorySnapshots(persistence);
    await snapshots.setUp();
    const directory = await auditTrail(persistence, snapshots).directoryAsOf(
      reader,
      `as-of ${argument}`,
      instant,
    );
    const text = `${JSON.stringify(directory, null, 2)}\n`;
    if (values.out) {
      await writeFile(values.out, text, { mode: 0o600 }); // personal data
      console.log(`the directory as of ${instant.toISOString()} written to ${values.out}`);
    } else process.stdout.write(text);
  };
  const showHistory = async (persistence: Persistence, argument: string) => {
    const changes = await auditTrail(persistence).history(reader, argument);
    process.stdout.write(`${JSON.stringify(changes, null, 2)}\n`);
  };
  const prepare = commands[command];
  if (!prepare) throw new UsageError(`unknown command ${command}`);
  const run = await prepare();
  const persistence = await openPersistence(loadServiceConfig());
  try {
    return (await run(persistence)) ?? 0;
  } finally {
    await persistence.close();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (
    error instanceof UsageError ||
    (error instanceof AuditRefusedError && error.reason !== 'secretariat-and-auditors-only') ||
    (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
  ) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}
