import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  jsonEvent,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type ResolvedEvent,
} from '@eventstore/db-client';

import { assertStreamId, validateAppend, type ValidatedEvent } from '../append-validation.js';
import type {
  EventMetadata,
  JsonObject,
  NewEvent,
  Position,
  RecordedEvent,
  Visibility,
} from '../envelope.js';
import {
  DuplicateEventIdError,
  InvalidPositionError,
  InvalidReadError,
  WrongExpectedVersionError,
  type ExpectedVersion,
} from '../errors.js';
import type {
  AppendOptions,
  AppendResult,
  EventFilter,
  EventStore,
  ReadAllBackwardsOptions,
  ReadAllOptions,
  ReadAllPage,
  ReadStreamOptions,
  SubscribeOptions,
} from '../event-store.js';
import {
  ChainVerifier,
  chainHash,
  type StoredEventForVerification,
  type VerificationReport,
} from '../integrity.js';
import { EventSchemas, type Upcaster } from '../upcasting.js';

/** Envelope fields EventStoreDB has no place for, kept in each event's metadata under this key (keys starting
 * with $ are the server's). */
const ENVELOPE = 'focalEnvelope';

interface StoredEnvelope {
  schemaVersion: number;
  visibility: Visibility;
  /** Set by the appender: EventStoreDB's own `created` is not known before the append, so it cannot be hashed. */
  recordedAt: string;
  hash: string;
  previousHash: string;
}

type StoredMetadata = EventMetadata & { [ENVELOPE]: StoredEnvelope };

/**
 * The event store on EventStoreDB / KurrentDB through its gRPC client. Stream versions are the server's
 * revisions plus one; a position is the server's commit and prepare positions as `commit-prepare`.
 * The hash chain lives in each event's metadata; an append reads the stream's last event for the previous
 * hash and appends at that exact revision, re-reading when another writer got there first.
 * Limit: event ids are unique per stream only; the server keeps no global index of ids.
 */
export class EventStoreDbEventStore implements EventStore {
  private readonly schemas: EventSchemas;

  private constructor(
    private readonly client: EventStoreDBClient,
    upcasters: readonly Upcaster[],
  ) {
    this.schemas = new EventSchemas(upcasters);
  }

