import { maySee, type Actor } from '@focal/domain';
import { Controller, Get, Req } from '@nestjs/common';
import type { z } from 'zod';

import { listOf } from '../http/answers.js';
import { Caller, type GatewayRequest } from '../auth/auth.guard.js';
import { command, commandRoutes, FeatureController } from '../http/command-routes.js';
import { Operation, Tag, ValidQuery } from '../http/operation.js';
import { read, readRoutes } from '../http/read-routes.js';
import { Problem } from '../http/problem.js';
import { meetingRequestVisibility } from '../read-models/read-models.js';
import {
  acceptMeetingBody,
  concludeMeetingBody,
  meetingRequestAnswer,
  meetingStatusQuery,
  reasonBody,
  requestMeetingBody,
} from './meeting-requests.schemas.js';
import { meetingRequestView } from './meeting-requests.views.js';

const done = (description: string) => ({ status: 200 as const, description });

// Whatever the caller may not see does not exist for them: 404, never 403, so nothing leaks.
const notFound = (what: string) => new Problem(404, 'not-found', 'Not found', `no ${what} that you may see`);

@Tag('meeting requests')
@Controller('v1/meeting-requests')
export class MeetingRequestsController extends FeatureController {
  @Get()
  @Operation({
    summary: 'The requests the caller may see, newest first',
    query: meetingStatusQuery,
    headers: ['Focal-Read-After'],
    success: { status: 200, description: 'the requests', schema: listOf(meetingRequestAnswer) },
    problems: [400],
  })
  async list(
    @Req() request: GatewayRequest,
    @Caller() caller: Actor,
    @ValidQuery(meetingStatusQuery) query: z.infer<typeof meetingStatusQuery>,
  ) {
    await this.commands.consistentRead(request);
    return { items: (await this.readModels.meetingRequests(caller, query.status)).map(meetingRequestView) };
  }
}

readRoutes(MeetingRequestsController, {
  read: read({
    path: ':id',
    summary: 'One request, if the caller may see it',
    success: { description: 'the request (ETag: its version)', schema: meetingRequestAnswer },
    load: async (id, { readModels, caller }) => {
      const row = await readModels.meetingRequest(id);
      return row && maySee(caller, meetingRequestVisibility(row)) ? row : undefined;
    },
    notFound: (id) => notFound(`ad hoc meeting request ${id}`),
    view: (row) => meetingRequestView(row),
  }),
});

commandRoutes(MeetingRequestsController, {
  request: command({
    path: '',
    summary: 'Request an ad hoc meeting (member states)',
    body: requestMeetingBody,
    success: { status: 201, description: 'requested' },
    subject: 'focal.messaging.meeting-request.request',
    send: ({ body, newId }) => ({ stream: newId(), command: { requestId: newId(), ...body } }),
  }),
  coSponsor: command({
    path: ':id/co-sponsor',
    summary: 'Co-sponsor a request (member states; a closed one only if invited)',
    success: done('done'),
    subject: 'focal.messaging.meeting-request.co-sponsor',
    send: ({ ids: { id } }) => ({ stream: id, command: { requestId: id } }),
  }),
  withdraw: command({
    path: ':id/withdraw',
    summary: 'Withdraw a request (its requesting states, before acceptance)',
    success: done('done'),
    subject: 'focal.messaging.meeting-request.withdraw',
    send: ({ ids: { id } }) => ({ stream: id, command: { requestId: id } }),
  }),
  accept: command({
    path: ':id/accept',
    summary: 'Accept a request and schedule the meeting (secretariat)',
    body: acceptMeetingBody,
    success: done('done'),
    subject: 'focal.messaging.meeting-request.accept',
    send: ({ ids: { id }, body }) => ({ stream: id, command: { requestId: id, ...body } }),
  }),
  decline: command({
    path: ':id/decline',
    summary: 'Decline a request (secretariat)',
    body: reasonBody,
    success: done('done'),
    subject: 'focal.messaging.meeting-request.decline',
    send: ({ ids: { id }, body }) => ({ stream: id, command: { requestId: id, reason: body.reason } }),
  }),
  cancel: command({
    path: ':id/cancel',
    summary: 'Cancel an accepted meeting (secretariat)',
    body: reasonBody,
    success: done('done'),
    subject: 'focal.messaging.meeting-request.cancel',
    send: ({ ids: { id }, body }) => ({ stream: id, command: { requestId: id, reason: body.reason } }),
  }),
  conclude: command({
    path: ':id/conclude',
    summary: "Record a meeting's conclusions, on or after its date (secretariat)",
    body: concludeMeetingBody,
    success: done('done'),
    subject: 'focal.messaging.meeting-request.conclude',
    send: ({ ids: { id }, body }) => ({
      stream: id,
      command: { requestId: id, conclusions: body.conclusions },
    }),
  }),
});
