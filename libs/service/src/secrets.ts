import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { LocalKeyring } from '@focal/events';

/**
 * A secret from `NAME`, or from the file named by `NAME_FILE`; undefined when neither is set. A file that
 * cannot be read is a problem named in `problems`.
 */
export function readSecret(env: NodeJS.ProcessEnv, name: string, problems: string[]): string | undefined {
  const value = env[name];
  if (value !== undefined && value !== '') return value;
  const file = env[`${name}_FILE`];
  if (file === undefined || file === '') return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    problems.push(
      `${name}_FILE=${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}): ` +
        'give the path of a file only this user may read',
    );
    return undefined;
  }
}

/** Where the embedded store keeps its data when FOCAL_DATA_DIR does not say. */
export const DEFAULT_DATA_DIR = './data';

/** Where `npm start` keeps the secrets it made for a data directory. */
export const secretsDirOf = (dataDir: string) => join(dataDir, 'secrets');

const GENERATED = {
  FOCAL_JWT_SECRET: { file: 'jwt-secret', make: () => randomBytes(48).toString('base64url') },
  FOCAL_CHECKPOINT_SIGNING_KEY: {
    file: 'checkpoint-signing-key.pem',
    make: () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  },
  FOCAL_MASTER_KEY: { file: 'master.key', make: () => `${LocalKeyring.newLine()}\n` },
} as const;

/**
 * For `npm start` alone: the secrets of its data directory, made on first start (the directory readable by
 * its owner only, each file 0600) and reused on every later one. Returns `<NAME>_FILE` settings for those not
 * configured otherwise, to merge into the environment before the configuration is read. No other way of
 * starting makes secrets: each refuses to run without configured ones.
 */
export function generatedSecrets(dataDir: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const dir = secretsDirOf(dataDir);
  const settings: Record<string, string> = {};
  for (const [name, { file, make }] of Object.entries(GENERATED)) {
    if (env[name] || env[`${name}_FILE`]) continue;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const path = join(dir, file);
    if (!existsSync(path)) writeFileSync(path, make(), { mode: 0o600, flag: 'wx' });
    settings[`${name}_FILE`] = path;
  }
  return settings;
}

/**
 * The HS256 secret for tools that sign development tokens (`npm run token`, `npm run seed`): the configured
 * one, or the one `npm start` made in the data directory.
 */
export function tokenSecret(env: NodeJS.ProcessEnv = process.env): string {
  const problems: string[] = [];
  const configured = readSecret(env, 'FOCAL_JWT_SECRET', problems);
  if (configured) return configured;
  if (problems.length > 0) throw new Error(problems.join('; '));
  const generated = join(
    secretsDirOf(env.FOCAL_DATA_DIR || DEFAULT_DATA_DIR),
    GENERATED.FOCAL_JWT_SECRET.file,
  );
  if (existsSync(generated)) return readFileSync(generated, 'utf8').trim();
  // A tester ran npm start with FOCAL_DATA_DIR set and this without it: the message named ./data alone.
  const dataDir = env.FOCAL_DATA_DIR
    ? `FOCAL_DATA_DIR=${env.FOCAL_DATA_DIR}`
    : `the data directory ${DEFAULT_DATA_DIR} (FOCAL_DATA_DIR is not set: if npm start ran with it, set it here too)`;
  throw new Error(
    `no token secret: set FOCAL_JWT_SECRET (or FOCAL_JWT_SECRET_FILE), or start Focal once with npm start, ` +
      `which makes one in ${generated}; none is there in ${dataDir}`,
  );
}

/** Where `npm start` keeps the NATS namespace it chose for a data directory (not a secret). */
export const namespaceFileOf = (dataDir: string) => join(dataDir, 'nats-namespace');

/**
 * For `npm start` alone, when FOCAL_NATS_NAMESPACE is not set: a namespace of the data directory's own, made
 * on first start and reused. Two `npm start`s on one NATS server (two checkouts, two data directories) would
 * otherwise join the same queue groups and answer each other's commands into the wrong store.
 */
export function generatedNamespace(dataDir: string, env: NodeJS.ProcessEnv): Record<string, string> {
  if (env.FOCAL_NATS_NAMESPACE) return {};
  const file = namespaceFileOf(dataDir);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    try {
      writeFileSync(file, `focal-${randomBytes(6).toString('hex')}\n`, { flag: 'wx' });
    } catch (error) {
      // Another start made it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return { FOCAL_NATS_NAMESPACE: readFileSync(file, 'utf8').trim() };
}

/**
 * The namespace of the system the tools (`npm run seed`) talk to over NATS: FOCAL_NATS_NAMESPACE, or the one
 * `npm start` chose for the data directory, or none.
 */
export function toolNamespace(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.FOCAL_NATS_NAMESPACE) return env.FOCAL_NATS_NAMESPACE;
  const file = namespaceFileOf(env.FOCAL_DATA_DIR || DEFAULT_DATA_DIR);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

/**
 * For the tools (`npm run audit`): the secrets `npm start` made in the data directory, as `<NAME>_FILE`
 * settings, for those not configured otherwise and only if they exist (a tool never makes one).
 */
export function startSecrets(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const dir = secretsDirOf(env.FOCAL_DATA_DIR || DEFAULT_DATA_DIR);
  const settings: Record<string, string> = {};
  for (const [name, { file }] of Object.entries(GENERATED)) {
    if (env[name] || env[`${name}_FILE`] || !existsSync(join(dir, file))) continue;
    settings[`${name}_FILE`] = join(dir, file);
  }
  return settings;
}
