import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

import {
  conflict,
  DomainError,
  fold,
  principalKey,
  type Decider,
  type DomainErrorCode,
  type DomainEvent,
} from '@focal/domain';
import { v5 as uuidV5 } from 'uuid';

import type { EventMetadata, JsonObject, RecordedEvent } from '../envelope.js';
import { DuplicateEventIdError, WrongExpectedVersionError } from '../errors.js';
import type { EventStore } from '../event-store.js';

/** How stored events become domain events and back: identity, or personal fields encrypted (see keys/). */
export interface EventCodec {
  encode(streamId: string, events: readonly DomainEvent[], attempt?: CodecAttempt): Promise<JsonObject[]>;
  decode(streamId: string, events: readonly RecordedEvent[], attempt?: CodecAttempt): Promise<DomainEvent[]>;
}

/**
 * One attempt at a command, across its decode and its encode: what the decode learnt (the keys it found)
 * serves the encode, so that a command reads each key once.
 */
export interface CodecAttempt {
  /** The stream is taken to be new (not read): keys are made without looking for them first. */
  readonly newStream: boolean;
  /** Subject → data key, found by this attempt's decode or made by its encode. */
  readonly keys: Map<string, Buffer>;
}

export const plainCodec: EventCodec = {
  encode: async (_streamId, events) => events.map((event) => event.data as JsonObject),
  decode: async (_streamId, events) =>
    events.map(({ type, data, visibility }) => ({ type, data, visibility }) as DomainEvent),
};

export interface CommandContext {
  metadata: Omit<EventMetadata, 'idempotencyKey' | 'commandFingerprint'>;
  /** Chosen by the caller and kept for retries; scoped to the whole principal (role, state or organisation, sub). */
  idempotencyKey: string;
  /** Identifies the command's content, so that a reused key with another command is told from a retry. */
  fingerprint: string;
  /**
   * The version the caller last saw (If-Match): the command is refused if the stream moved since, once the
   * decider has said the caller may act on it at all.
   */
  expectedVersion?: number;
}

export interface CommandResult {
  streamId: string;
  version: number;
  position: string | null;
  /**
   * The events this call appended; empty for a no-op command and for a repeated one found in the stream. The
   * very same envelope sent again (after a lost reply) may be taken by the store as the append it holds: then
   * the same events, at the same places.
   */
  appended: { eventId: string; type: string; streamVersion: number }[];
}

export interface CommandHandlerOptions {
  store: EventStore;
  codec?: EventCodec;
  /** Attempts at deciding against a fresh read when another writer got in first. */
  maxAttempts?: number;
}

// A fixed namespace for event ids derived from idempotency keys (generated once for Focal).
const EVENT_ID_NAMESPACE = '0b5d6c3e-56a4-4f51-9a3e-7d1f3c2b9e10';

/** Event ids a retry reproduces: the same principal, key and place give the same id. */
export function deterministicEventId(principal: string, idempotencyKey: string, index: number): string {
  return uuidV5(`${principal}\n${idempotencyKey}\n${index}`, EVENT_ID_NAMESPACE);
}

/** A stable fingerprint of a JSON-like value: object keys sorted, so field order does not matter. */
export function fingerprintOf(value: unknown): string {
  const canonical = (item: unknown): unknown =>
    Array.isArray(item)
      ? item.map(canonical)
      : typeof item === 'object' && item !== null
        ? Object.fromEntries(
            Object.keys(item)
              .sort()
              .filter((key) => (item as Record<string, unknown>)[key] !== undefined)
              .map((key) => [key, canonical((item as Record<string, unknown>)[key])]),
          )
        : item;
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex');
}

/** How a fingerprint kept in the log under a data key begins (one that does not is the plain hash). */
const KEYED = 'hmac-sha256:';

/**
 * The fingerprint as the log keeps it. A command on a stream with a data key carries the person's details, and
 * a plain hash of them would let anyone holding the log confirm a guess of them, even after the erasure (SPEC
 * §6): there it is an HMAC under that key, which the erasure destroys with the rest.
 */
function sealedFingerprint(fingerprint: string, key: Buffer | undefined): string {
  return key ? `${KEYED}${createHmac('sha256', key).update(fingerprint).digest('hex')}` : fingerprint;
}

