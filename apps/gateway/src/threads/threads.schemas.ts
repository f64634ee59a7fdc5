import { messageFields, participantRef, threadFields } from '@focal/contracts';
import { z } from 'zod';

import { withExamples } from '../http/operation.js';

/** Threads' requests and answers at the edge, of the contracts' fields. */

export const openThreadBody = withExamples(
  z.strictObject({
    subject: threadFields.subject.meta({ example: 'Request for witness contact' }),
    visibility: threadFields.visibility,
    participants: threadFields.participants.meta({
      description: 'secretariat, state:<ISO>, organisation:<id>; the caller takes part too',
      example: ['secretariat', 'state:DE'],
    }),
    replyBy: threadFields.replyBy
      .optional()
      .meta({ description: 'makes the thread urgent', example: '2031-01-01T12:00:00Z' }),
  }),
  {
    subject: 'Practical question: hearing a witness by video link',
    visibility: 'restricted',
    participants: ['secretariat'],
    replyBy: '2031-01-01T12:00:00Z',
  },
);

export const postMessageBody = withExamples(
  z.strictObject({
    body: messageFields.body,
    handlingCode: messageFields.handlingCode.meta({
      description:
        'H0 the purpose given only; H1 not in judicial proceedings; H2 not passed on; H3 see the note',
    }),
    handlingNote: messageFields.handlingNote
      .optional()
      .meta({ description: 'for H3: the other restrictions' }),
    attachments: messageFields.attachments.default([]),
  }),
  {
    body: 'Which authorities accept hearings by video link?',
    handlingCode: 'H2',
    attachments: [{ name: 'request.pdf', sha256: 'b'.repeat(64), size: 2048 }],
  },
);

export const messageAnswer = z
  .object({
    id: z.string(),
    author: participantRef,
    body: z.string(),
    handlingCode: messageFields.handlingCode,
    handlingNote: z.string().optional(),
    attachments: messageFields.attachments,
    postedAt: z.string(),
    deliveredTo: z.array(participantRef),
    readBy: z.array(participantRef),
  })
  .meta({ id: 'Message' });

export const threadAnswer = z
  .object({
    id: z.string(),
    subject: z.string(),
    visibility: threadFields.visibility,
    participants: z.array(participantRef),
    openedBy: participantRef,
    urgent: z.boolean(),
    replyBy: z.string().optional(),
    answered: z.boolean(),
    overdue: z.boolean().optional(),
    unread: z.number().int().optional(),
    lastActivity: z.string(),
    version: z.number().int(),
  })
  .meta({ id: 'Thread' });
