import { createHash } from 'node:crypto';

import type { Position } from './envelope.js';

/**
 * The stored content of an event as text, exactly as the store keeps it. The hash chain is computed over
 * this text, so it covers what is stored (ciphertext, where personal data is encrypted) and an erasure
 * that destroys a key leaves the chain verifiable.
 */
export interface StoredContent {
  eventId: string;
  type: string;
  schemaVersion: number;
  streamId: string;
  streamVersion: number;
  /** ISO 8601 in UTC with milliseconds, e.g. 2026-11-22T10:00:00.000Z. */
  recordedAt: string;
  /** The stored JSON texts. */
  visibility: string;
  data: string;
  metadata: string;
}

/**
 * Fields joined by newlines. No field can contain a raw newline (ids, types and stream ids are validated;
 * JSON texts escape newlines), so the encoding is unambiguous. The SQL adapters compute the same bytes in
 * `focal_append` (see sql/migrations.ts); a verify after append proves the two agree.
 */
export function canonicalContent(content: StoredContent): string {
  return [
    content.eventId,
    content.type,
    String(content.schemaVersion),
    content.streamId,
    String(content.streamVersion),
    content.recordedAt,
    content.visibility,
    content.data,
    content.metadata,
  ].join('\n');
}

/** hash = SHA-256(previous hash in the stream ‖ canonical stored content); the first event has no previous. */
export function chainHash(previousHash: string, content: StoredContent): string {
  return createHash('sha256')
    .update(Buffer.from(previousHash, 'hex'))
    .update(canonicalContent(content), 'utf8')
    .digest('hex');
}

export interface StoredEventForVerification extends StoredContent {
  position: Position;
  hash: string;
  previousHash: string;
}

export interface IntegrityFailure {
  /** The first event (in the order checked) that does not match; absent when the event is missing. */
  position?: Position;
  streamId: string;
  streamVersion: number;
  eventId?: string;
  problem: string;
}

export type VerificationReport =
  { ok: true; checked: number } | { ok: false; checked: number; firstFailure: IntegrityFailure };

/**
 * Walks events in order and checks each stream's versions and hash chain. Keeps one head per stream,
 * so memory grows with the number of streams, not events.
 */
export class ChainVerifier {
  private readonly heads = new Map<string, { version: number; hash: string }>();
  checked = 0;

  /** Returns the problem with this event, or undefined when it continues its stream's chain. */
  check(event: StoredEventForVerification): IntegrityFailure | undefined {
    this.checked++;
    const head = this.heads.get(event.streamId) ?? { version: 0, hash: '' };
    const at = {
      position: event.position,
      streamId: event.streamId,
      streamVersion: event.streamVersion,
      eventId: event.eventId,
    };
    if (event.streamVersion !== head.version + 1) {
      const problem =
        event.streamVersion <= head.version
          ? `version ${event.streamVersion} comes after version ${head.version}: events are out of order`
          : `version ${event.streamVersion} follows version ${head.version}: ` +
            `${event.streamVersion - head.version - 1} event(s) are missing`;
      return { ...at, problem };
    }
    if (event.previousHash !== head.hash) {
      return {
        ...at,
        problem: 'its previous hash is not the hash of the event before it: the chain was altered',
      };
    }
    const expected = chainHash(head.hash, event);
    if (expected !== event.hash) {
      return { ...at, problem: 'its content does not match its hash: the event was altered' };
    }
    this.heads.set(event.streamId, { version: event.streamVersion, hash: event.hash });
    return undefined;
  }

  head(streamId: string): { version: number; hash: string } | undefined {
    return this.heads.get(streamId);
  }
}