  static open(options: {
    connectionString: string;
    upcasters?: readonly Upcaster[];
  }): EventStoreDbEventStore {
    return new EventStoreDbEventStore(
      EventStoreDBClient.connectionString(options.connectionString),
      options.upcasters ?? [],
    );
  }

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    const expected = options?.expectedVersion;
    const validated = validateAppend(streamId, events, expected, this.schemas);
    for (;;) {
      const stored = await this.readRaw(streamId);
      const retried = this.findRetry(streamId, stored, validated, expected);
      if (retried) return retried;
      const last = stored[stored.length - 1];
      const current = last ? Number(last.event!.revision) + 1 : 0;
      if (!satisfies(expected, current)) throw new WrongExpectedVersionError(streamId, expected, current);
      let previousHash = last ? metadataOf(last)[ENVELOPE].hash : '';
      const recordedAt = new Date().toISOString();
      const toAppend = validated.map((event, index) => {
        const content = {
          eventId: event.eventId,
          type: event.type,
          schemaVersion: event.schemaVersion,
          streamId,
          streamVersion: current + index + 1,
          recordedAt,
          visibility: JSON.stringify(event.visibility),
          data: JSON.stringify(event.data),
          metadata: JSON.stringify(event.metadata),
        };
        const hash = chainHash(previousHash, content);
        const envelope: StoredEnvelope = {
          schemaVersion: event.schemaVersion,
          visibility: event.visibility,
          recordedAt,
          hash,
          previousHash,
        };
        previousHash = hash;
        return jsonEvent({
          id: event.eventId,
          type: event.type,
          data: event.data,
          metadata: { [ENVELOPE]: envelope, ...event.metadata },
        });
      });
      try {
        await this.client.appendToStream(streamId, toAppend, {
          expectedRevision: last ? last.event!.revision : NO_STREAM,
        });
      } catch (error) {
        // Another writer appended between our read and our append: decide again on a fresh read.
        if (error instanceof EsdbWrongExpectedVersionError) continue;
        throw error;
      }
      const written = (await this.readRaw(streamId, current)).slice(0, validated.length);
      return this.resultOf(written);
    }
  }

  /** The original result when these events already stand in the stream; an error when they stand otherwise. */
  private findRetry(
    streamId: string,
    stored: ResolvedEvent[],
    events: ValidatedEvent[],
    expected: ExpectedVersion,
  ): AppendResult | undefined {
    const index = new Map(stored.map((resolved, at) => [resolved.event!.id, at]));
    const places = events.map((event) => index.get(event.eventId));
    if (places.every((place) => place === undefined)) return undefined;
    const knownAt = places.findIndex((place) => place !== undefined);
    const known = events[knownAt]!.eventId;
    if (places.some((place) => place === undefined)) {
      throw new DuplicateEventIdError(known, 'in an append without the other events of this one');
    }
    const first = places[0]!;
    events.forEach((event, at) => {
      const resolved = stored[places[at]!]!;
      if (places[at] !== first + at) {
        throw new DuplicateEventIdError(event.eventId, 'at another place in the stream');
      }
      const envelope = metadataOf(resolved)[ENVELOPE];
      const same =
        resolved.event!.type === event.type &&
        envelope.schemaVersion === event.schemaVersion &&
        JSON.stringify(resolved.event!.data) === JSON.stringify(event.data) &&
        JSON.stringify(userMetadata(resolved)) === JSON.stringify(event.metadata) &&
        JSON.stringify(envelope.visibility) === JSON.stringify(event.visibility);
      if (!same) throw new DuplicateEventIdError(event.eventId, 'with other content');
    });
    if ((typeof expected === 'number' && first !== expected) || (expected === 'no-stream' && first !== 0)) {
      throw new DuplicateEventIdError(
        known,
        `at version ${first + 1}, not where this append expects the stream to be`,
      );
    }
    return this.resultOf(stored.slice(first, first + events.length));
  }

  private resultOf(written: ResolvedEvent[]): AppendResult {
    const first = written[0]!;
    const last = written[written.length - 1]!;
    return {
      nextVersion: Number(last.event!.revision) + 1,
      firstPosition: positionOf(first),
      lastPosition: positionOf(last),
    };
  }

  private async readRaw(streamId: string, fromVersion = 0): Promise<ResolvedEvent[]> {
    const events: ResolvedEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(streamId, {
        fromRevision: BigInt(fromVersion),
        direction: FORWARDS,
      })) {
        events.push(resolved);
      }
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
    return events;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertStreamId(streamId);
    const backwards = options.direction === 'backwards';
    if (options.limit !== undefined && (!Number.isSafeInteger(options.limit) || options.limit < 1)) {
      throw new InvalidReadError(
        `limit ${String(options.limit)} is not valid: use a whole number of 1 or more`,
      );
    }
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(streamId, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision:
          options.fromVersion === undefined
            ? backwards
              ? END
              : START
            : BigInt(Math.max(0, options.fromVersion - 1)),
        maxCount: options.limit ?? Number.MAX_SAFE_INTEGER,
      })) {
        events.push(this.toEvent(resolved));
      }
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
    return events;
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return (await this.readAllPage(options)).events;
  }

  async readAllPage(options: ReadAllOptions = {}): Promise<ReadAllPage> {
    const limit = options.limit ?? 1_000;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) {
      throw new InvalidReadError(`limit ${String(limit)} is not valid: use a whole number from 1 to 10000`);
    }
    const after = options.after === undefined ? undefined : this.parsePosition(options.after);
    const events: RecordedEvent[] = [];
    // Every event the read passes counts as examined, system and filtered ones too: the server shows what
    // is committed at once, so nothing can appear behind a position already passed.
    let scannedTo = after;
    for await (const resolved of this.client.readAll({
      fromPosition: after === undefined ? START : toEsdbPosition(after),
      direction: FORWARDS,
    })) {
      if (!resolved.event) continue;
      const position = positionOf(resolved);
      if (after !== undefined && this.comparePositions(position, after) <= 0) continue;
      scannedTo = position;
      if (resolved.event.streamId.startsWith('$')) continue;
      if (!matches(resolved.event.streamId, resolved.event.type, options.filter)) continue;
      events.push(this.toEvent(resolved));
      if (events.length === limit) break;
    }
    return { events, scannedTo };
  }

  async readAllBackwards(options: ReadAllBackwardsOptions = {}): Promise<RecordedEvent[]> {
    const limit = options.limit ?? 1_000;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) {
      throw new InvalidReadError(`limit ${String(limit)} is not valid: use a whole number from 1 to 10000`);
    }
    const atOrBefore = options.atOrBefore === undefined ? undefined : this.parsePosition(options.atOrBefore);
    const events: RecordedEvent[] = [];
    // From the end, passing what stands after `atOrBefore`: whether a backward read from a position includes
    // the event at it is not a documented promise; callers ask for positions near the head.
    for await (const resolved of this.client.readAll({ fromPosition: END, direction: BACKWARDS })) {
      if (!resolved.event || resolved.event.streamId.startsWith('$')) continue;
      if (atOrBefore !== undefined && this.comparePositions(positionOf(resolved), atOrBefore) > 0) continue;
      if (!matches(resolved.event.streamId, resolved.event.type, options.filter)) continue;
      events.push(this.toEvent(resolved));
      if (events.length === limit) break;
    }
    return events;
  }

  async headPosition(): Promise<Position | undefined> {
    for await (const resolved of this.client.readAll({ fromPosition: END, direction: BACKWARDS })) {
      if (!resolved.event || resolved.event.streamId.startsWith('$')) continue;
      return positionOf(resolved);
    }
    return undefined;
  }

  /** EventStoreDB shows what is committed at once: no horizon to wait for. */
  lastCommittedPosition(): Promise<Position | undefined> {
    return this.headPosition();
  }

  async *subscribe(options: SubscribeOptions = {}): AsyncGenerator<RecordedEvent> {
    const after = options.after === undefined ? undefined : this.parsePosition(options.after);
    const prefixes = options.filter?.streamPrefixes;
    const subscription = this.client.subscribeToAll({
      fromPosition: after === undefined ? START : toEsdbPosition(after),
      ...(prefixes?.length ? { filter: streamNameFilter({ prefixes: [...prefixes] }) } : {}),
    });
    const stop = () => void subscription.unsubscribe();
    options.signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const resolved of subscription as AsyncIterable<AllStreamResolvedEvent>) {
        if (options.signal?.aborted) return;
        if (!resolved.event || resolved.event.streamId.startsWith('$')) continue;
        if (after !== undefined && this.comparePositions(positionOf(resolved), after) <= 0) continue;
        if (!matches(resolved.event.streamId, resolved.event.type, options.filter)) continue;
        yield this.toEvent(resolved);
      }
    } finally {
      options.signal?.removeEventListener('abort', stop);
      await subscription.unsubscribe();
    }
  }

  comparePositions(a: Position, b: Position): number {
    const [commitA, prepareA] = split(this.parsePosition(a));
    const [commitB, prepareB] = split(this.parsePosition(b));
    if (commitA !== commitB) return commitA < commitB ? -1 : 1;
    return prepareA === prepareB ? 0 : prepareA < prepareB ? -1 : 1;
  }

  parsePosition(value: string): Position {
    if (typeof value !== 'string' || !/^[0-9]{1,20}-[0-9]{1,20}$/.test(value)) {
      throw new InvalidPositionError(
        String(value),
        'commit-prepare, such as 1024-1024, as issued by this store',
      );
    }
    return value as Position;
  }

  async verifyStream(streamId: string): Promise<VerificationReport> {
    assertStreamId(streamId);
    const verifier = new ChainVerifier();
    for (const resolved of await this.readRaw(streamId)) {
      const failure = verifier.check(storedOf(resolved));
      if (failure) return { ok: false, checked: verifier.checked, firstFailure: failure };
    }
    return { ok: true, checked: verifier.checked };
  }

  async verifyAll(options: { onProgress?: (checked: number) => void } = {}): Promise<VerificationReport> {
    const verifier = new ChainVerifier();
    for await (const resolved of this.client.readAll({ fromPosition: START, direction: FORWARDS })) {
      if (!resolved.event || resolved.event.streamId.startsWith('$')) continue;
      const failure = verifier.check(storedOf(resolved));
      if (failure) return { ok: false, checked: verifier.checked, firstFailure: failure };
      if (verifier.checked % 1_000 === 0) options.onProgress?.(verifier.checked);
    }
    options.onProgress?.(verifier.checked);
    return { ok: true, checked: verifier.checked };
  }

  private toEvent(resolved: ResolvedEvent): RecordedEvent {
    const event = resolved.event!;
    const envelope = metadataOf(resolved)[ENVELOPE];
    return this.schemas.upcast({
      eventId: event.id,
      type: event.type,
      schemaVersion: envelope.schemaVersion,
      streamId: event.streamId,
      streamVersion: Number(event.revision) + 1,
      globalPosition: positionOf(resolved),
      recordedAt: new Date(envelope.recordedAt),
      visibility: envelope.visibility,
      data: event.data as JsonObject,
      metadata: userMetadata(resolved),
      hash: envelope.hash,
      previousHash: envelope.previousHash,
    });
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }
}