/** The stream's data key, if its decode found one or its encode made one. */
const keyOf = (attempt: CodecAttempt): Buffer | undefined => attempt.keys.values().next().value;

/**
 * The one command handler: read the stream, fold, decide, append at the version that was read. When another
 * writer got in first, read and decide again, up to `maxAttempts` times, then refuse with a Conflict.
 *
 * Idempotency lives in the log itself: each event carries the key and the command's fingerprint, and its id is
 * derived from the principal, the key and its place. A retry finds the first attempt's events in the stream
 * (or, racing it, collides on their ids) and returns the first result with no second effect, on any instance
 * and after any restart. The same key with another command is refused.
 *
 * @throws DomainError when the decider refuses the command, or on an unresolved conflict or a reused key
 */
export async function handleCommand<Command, State, Event extends DomainEvent>(
  options: CommandHandlerOptions,
  decider: Decider<Command, State, Event>,
  streamId: string,
  command: Command,
  context: CommandContext,
): Promise<CommandResult> {
  const { store, codec = plainCodec, maxAttempts = 8 } = options;
  const { idempotencyKey, fingerprint } = context;
  const principal = principalKey(context.metadata.actor);
  const type = (command as { type?: unknown }).type;
  const commandType = typeof type === 'string' ? type : undefined;
  /** This command as a retry of it is recognised, with the stream's data key if one was found. */
  const sent = (key: Buffer | undefined): SentCommand => ({ fingerprint, type: commandType, key });

  // A command that opens its stream is decided on the initial state, unread: the append's expected version
  // (no stream yet) proves the stream was new. A stream that exists after all (a retry of the same command)
  // fails that append, and everything is done again on what is read, as for any other command.
  let unread = decider.opensStream?.(command) === true && (context.expectedVersion ?? 0) === 0;
  for (let attempt = 1; ; attempt++) {
    const recorded = unread ? [] : await store.readStream(streamId);
    const codecAttempt: CodecAttempt = { newStream: unread, keys: new Map() };
    const decoded = await codec.decode(streamId, recorded, codecAttempt);
    const earlier = firstResultFor(recorded, principal, idempotencyKey, sent(keyOf(codecAttempt)), streamId);
    if (earlier) return earlier;

    const last = recorded.at(-1);
    const version = last?.streamVersion ?? 0;
    const state = fold(decider, decoded as Event[]);
    const decision = decider.decide(command, state);
    // Refused or nothing to do on the initial state: what the stream really holds decides (a retry of a
    // command that took effect answers with its first result even where its facts changed since).
    if (unread && (decision instanceof DomainError || decision.length === 0)) {
      unread = false;
      attempt--;
      continue;
    }
    // Whether the caller may act at all comes first: a stream they may not see answers not-found whatever
    // version they name, as a stream that does not exist does. Only then is If-Match checked, before any
    // other refusal, since that was decided on a version the caller did not read.
    if (decision instanceof DomainError && MAY_NOT_ACT.has(decision.code)) throw decision;
    if (context.expectedVersion !== undefined && context.expectedVersion !== version) {
      throw version === 0
        ? notYetAtVersion(streamId, context.expectedVersion)
        : staleVersion(streamId, context.expectedVersion);
    }
    if (decision instanceof DomainError) throw decision;

    if (decision.length === 0) {
      return { streamId, version, position: last?.globalPosition ?? null, appended: [] };
    }

    let data: JsonObject[];
    try {
      data = await codec.encode(streamId, decision, codecAttempt);
    } catch (error) {
      // Unread, the stream may hold what makes the encode fail (a retry of a registration whose personal
      // data was erased since: its key is destroyed): the read path answers as it always did.
      if (!unread) throw error;
      unread = false;
      attempt--;
      continue;
    }
    const metadata: EventMetadata = {
      ...context.metadata,
      idempotencyKey,
      commandFingerprint: sealedFingerprint(fingerprint, keyOf(codecAttempt)),
      ...(commandType !== undefined ? { command: commandType } : {}),
    };
    const events = decision.map((event, index) => ({
      eventId: deterministicEventId(principal, idempotencyKey, index),
      type: event.type,
      data: data[index]!,
      metadata,
      visibility: event.visibility,
    }));
    try {
      const result = await store.append(streamId, events, { expectedVersion: version });
      return {
        streamId,
        version: result.nextVersion,
        position: result.lastPosition,
        appended: events.map((event, index) => ({
          eventId: event.eventId,
          type: event.type,
          streamVersion: version + index + 1,
        })),
      };
    } catch (error) {
      const raced = error instanceof WrongExpectedVersionError || error instanceof DuplicateEventIdError;
      if (!raced) throw error;
      if (unread && error instanceof WrongExpectedVersionError) {
        // Not new after all: read it, without counting an attempt or waiting.
        unread = false;
        attempt--;
        continue;
      }
      if (error instanceof DuplicateEventIdError) {
        // Either a retry racing its first attempt into this stream (the re-read finds it), or the key was
        // used for a command on another stream.
        const again = firstResultFor(
          await store.readStream(streamId),
          principal,
          idempotencyKey,
          sent(keyOf(codecAttempt)),
          streamId,
        );
        if (again) return again;
        throw keyReused(idempotencyKey);
      }
      if (attempt >= maxAttempts) {
        throw conflict(
          'concurrent-change',
          `${streamId} changed ${attempt} times while this command was being decided; send it again`,
        );
      }
      // Full jitter: writers that collided spread out instead of colliding again in step.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 100)));
    }
  }
}

