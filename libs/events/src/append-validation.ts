import type { JsonObject, NewEvent, Visibility } from './envelope.js';
import { InvalidAppendError, type ExpectedVersion } from './errors.js';
import { assertJsonValue } from './json.js';
import type { EventSchemas } from './upcasting.js';

const STREAM_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9._-]{0,99}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Positions reserve 16 bits for an event's place in its append (see sql/migrations.ts). */
export const MAX_EVENTS_PER_APPEND = 65_536;

/** An event checked and normalised for storage: ids lower-case, schema version resolved. */
export interface ValidatedEvent {
  eventId: string;
  type: string;
  schemaVersion: number;
  data: JsonObject;
  metadata: JsonObject;
  visibility: Visibility;
}

export function assertStreamId(streamId: unknown): asserts streamId is string {
  if (typeof streamId !== 'string' || !STREAM_ID.test(streamId)) {
    throw new InvalidAppendError(
      `stream id ${JSON.stringify(streamId)} is not valid: use 1 to 200 letters, digits, '.', '_', ':' or '-', ` +
        'starting with a letter or digit (for example contact-point-<uuid>)',
    );
  }
}

export function assertExpectedVersion(expected: unknown): asserts expected is ExpectedVersion {
  if (expected === 'any' || expected === 'no-stream' || expected === 'stream-exists') return;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) return;
  throw new InvalidAppendError(
    `expected version ${JSON.stringify(expected)} is not valid: use a version number (0 or more), ` +
      "'no-stream', 'stream-exists' or 'any'",
  );
}

/** Checks an append before anything is written; throws InvalidAppendError naming the first problem. */
export function validateAppend(
  streamId: string,
  events: readonly NewEvent[],
  expectedVersion: ExpectedVersion,
  schemas: EventSchemas,
): ValidatedEvent[] {
  assertStreamId(streamId);
  assertExpectedVersion(expectedVersion);
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidAppendError(`append to ${streamId} has no events: pass at least one`);
  }
  if (events.length > MAX_EVENTS_PER_APPEND) {
    throw new InvalidAppendError(
      `append to ${streamId} has ${events.length} events; at most ${MAX_EVENTS_PER_APPEND} fit in one append: split it`,
    );
  }
  const seen = new Set<string>();
  return events.map((event, index) => {
    const at = `events[${index}]`;
    if (typeof event !== 'object' || event === null)
      throw new InvalidAppendError(`${at} is not an event object`);
    if (typeof event.eventId !== 'string' || !UUID.test(event.eventId)) {
      throw new InvalidAppendError(`${at}.eventId ${JSON.stringify(event.eventId)} is not a UUID`);
    }
    const eventId = event.eventId.toLowerCase();
    if (seen.has(eventId))
      throw new InvalidAppendError(`${at}.eventId ${eventId} appears twice in one append`);
    seen.add(eventId);
    if (typeof event.type !== 'string' || !EVENT_TYPE.test(event.type)) {
      throw new InvalidAppendError(
        `${at}.type ${JSON.stringify(event.type)} is not valid: use a name such as ContactPointRegistered`,
      );
    }
    const current = schemas.currentVersion(event.type);
    const schemaVersion = event.schemaVersion ?? current;
    if (!Number.isInteger(schemaVersion) || schemaVersion < 1 || schemaVersion > current) {
      throw new InvalidAppendError(
        `${at}.schemaVersion ${String(schemaVersion)} is not known for ${event.type}: ` +
          `this build writes versions 1 to ${current}`,
      );
    }
    assertPlainObject(event.data, `${at}.data`);
    assertPlainObject(event.metadata, `${at}.metadata`);
    assertJsonValue(event.data, `${at}.data`);
    assertJsonValue(event.metadata, `${at}.metadata`);
    assertVisibility(event.visibility, `${at}.visibility`);
    return {
      eventId,
      type: event.type,
      schemaVersion,
      data: event.data,
      metadata: event.metadata as unknown as JsonObject,
      visibility: event.visibility,
    };
  });
}

function assertPlainObject(value: unknown, path: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidAppendError(`${path} must be a JSON object`);
  }
}

function assertVisibility(value: unknown, path: string): asserts value is Visibility {
  const visibility = value as Partial<{ level: unknown; participants: unknown; closed: unknown }> | null;
  const level = visibility?.level;
  if (level === 'open' || level === 'closed') return;
  if (
    level === 'restricted' &&
    Array.isArray(visibility?.participants) &&
    visibility.participants.every((participant) => typeof participant === 'string') &&
    (visibility.closed === undefined || typeof visibility.closed === 'boolean')
  ) {
    return;
  }
  throw new InvalidAppendError(
    `${path} must be {level: 'open'}, {level: 'closed'} or ` +
      `{level: 'restricted', participants: string[], closed?: boolean}`,
  );
}
