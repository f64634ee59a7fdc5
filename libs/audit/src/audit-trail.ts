import { randomUUID } from 'node:crypto';

import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import type { Actor } from '@focal/domain';
import {
  PersonalDataCodec,
  readableOrRefuse,
  untilReadable,
  verifyLog,
  type EventStore,
  type KeyStore,
  type Position,
  type RecordedEvent,
} from '@focal/events';

import type { DirectorySnapshots } from './directory-snapshots.js';
import { history } from './history.js';

/** The stream where audit reads are recorded, one per day. */
export const auditReadStream = (at: Date) => `audit-read-${at.toISOString().slice(0, 10)}`;

/** Why the audit trail refused a read; the HTTP edge and the CLI each say it in their own words. */
export class AuditRefusedError extends Error {
  constructor(
    readonly reason: 'secretariat-and-auditors-only' | 'invalid-stream' | 'no-such-stream',
    message: string,
  ) {
    super(message);
    this.name = 'AuditRefusedError';
  }
}

export interface AuditEventsQuery {
  /** Only events after this position (of the log, or within `stream`). */
  after?: Position;
  limit?: number;
  /** One stream, read in its own order. */
  stream?: string;
  types?: readonly string[];
}

export type AuditLine = Awaited<ReturnType<typeof auditLine>>;

/**
 * The audit trail, one implementation for the HTTP endpoints and `npm run audit` alike: the same readers
 * (secretariat and auditors), the same refusals (a log not yet readable is refused, never answered in part),
 * and every read recorded in the log before anything is shown.
 */
export class AuditTrail {
  private readonly codec: PersonalDataCodec;

  constructor(
    private readonly store: EventStore,
    private readonly keys: KeyStore,
    private readonly directory: DirectorySnapshots,
  ) {
    this.codec = new PersonalDataCodec(keys, CONTACT_POINT_PERSONAL_FIELDS);
  }

  /**
   * The log (or one stream) as audit lines. Every refusal is told before the first line, so that an HTTP
   * answer that has started streaming is never an error in disguise.
   */
  async events(reader: Actor, what: string, query: AuditEventsQuery = {}): Promise<AsyncIterable<AuditLine>> {
    allow(reader);
    if (query.stream !== undefined) await this.existingOrValid(query.stream);
    await readableOrRefuse(this.store);
    await recordAuditRead(this.store, reader, what);
    return this.lines(query);
  }

  /** One entity's history: who, when, which command and what changed, field by field. */
  async history(reader: Actor, streamId: string) {
    allow(reader);
    const events = await this.existingOrValid(streamId);
    if (events.length === 0)
      throw new AuditRefusedError('no-such-stream', `no stream ${streamId} in the log`);
    await recordAuditRead(this.store, reader, `history ${streamId}`);
    return {
      streamId,
      version: events.at(-1)!.streamVersion,
      changes: history(events, await this.codec.decode(streamId, events)),
    };
  }

  /** The directory as it stood at `instant` (refused while the log is not yet readable). */
  async directoryAsOf(reader: Actor, what: string, instant: Date) {
    allow(reader);
    await recordAuditRead(this.store, reader, what);
    return this.directory.asOf(instant);
  }

  /** Every hash chain and every checkpoint, after waiting for what was committed just before to be readable. */
  async verify(reader: Actor, what: string, options: Parameters<typeof verifyLog>[1] = {}) {
    allow(reader);
    await recordAuditRead(this.store, reader, what);
    await untilReadable(this.store);
    return verifyLog(this.store, options);
  }

  private async existingOrValid(streamId: string): Promise<RecordedEvent[]> {
    return this.store.readStream(streamId).catch(() => {
      throw new AuditRefusedError(
        'invalid-stream',
        `${streamId} is not a stream id: use letters, digits, '.', '_', ':' or '-', e.g. contact-point-<uuid>`,
      );
    });
  }

  private async *lines(query: AuditEventsQuery): AsyncGenerator<AuditLine> {
    const { store } = this;
    let remaining = query.limit ?? Number.POSITIVE_INFINITY;
    const wanted = (event: RecordedEvent) =>
      (!query.after || store.comparePositions(event.globalPosition, query.after) > 0) &&
      (!query.types || query.types.includes(event.type));
    if (query.stream !== undefined) {
      for (let version = 1; remaining > 0;) {
        const page = await store.readStream(query.stream, { fromVersion: version, limit: 1_000 });
        if (page.length === 0) return;
        version = page.at(-1)!.streamVersion + 1;
        for (const event of page) {
          if (!wanted(event)) continue;
          if (remaining-- <= 0) return;
          yield await auditLine(event, this.codec, this.keys);
        }
      }
      return;
    }
    let after = query.after;
    while (remaining > 0) {
      const page = await store.readAll({
        ...(after ? { after } : {}),
        limit: Math.min(1_000, remaining),
        ...(query.types ? { filter: { types: [...query.types] } } : {}),
      });
      if (page.length === 0) return;
      after = page.at(-1)!.globalPosition;
      for (const event of page) {
        remaining--;
        yield await auditLine(event, this.codec, this.keys);
      }
    }
  }
}

function allow(reader: Actor): void {
  if (reader.role !== 'secretariat' && reader.role !== 'auditor') {
    throw new AuditRefusedError(
      'secretariat-and-auditors-only',
      'the audit trail is for the secretariat and auditors',
    );
  }
}

/** Who read what, when: an event only the secretariat and auditors may see. */
export async function recordAuditRead(store: EventStore, reader: Actor, what: string): Promise<void> {
  const at = new Date();
  await store.append(
    auditReadStream(at),
    [
      {
        eventId: randomUUID(),
        type: 'AuditTrailRead',
        data: { what, at: at.toISOString() },
        metadata: { actor: reader, correlationId: randomUUID() },
        visibility: { level: 'restricted', participants: [] },
      },
    ],
    { expectedVersion: 'any' },
  );
}

/** An event as the audit trail shows it: everything stored, personal fields readable unless erased. */
export async function auditLine(event: RecordedEvent, codec: PersonalDataCodec, keys: KeyStore) {
  const subject = CONTACT_POINT_PERSONAL_FIELDS.subjectOf(event.streamId);
  const data =
    subject &&
    CONTACT_POINT_PERSONAL_FIELDS.fields[event.type as keyof typeof CONTACT_POINT_PERSONAL_FIELDS.fields]
      ? codec.decodeData(event, await keys.find(subject))
      : event.data;
  return {
    position: event.globalPosition,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    recordedAt: event.recordedAt.toISOString(),
    visibility: event.visibility,
    metadata: event.metadata,
    data,
    hash: event.hash,
    previousHash: event.previousHash,
  };
}
