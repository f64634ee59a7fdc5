import { isoDate, meetingRequestFields as fields, reason } from '@focal/contracts';
import { z } from 'zod';

import { withExamples } from '../http/operation.js';

/** Ad hoc meeting requests' requests and answers at the edge, of the contracts' fields. */

export const MEETING_STATUSES = [
  'requested',
  'accepted',
  'declined',
  'withdrawn',
  'cancelled',
  'concluded',
] as const;

export const requestMeetingBody = withExamples(
  z.strictObject({
    subjectKind: fields.subjectKind,
    title: fields.title.meta({ example: 'Joint investigation on crimes committed in the region' }),
    summary: fields.summary,
    confidentiality: fields.confidentiality,
    proposedDates: fields.proposedDates.meta({
      description: 'dates in the future, YYYY-MM-DD',
      example: ['2031-03-02'],
    }),
    invitedStates: fields.invitedStates.default([]).meta({ example: ['DE'] }),
    invitedOrganisations: fields.invitedOrganisations.default([]),
  }),
  {
    subjectKind: 'case',
    title: 'Witness hearings in a joint investigation',
    summary: 'Coordinate hearings of witnesses living in several member states',
    confidentiality: 'closed',
    proposedDates: ['2031-03-02', '2031-03-09'],
    invitedStates: ['DE', 'NO'],
  },
);

export const acceptMeetingBody = withExamples(
  z.strictObject({
    scheduledFor: fields.scheduledFor.meta({ example: '2031-03-02T10:00:00Z' }),
    venue: fields.venue.meta({ example: 'Eurojust, The Hague' }),
  }),
  { scheduledFor: '2031-03-02T10:00:00Z', venue: 'Eurojust, The Hague' },
);

export const concludeMeetingBody = withExamples(z.strictObject({ conclusions: fields.conclusions }), {
  conclusions: 'The hearings are shared out among the three investigating teams.',
});
export const reasonBody = withExamples(z.strictObject({ reason }), {
  reason: 'the case was joined to another',
});

export const meetingStatusQuery = z.strictObject({ status: z.enum(MEETING_STATUSES).optional() });

export const meetingRequestAnswer = z
  .object({
    id: z.string(),
    requestedBy: z.string(),
    coSponsors: z.array(z.string()),
    subjectKind: fields.subjectKind,
    title: z.string(),
    summary: z.string(),
    confidentiality: fields.confidentiality,
    proposedDates: z.array(isoDate),
    invitedStates: z.array(z.string()),
    invitedOrganisations: z.array(z.string()),
    status: z.enum(MEETING_STATUSES),
    scheduledFor: z.string().optional(),
    venue: z.string().optional(),
    outcome: z.string().optional().meta({ description: 'the reason given, or the conclusions' }),
    version: z.number().int(),
  })
  .meta({ id: 'AdHocMeetingRequest' });
