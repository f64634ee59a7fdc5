import type { LoggerService, LogLevel } from '@nestjs/common';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';

/**
 * Fields that name or reach a person, or unlock something, wherever they sit in a logged object (up to three
 * levels deep: a log line never carries a whole command, but a careless `{ command }` must still not leak).
 */
const PERSONAL_OR_SECRET = [
  'fullName',
  'email',
  'phone',
  'notes',
  'personal',
  'personalChanges',
  'authorization',
  'cookie',
  'set-cookie',
  'token',
  'accessToken',
  'secret',
  'password',
];
export const REDACTED_PATHS = PERSONAL_OR_SECRET.flatMap((field) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(field) ? field : `["${field}"]`;
  const at = (prefix: string) => (key.startsWith('[') ? `${prefix}${key}` : `${prefix}.${key}`);
  return [key, at('*'), at('*.*'), at('*.*.*')];
});

/** Nest's levels, least severe first, with pino's name for each. */
const LEVELS: readonly (readonly [LogLevel, Level])[] = [
  ['verbose', 'trace'],
  ['debug', 'debug'],
  ['log', 'info'],
  ['warn', 'warn'],
  ['error', 'error'],
  ['fatal', 'fatal'],
];

/** Pino's threshold for a list of Nest levels: the least severe one listed (Nest's lists are contiguous). */
function thresholdOf(levels: readonly LogLevel[]): Level {
  return LEVELS.find(([nest]) => levels.includes(nest))?.[1] ?? 'fatal';
}

const NEST_START_CHATTER: ReadonlySet<unknown> = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestMicroservice',
]);

/**
 * Nest's logger interface over pino: Nest and our code log through it, and Fastify logs through `pino` (the
 * same stream, the same redaction). A trailing string argument is Nest's context; an object message becomes
 * the line's fields (its `msg`, if any, the message).
 */
export class ProcessLogger implements LoggerService {
  constructor(readonly pino: Logger) {}

  log(message: unknown, ...params: unknown[]) {
    // Nest's account of its own start (a line per module and per route mapped): some eighty lines that bury
    // what a start says. Its warnings and errors still go through.
    if (NEST_START_CHATTER.has(params.at(-1) as string)) return;
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]) {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]) {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]) {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]) {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]) {
    this.write('fatal', message, params);
  }
  setLogLevels(levels: LogLevel[]) {
    this.pino.level = thresholdOf(levels);
  }

  private write(level: Level, message: unknown, params: unknown[]) {
    if (!this.pino.isLevelEnabled(level)) return;
    const rest = [...params];
    const context = rest.length > 0 && typeof rest.at(-1) === 'string' ? (rest.pop() as string) : undefined;
    const fields: Record<string, unknown> = context ? { context } : {};
    // Nest's error(message, stack, context): the stack is the string left after the context.
    if (level === 'error' && typeof rest[0] === 'string') fields.stack = rest[0];
    if (message instanceof Error) {
      this.pino[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      const { msg, ...data } = message as Record<string, unknown>;
      this.pino[level]({ ...fields, ...data }, typeof msg === 'string' ? msg : '');
    } else {
      this.pino[level](fields, String(message));
    }
  }
}

/**
 * The one place that builds a process's logger: JSON lines (pino) on stdout, or on `destination`, each with
 * `service`, `level` (by name), `time` (ISO) and `msg`; personal fields and secrets read `[redacted]`.
 * `levels` are Nest's (['error', 'fatal'] for a quiet test); everything from `log` up by default.
 */
export function jsonLogger(
  service: string,
  levels?: readonly LogLevel[],
  destination?: DestinationStream,
): ProcessLogger {
  const options = {
    base: { service },
    level: levels ? thresholdOf(levels) : 'info',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return new ProcessLogger(destination ? pino(options, destination) : pino(options));
}