interface SentCommand {
  fingerprint: string;
  type: string | undefined;
  key: Buffer | undefined;
}

/**
 * The first result of this key, if the stream holds one: the same command again (a retry) gets it, another
 * command with the same key is refused. A fingerprint sealed under a key that is gone (the person's data was
 * erased) can no longer be compared: every command of the same type with that key gets the first result, so
 * that the answer tells nothing of what the erased command held; a command of another type is still refused.
 */
function firstResultFor(
  recorded: readonly RecordedEvent[],
  principal: string,
  idempotencyKey: string,
  command: SentCommand,
  streamId: string,
): CommandResult | undefined {
  const earlier = recorded.filter(
    (event) =>
      event.metadata.idempotencyKey === idempotencyKey && principalKey(event.metadata.actor) === principal,
  );
  const last = earlier.at(-1);
  if (!last) return undefined;
  if (!sameCommand(last.metadata, command)) throw keyReused(idempotencyKey);
  return { streamId, version: last.streamVersion, position: last.globalPosition, appended: [] };
}

function sameCommand(recorded: EventMetadata, { fingerprint, type, key }: SentCommand): boolean {
  const stored = recorded.commandFingerprint;
  if (stored === undefined) return false;
  // Written before fingerprints were sealed, or on a stream without personal data.
  if (!stored.startsWith(KEYED)) return stored === fingerprint;
  // The command's type is no personal data: it is compared whatever became of the key.
  if (recorded.command !== undefined && recorded.command !== type) return false;
  if (!key) return true;
  const sealed = Buffer.from(sealedFingerprint(fingerprint, key));
  const kept = Buffer.from(stored);
  return sealed.length === kept.length && timingSafeEqual(sealed, kept);
}

/**
 * Refusals that say the caller may not act on this stream, whatever its version (and, for one who may not see
 * it, as if it did not exist); Invalid is about the command alone.
 */
const MAY_NOT_ACT: ReadonlySet<DomainErrorCode> = new Set(['NotFound', 'Forbidden', 'Invalid']);

// The current version is not named: it counts events the caller may not see (a plenary meeting's closed session).
const staleVersion = (streamId: string, expected: number) =>
  conflict(
    'version-mismatch',
    `${streamId} is not at version ${expected} (it moved on since, or never was): read it again and decide on what it is now`,
  );

// A command that creates its stream, sent with If-Match: there is no version to match yet.
const notYetAtVersion = (streamId: string, expected: number) =>
  conflict(
    'version-mismatch',
    `${streamId} does not exist yet, so it cannot be at version ${expected}: send the command without If-Match to create it`,
  );

const keyReused = (idempotencyKey: string) =>
  conflict(
    'idempotency-key-reused',
    `idempotency key ${idempotencyKey} was already used for another command; use a new key for a new command`,
  );
