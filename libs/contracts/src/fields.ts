import { z } from 'zod';

import {
  CONFIDENTIALITY,
  CONTACT_POINT_ROLES,
  HANDLING_CODES,
  SESSIONS,
  ORGANISATION_KINDS,
  STATE_STATUSES,
  SUBJECT_KINDS,
  THREAD_VISIBILITIES,
} from '@focal/domain';

/*
 * The fields of Focal's inputs, once: the HTTP edge (the gateway's request schemas, and so the OpenAPI
 * document) and the NATS contracts (the services' commands) are both built of these. They check shapes,
 * types and sizes; the domain's value objects decide what a value may be (ISO codes, e-mail, dates in the
 * future) and name the field the same way.
 */

/** Text of at most `max` characters (the domain holds the same bound, and checks the rest). */
export const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
export const texts = (max: number, items: number) =>
  z.array(text(max)).max(items, `must list at most ${items}`);

export const uuid = z.uuid('must be a UUID');
/** A calendar date, YYYY-MM-DD. */
export const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD');
export const countryCode = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as FR');
export const languageCode = z.string().regex(/^[a-z]{2}$/, 'must be an ISO 639-1 code such as fr');

export const participantRef = z
  .string()
  .regex(
    /^(secretariat|state:.+|organisation:.+)$/,
    'name a participant as state:<ISO code>, organisation:<uuid> or secretariat',
  ) as z.ZodType<`state:${string}` | `organisation:${string}` | 'secretariat'>;

export const stateFields = {
  name: text(200),
  status: z.enum(STATE_STATUSES),
  effectiveFrom: isoDate,
};

/** A contact point's personal data: sealed at rest, erased by destroying its key. */
export const personalFields = {
  fullName: text(200),
  email: text(320),
  phone: text(40),
  notes: text(4_000),
};

/** What describes the post rather than the person. */
export const postFields = {
  role: z.enum(CONTACT_POINT_ROLES),
  authority: text(300),
  languages: texts(20, 30),
  expertise: texts(200, 30),
};

export const reason = text(2_000);

export const organisationFields = {
  name: text(200),
  acronym: text(30),
  kind: z.enum(ORGANISATION_KINDS),
};

export const meetingRequestFields = {
  subjectKind: z.enum(SUBJECT_KINDS),
  title: text(300),
  summary: text(20_000),
  confidentiality: z.enum(CONFIDENTIALITY),
  proposedDates: texts(30, 20),
  invitedStates: texts(10, 60),
  invitedOrganisations: texts(50, 60),
  scheduledFor: text(40),
  venue: text(300),
  conclusions: text(20_000),
};

export const threadFields = {
  subject: text(300),
  visibility: z.enum(THREAD_VISIBILITIES),
  participants: z.array(participantRef).max(100, 'must list at most 100'),
  replyBy: text(40),
};

export const attachment = z.strictObject({
  name: text(300),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (the SHA-256 of the file)'),
  size: z.number().int().min(0),
});

export const messageFields = {
  body: text(100_000),
  handlingCode: z.enum(HANDLING_CODES),
  handlingNote: text(2_000),
  attachments: z.array(attachment).max(50, 'must list at most 50'),
};

export const plenaryFields = {
  number: z.number().int().min(1).max(999),
  title: text(300),
  theme: text(4_000),
  startsOn: isoDate,
  endsOn: isoDate,
  venue: text(300),
  presidency: countryCode,
  session: z.enum(SESSIONS),
  agendaTitle: text(300),
  summary: text(4_000),
  name: text(200),
  text: text(50_000),
  topics: texts(100, 30),
};
