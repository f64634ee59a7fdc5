/**
 * The event envelope of SPEC §2: what every stored event carries besides its data.
 */

/** Who issued the command that produced an event. */
export interface Actor {
  /** The token's subject. */
  principal: string;
  role:
    | 'secretariat'
    | 'member-state'
    | 'observer-state'
    | 'guest-state'
    | 'liaison-organisation'
    | 'auditor'
    | 'system';
  /** ISO 3166-1 alpha-2 code, for state principals. */
  state?: string;
  /** Liaison organisation id, for liaison-organisation principals. */
  organisation?: string;
}

/**
 * Who may see an event; decided by the domain, carried by the store, enforced on every read path. `closed` on a
 * restricted event marks a closed item (thread, ad hoc meeting); events written before it have none.
 */
export type Visibility =
  { level: 'open' } | { level: 'closed' } | { level: 'restricted'; participants: string[]; closed?: boolean };

export interface EventMetadata {
  actor: Actor;
  correlationId: string;
  causationId?: string;
  idempotencyKey?: string;
  /** A hash of the command that the idempotency key was first used for: a retry matches it, a reuse does not. */
  commandFingerprint?: string;
  /** The type of the command that caused the event, for the audit trail. */
  command?: string;
}

/** A JSON value as stored: no undefined, functions, bigints, NaN or class instances. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** What a caller hands to `append`. The store assigns versions, positions, time and hashes. */
export interface NewEvent<Type extends string = string, Data extends JsonObject = JsonObject> {
  /** A UUID chosen by the caller: appending the same id again is an idempotent retry. */
  eventId: string;
  type: Type;
  /** The schema version `data` is written in; defaults to the type's current version. */
  schemaVersion?: number;
  data: Data;
  metadata: EventMetadata;
  visibility: Visibility;
}

/**
 * A global position: opaque, totally ordered, serialisable as a string.
 * Compare positions with the `comparePositions` of the store that issued them, never as strings.
 */
export type Position = string & { readonly __position: unique symbol };

export interface RecordedEvent<Type extends string = string, Data extends JsonObject = JsonObject> {
  eventId: string;
  type: Type;
  schemaVersion: number;
  streamId: string;
  /** Stream versions start at 1: the first event of a stream has version 1. */
  streamVersion: number;
  globalPosition: Position;
  recordedAt: Date;
  visibility: Visibility;
  data: Data;
  metadata: EventMetadata;
  /** Hex SHA-256 of the previous event's hash in this stream ‖ this event's canonical stored content. */
  hash: string;
  /** Hex hash of the previous event in the stream; empty for version 1. */
  previousHash: string;
}
