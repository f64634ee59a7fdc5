import { parseStreamId, streamPrefix } from '@focal/domain';

/**
 * The live notification that an event was stored, published on `focal.events.<category>.<type>` after the
 * append. It is a doorbell, not the event: consumers read the event from the store after their checkpoint,
 * so a lost notification delays a consumer (until its next poll) but never loses an event, and nothing a
 * principal may not see travels on NATS.
 */
export interface EventNotification {
  eventId: string;
  streamId: string;
  streamVersion: number;
  position: string;
  type: string;
}

export const eventSubject = (streamId: string, type: string) =>
  `focal.events.${parseStreamId(streamId)?.category ?? 'other'}.${type}`;

export const ALL_EVENTS_SUBJECT = 'focal.events.>';

/**
 * A subject inside a namespace: `<namespace>.<subject>`, so that several deployments (or test runs) can share
 * one NATS cluster without taking each other's commands. No namespace: the subject as it is.
 */
export const inNamespace = (namespace: string | undefined, subject: string) =>
  namespace ? `${namespace}.${subject}` : subject;

export const NAMESPACE_PATTERN = /^[A-Za-z0-9_-]+$/;

const CONTACT_POINT_PREFIX = streamPrefix('contact-point');

/**
 * Where personal data sits in the log: encrypted with the contact point's own key, so that destroying the key
 * erases it (SPEC §2, §6). A retirement reason ("sick leave") is about the person too. The services that write
 * and every reader that decrypts use this one definition.
 */
export const CONTACT_POINT_PERSONAL_FIELDS = {
  fields: {
    ContactPointRegistered: 'personal',
    ContactPointDetailsChanged: 'personalChanges',
    ContactPointRetired: 'reason',
  },
  subjectOf: (streamId: string) =>
    streamId.startsWith(CONTACT_POINT_PREFIX) ? streamId.slice(CONTACT_POINT_PREFIX.length) : undefined,
};

/** The events whose personal field holds the person's details (name, e-mail, phone, notes), merged in order. */
export const CONTACT_POINT_DETAILS_EVENTS: readonly string[] = [
  'ContactPointRegistered',
  'ContactPointDetailsChanged',
];
