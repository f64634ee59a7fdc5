import { z } from 'zod';

import { readSecret } from './secrets.js';

/*
 * A process's configuration is one zod schema over its environment: each key of the schema is a setting, read
 * from the variable of that name or, through `reading`, from several (a store and its URLs, a secret and its
 * file), with its default stated once, where it is parsed. A bad setting is an issue whose message names the
 * variable and its fix; parsing goes on past it, so a start names every problem at once, in the schema's order.
 */

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type Env = NodeJS.ProcessEnv;

/** The variables a setting reads together, by name. */
export type Vars = Partial<Record<string, string>>;

const READS = new WeakMap<object, readonly string[]>();

/** A setting that reads several variables: its schema is given them as an object, by name. */
export function reading<S extends z.ZodType>(names: readonly string[], schema: S): S {
  READS.set(schema, names);
  return schema;
}

/** The schema of an environment with these settings. */
export function envSchema<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.preprocess(
    (env) =>
      Object.fromEntries(
        Object.entries(shape).map(([key, schema]) => {
          const names = READS.get(schema);
          const vars = env as Env;
          return [key, names ? Object.fromEntries(names.map((name) => [name, vars[name]])) : vars[key]];
        }),
      ),
    z.object(shape),
  );
}

/** The environment parsed, or a ConfigError naming every problem. */
export function parseEnv<T>(schema: z.ZodType<T>, env: Env): T {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => issue.message));
  return parsed.data;
}

/** Where a setting's problems go: its transform's context, or a list (see `into`). */
export interface Problems {
  addIssue(issue: { code: 'custom'; message: string }): void;
}

/** Problems collected into a list, for checks run outside a schema (a CLI's, a test's). */
export const into = (problems: string[]): Problems => ({
  addIssue: ({ message }) => problems.push(message),
});

/** Inside a setting's transform: one problem, named with its fix. */
export function problem(ctx: Problems, message: string) {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

/** A variable's value as given (undefined when unset). */
export const variable = () => z.string().optional();

/** A whole number, at least `least`, `fallback` when unset; a bad one is named with its `unit`. */
export const whole = (name: string, fallback: number, least: number, unit: string) =>
  variable().transform((raw, ctx) => {
    const value = Number(raw ?? fallback);
    if (!Number.isInteger(value) || value < least)
      return problem(ctx, `${name}=${raw} must be a whole number of ${unit}, at least ${least}`);
    return value;
  });

/** A comma-separated list, its items trimmed and empty ones left out. */
export const listOf = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/**
 * A secret from `NAME`, or from the file named by `NAME_FILE` (see readSecret); undefined when neither gives
 * one: a file that cannot be read is a problem, and so is neither set when `missing` says why it is needed.
 */
export function secretOf(vars: Vars, name: string, ctx: Problems, missing?: string): string | undefined {
  const problems: string[] = [];
  const secret = readSecret(vars, name, problems);
  for (const message of problems) problem(ctx, message);
  if (secret === undefined && problems.length === 0 && missing) problem(ctx, missing);
  return secret;
}

/** The variables that hold a secret: `NAME` and `NAME_FILE`. */
export const secretVars = (name: string) => [name, `${name}_FILE`];