function satisfies(expected: ExpectedVersion, current: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no-stream') return current === 0;
  if (expected === 'stream-exists') return current > 0;
  return expected === current;
}

function matches(streamId: string, type: string, filter: EventFilter | undefined): boolean {
  if (filter?.types?.length && !filter.types.includes(type)) return false;
  if (
    filter?.streamPrefixes?.length &&
    !filter.streamPrefixes.some((prefix) => streamId.startsWith(prefix))
  ) {
    return false;
  }
  return true;
}

function metadataOf(resolved: ResolvedEvent): StoredMetadata {
  return resolved.event!.metadata as unknown as StoredMetadata;
}

function userMetadata(resolved: ResolvedEvent): EventMetadata {
  const { [ENVELOPE]: _envelope, ...metadata } = metadataOf(resolved);
  return metadata;
}

function positionOf(resolved: ResolvedEvent): Position {
  const position = resolved.event?.position;
  // Servers from v22 return positions on stream reads too; older ones cannot serve this adapter.
  if (!position)
    throw new Error('EventStoreDB returned an event without a position: use server v22 or later');
  return `${position.commit}-${position.prepare}` as Position;
}

function split(position: Position): [bigint, bigint] {
  const [commit, prepare] = position.split('-');
  return [BigInt(commit!), BigInt(prepare!)];
}

function toEsdbPosition(position: Position) {
  const [commit, prepare] = split(position);
  return { commit, prepare };
}

function storedOf(resolved: ResolvedEvent): StoredEventForVerification {
  const event = resolved.event!;
  const envelope = metadataOf(resolved)[ENVELOPE];
  return {
    position: positionOf(resolved),
    eventId: event.id,
    type: event.type,
    schemaVersion: envelope.schemaVersion,
    streamId: event.streamId,
    streamVersion: Number(event.revision) + 1,
    recordedAt: envelope.recordedAt,
    visibility: JSON.stringify(envelope.visibility),
    data: JSON.stringify(event.data),
    metadata: JSON.stringify(userMetadata(resolved)),
    hash: envelope.hash,
    previousHash: envelope.previousHash,
  };
}
