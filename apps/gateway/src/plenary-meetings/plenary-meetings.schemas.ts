import {
  countryCode,
  isoDate,
  participantRef,
  plenaryFields as fields,
  reason,
  uuid,
} from '@focal/contracts';
import { PARTICIPANT_KINDS } from '@focal/domain';
import { z } from 'zod';

import { withExamples } from '../http/operation.js';

/** Plenary meetings' requests and answers at the edge, of the contracts' fields (the events' field names). */

export const PLENARY_STATUSES = ['convened', 'cancelled', 'concluded'] as const;

export const conveneBody = withExamples(
  z.strictObject({
    number: fields.number.meta({ example: 39 }),
    title: fields.title.meta({ example: '39th plenary meeting of the Genocide Network' }),
    theme: fields.theme.meta({ example: 'Accountability for crimes against children' }),
    startsOn: fields.startsOn.meta({ description: 'in the future, YYYY-MM-DD', example: '2031-05-12' }),
    endsOn: fields.endsOn.meta({ example: '2031-05-13' }),
    venue: fields.venue.meta({ example: 'Eurojust, The Hague' }),
    presidency: fields.presidency.meta({ description: 'the Council presidency chairing it', example: 'NL' }),
  }),
  {
    number: 39,
    title: '39th plenary meeting of the Genocide Network',
    theme: 'Accountability for crimes against children',
    startsOn: '2031-05-12',
    endsOn: '2031-05-13',
    venue: 'Eurojust, The Hague',
    presidency: 'NL',
  },
);

export const agendaItemBody = withExamples(
  z.strictObject({
    session: fields.session,
    title: fields.agendaTitle.meta({ example: 'Open source information in documenting atrocities' }),
    summary: fields.summary.optional(),
  }),
  { session: 'open', title: 'Open source information in documenting atrocities' },
);

export const delegateBody = withExamples(
  z.strictObject({
    session: fields.session.meta({
      description: 'closed: national contact points of member and observer states',
    }),
    name: fields.name.optional().meta({
      example: 'Delegate Alpha',
      description:
        "a liaison organisation's or guest state's delegate's name (required for them); ignored for a state's " +
        "delegate, whose name is its contact point's, kept as the directory keeps it (personal data, SPEC §6)",
    }),
    contactPointId: uuid.optional().meta({
      description: "a state's delegate: one of its own contact points (the secretariat: any state's)",
    }),
    organisation: uuid.optional().meta({
      description: 'secretariat only: a liaison organisation it registers (others: from the token)',
    }),
    state: countryCode
      .optional()
      .meta({ description: 'secretariat only: a guest state it registers (guest states: from the token)' }),
  }),
  { session: 'closed', contactPointId: '0b3c7d0e-5a1f-4c4e-9d7a-2f6e8b1c3a90' },
  { session: 'open', name: 'Delegate Alpha', state: 'UA' },
);

export const attendanceBody = withExamples(z.strictObject({ delegateId: uuid }), {
  delegateId: '5e2d9a41-7c3b-4f0e-8a6d-1b9c2e4f7a30',
});

export const conclusionsBody = withExamples(
  z.strictObject({
    text: fields.text,
    topics: fields.topics.default([]).meta({ example: ['digital evidence', 'artificial intelligence'] }),
  }),
  {
    text: 'The network will share practice on digital evidence before the next meeting.',
    topics: ['digital evidence', 'artificial intelligence'],
  },
);

export const cancelBody = withExamples(z.strictObject({ reason }), { reason: 'the venue is unavailable' });

export const plenarySearchQuery = z.strictObject({
  q: z
    .string()
    .max(200)
    .optional()
    .meta({ description: 'every word, in title, theme, conclusions or topics' }),
  topic: z.string().max(100).optional(),
  status: z.enum(PLENARY_STATUSES).optional(),
});

const agendaItemAnswer = z
  .object({ id: z.string(), session: fields.session, title: z.string(), summary: z.string().optional() })
  .meta({ id: 'PlenaryAgendaItem' });

const delegateAnswer = z
  .object({
    id: z.string(),
    session: fields.session,
    participant: participantRef,
    kind: z.enum(PARTICIPANT_KINDS),
    country: z.string().optional(),
    contactPointId: z.string().optional(),
    name: z.string().nullable().meta({
      description: "a state's delegate's is its contact point's: null once that personal data is erased",
    }),
    attended: z.boolean(),
  })
  .meta({ id: 'PlenaryDelegate' });

export const plenaryMeetingAnswer = z
  .object({
    id: z.string(),
    number: z.number().int(),
    title: z.string(),
    theme: z.string(),
    startsOn: isoDate,
    endsOn: isoDate,
    venue: z.string(),
    presidency: z.string(),
    status: z.enum(PLENARY_STATUSES),
    cancellationReason: z.string().optional(),
    conclusions: z.object({ text: z.string(), topics: z.array(z.string()) }).optional(),
  })
  .meta({ id: 'PlenaryMeeting' });

export const plenaryMeetingDetailAnswer = plenaryMeetingAnswer
  .extend({
    agenda: z.array(agendaItemAnswer),
    delegates: z.array(delegateAnswer),
    version: z
      .number()
      .int()
      .optional()
      .meta({ description: 'for those who may see the closed session (it counts its events too)' }),
  })
  .meta({ id: 'PlenaryMeetingWithAgenda' });

const tally = { delegates: z.number().int(), attended: z.number().int() };
export const participationAnswer = z
  .object({
    meetingId: z.string(),
    sessions: z.array(
      z.object({
        session: fields.session,
        ...tally,
        byKind: z.array(z.object({ kind: z.enum(PARTICIPANT_KINDS), ...tally })),
        byCountry: z.array(z.object({ country: z.string(), ...tally })),
        countries: z.number().int(),
      }),
    ),
    countries: z.number().int().meta({ description: 'countries with a delegate in a session you may see' }),
  })
  .meta({ id: 'PlenaryParticipation' });
