/**
 * Typed errors of the event store. Each has a stable `code` and a message that says what went wrong and
 * what to do, so the layers above can map them to problem details without parsing text.
 */
export abstract class EventStoreError extends Error {
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export type ExpectedVersion = number | 'no-stream' | 'stream-exists' | 'any';

/** The stream was not at the version the caller expected: someone else appended first. */
export class WrongExpectedVersionError extends EventStoreError {
  readonly code = 'event-store/wrong-expected-version';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    /** The stream's current version; 0 when the stream does not exist. */
    readonly actual: number,
  ) {
    super(
      `stream ${streamId} is at version ${actual === 0 ? '0 (no stream)' : actual}, not ${describe(expected)}: ` +
        'read the stream again, decide again and retry',
    );
  }
}

function describe(expected: ExpectedVersion): string {
  if (expected === 'no-stream') return 'absent as expected (no-stream)';
  if (expected === 'stream-exists') return 'existing as expected (stream-exists)';
  return `at the expected version ${String(expected)}`;
}

/** An event id that is already stored, but not as the same event at the same place. */
export class DuplicateEventIdError extends EventStoreError {
  readonly code = 'event-store/duplicate-event-id';
  constructor(
    readonly eventId: string,
    readonly reason: string,
  ) {
    super(`event id ${eventId} is already stored ${reason}: give a new event a new id`);
  }
}

/** The append itself is malformed; nothing was written. */
export class InvalidAppendError extends EventStoreError {
  readonly code = 'event-store/invalid-append';
}

/** A position string that this store did not issue or cannot parse. */
export class InvalidPositionError extends EventStoreError {
  readonly code = 'event-store/invalid-position';
  constructor(
    readonly value: string,
    expected: string,
  ) {
    super(`position ${JSON.stringify(value)} does not parse: expected ${expected}`);
  }
}

/** An event was read whose schema version has no upcaster path to the current version. */
export class UpcastError extends EventStoreError {
  readonly code = 'event-store/upcast-failed';
}

/** A read with arguments that make no sense (a bad limit or version). */
export class InvalidReadError extends EventStoreError {
  readonly code = 'event-store/invalid-read';
}

/**
 * Events committed before a read are still hidden from readers behind a transaction that stays open (see
 * `untilReadable`): a read that must include everything committed so far refuses rather than answer partially.
 */
export class LogNotReadableError extends EventStoreError {
  readonly code = 'event-store/not-readable-yet';
  constructor(waitedMs: number) {
    super(
      `events committed before this read are still hidden behind a transaction open for more than ${waitedMs} ms: ` +
        'try again in a moment',
    );
  }
}

/**
 * Network and server codes of a store that cannot be reached or dropped the connection: the socket's
 * (refused, reset, timed out), and PostgreSQL's connection exceptions (class 08), shutdowns (57P01 admin,
 * 57P02 crash, 57P03 starting up) and a full connection table (53300).
 */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

/** What `pg` says, without a code, when the connection ends under a query or cannot be made in time. */
const UNREACHABLE_MESSAGES =
  /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Query read timeout/i;

/**
 * Whether an error says that the store could not be reached, rather than that it refused the request: the
 * caller should answer "unavailable, try again" (503), never "internal error". A driver's error is judged by
 * its code, then its message; a wrapped one by its cause.
 */
export function isStoreUnreachable(error: unknown): boolean {
  for (let at = error, depth = 0; at && depth < 4; at = (at as { cause?: unknown }).cause, depth++) {
    const code = (at as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || code.startsWith('08'))) return true;
    const message = (at as { message?: unknown }).message;
    if (typeof message === 'string' && UNREACHABLE_MESSAGES.test(message)) return true;
  }
  return false;
}
