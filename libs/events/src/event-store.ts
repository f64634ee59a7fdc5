import type { NewEvent, Position, RecordedEvent } from './envelope.js';
import type { ExpectedVersion } from './errors.js';
import type { VerificationReport } from './integrity.js';

export interface AppendOptions {
  /**
   * - a number n: the stream must be at version n (0 = the stream does not exist yet);
   * - 'no-stream': the stream must not exist; 'stream-exists': it must have at least one event;
   * - 'any': no check.
   */
  expectedVersion: ExpectedVersion;
}

export interface AppendResult {
  /** The stream's version after the append: pass it as `expectedVersion` to append after it. */
  nextVersion: number;
  firstPosition: Position;
  lastPosition: Position;
}

export interface ReadStreamOptions {
  /** First version to return (forwards) or the highest (backwards). Default: 1, or the last version. */
  fromVersion?: number;
  direction?: 'forwards' | 'backwards';
  limit?: number;
}

export interface EventFilter {
  /** Only events whose stream id starts with one of these prefixes, e.g. `contact-point-`. */
  streamPrefixes?: readonly string[];
  /** Only events of these types. */
  types?: readonly string[];
}

export interface ReadAllOptions {
  /** Return events strictly after this position; omitted: from the beginning of the log. */
  after?: Position;
  limit?: number;
  filter?: EventFilter;
}

export interface ReadAllBackwardsOptions {
  /** Return events at or before this position, newest first; omitted: from the newest readable event. */
  atOrBefore?: Position;
  limit?: number;
  filter?: EventFilter;
}

/** A page of the global log, and how far reading it looked. */
export interface ReadAllPage {
  events: RecordedEvent[];
  /**
   * The last position the read examined, matched or not: every event after `after` up to here that the
   * filter accepts is in `events`, and no event can appear at or before it later. A filtered reader resumes
   * after it, so what it skipped is never examined again and a read costs what is new, not what the log
   * holds. `after` when nothing new was readable; undefined only when nothing was read from an empty log.
   */
  scannedTo: Position | undefined;
}

export interface SubscribeOptions {
  after?: Position;
  filter?: EventFilter;
  /** Ends the subscription: the iterator finishes after the event it is delivering. */
  signal?: AbortSignal;
}

/**
 * The event log every part of Focal stands on. One port, several adapters (PostgreSQL, PGlite,
 * EventStoreDB), one contract suite (`libs/events/test/contract.ts`) that each adapter passes.
 *
 * Stream versions start at 1 in every adapter: a stream's first event has version 1, and a stream that
 * does not exist is at version 0.
 *
 * Global positions are opaque strings, totally ordered by `comparePositions`. A reader that resumes
 * after a position it was given receives every later event exactly once: no event appears at a position
 * earlier than one already handed out, even when transactions commit out of order.
 */
export interface EventStore {
  /**
   * Appends events atomically: all or none. Idempotent by event id: appending events that already stand
   * in this stream, at the same place with the same content, writes nothing and returns the original
   * result; a known id with other content, or elsewhere, is a DuplicateEventIdError.
   * @throws WrongExpectedVersionError, DuplicateEventIdError, InvalidAppendError
   */
  append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult>;

  /** A stream's events in version order (upcast); an unknown stream reads as empty. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;

  /** The global log in position order (upcast), after a position, filtered. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;

  /**
   * `readAll` for readers that follow the log (projections), saying also how far it scanned: what a filtered
   * reader checkpoints (see ReadAllPage). An adapter may answer readers of the newest events from what it
   * read for others in this process moments before, never from before the call; `readAll` and
   * verification read the stored log itself.
   */
  readAllPage(options?: ReadAllOptions): Promise<ReadAllPage>;

  /**
   * Up to `limit` events of the log at or before `atOrBefore`, newest first, none after the head (what
   * `headPosition` says): what came just before a position, e.g. the newest event a reader may see.
   */
  readAllBackwards(options?: ReadAllBackwardsOptions): Promise<RecordedEvent[]>;

  /**
   * The position of the newest event a reader can see now (what `readAll` would end with), or undefined for
   * an empty log: where a reader that wants only what comes next starts.
   */
  headPosition(): Promise<Position | undefined>;

  /**
   * The position of the newest event committed, which readers may not see yet while an older transaction
   * is still open (see `headPosition`). A reader that must have read everything stored before now waits until
   * `headPosition` reaches it.
   */
  lastCommittedPosition(): Promise<Position | undefined>;

  /**
   * Catches up from `after`, then goes live: new events arrive within milliseconds of their commit.
   * Ends when `signal` aborts or the consumer stops iterating.
   */
  subscribe(options?: SubscribeOptions): AsyncIterable<RecordedEvent>;

  /** Negative when a is before b, 0 when equal, positive after. @throws InvalidPositionError */
  comparePositions(a: Position, b: Position): number;

  /** Parses a position received from outside (a URL, a header). @throws InvalidPositionError */
  parsePosition(value: string): Position;

  /** Recomputes one stream's hash chain; names the first event that does not match. */
  verifyStream(streamId: string): Promise<VerificationReport>;

  /** Recomputes every stream's hash chain in global order; names the first event that does not match. */
  verifyAll(options?: { onProgress?: (checked: number) => void }): Promise<VerificationReport>;

  close(): Promise<void>;
}
