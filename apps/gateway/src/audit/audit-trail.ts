import { randomUUID } from 'node:crypto';

import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import type { Actor } from '@focal/domain';
import type { EventStore, KeyStore, PersonalDataCodec, RecordedEvent } from '@focal/events';

/** The stream where audit reads are recorded, one per day. */
export const auditReadStream = (at: Date) => `audit-read-${at.toISOString().slice(0, 10)}`;

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

/**
 * An event as the audit trail shows it (HTTP export and `audit export` alike): everything stored, personal
 * fields readable unless erased.
 */
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
