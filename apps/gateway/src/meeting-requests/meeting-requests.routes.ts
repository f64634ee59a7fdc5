import { maySee, type Actor } from '@focal/domain';
import { Controller, Get, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';

import { listOf, writeAnswer } from '../http/answers.js';
import { Caller, type GatewayRequest } from '../auth/auth.guard.js';
import { CommandGateway } from '../http/command-gateway.js';
import { READ_MODELS } from '../read-models/read-models.js';
import { Operation, Tag, UuidParam, ValidBody, ValidQuery, WRITE_PROBLEMS } from '../http/operation.js';
import { Problem } from '../http/problem.js';
import type { ReadModels } from '../read-models/read-models.js';
import {
  acceptMeetingBody,
  concludeMeetingBody,
  meetingRequestAnswer,
  meetingStatusQuery,
  reasonBody,
  requestMeetingBody,
} from './meeting-requests.schemas.js';
import { meetingRequestView } from './meeting-requests.views.js';

const WRITE = ['Idempotency-Key', 'If-Match'] as const;
const done = (description: string) => ({ status: 200, description, schema: writeAnswer });

// Whatever the caller may not see does not exist for them: 404, never 403, so nothing leaks.
const notFound = (what: string) => new Problem(404, 'not-found', 'Not found', `no ${what} that you may see`);

@Tag('meeting requests')
@Controller('v1/meeting-requests')
export class MeetingRequestsController {
  constructor(
    @Inject(CommandGateway) private readonly commands: CommandGateway,
    @Inject(READ_MODELS) private readonly readModels: ReadModels,
  ) {}

  @Post()
  @Operation({
    summary: 'Request an ad hoc meeting (member states)',
    body: requestMeetingBody,
    headers: WRITE,
    success: { status: 201, description: 'requested', schema: writeAnswer },
    problems: WRITE_PROBLEMS,
  })
  request(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @ValidBody(requestMeetingBody) body: z.infer<typeof requestMeetingBody>,
  ) {
    const id = this.commands.newId(request);
    return this.commands.send(
      request,
      reply,
      'focal.messaging.meeting-request.request',
      id,
      { requestId: id, ...body },
      201,
    );
  }

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

  @Get(':id')
  @Operation({
    summary: 'One request, if the caller may see it',
    headers: ['Focal-Read-After'],
    success: { status: 200, description: 'the request (ETag: its version)', schema: meetingRequestAnswer },
    problems: [400, 404],
  })
  async read(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Caller() caller: Actor,
    @UuidParam('id') id: string,
  ) {
    await this.commands.consistentRead(request);
    const row = await this.readModels.meetingRequest(id);
    if (!row || !maySee(caller, row.visibility)) throw notFound(`ad hoc meeting request ${id}`);
    void reply.header('etag', `"${row.version}"`);
    return meetingRequestView(row);
  }

  @Post(':id/co-sponsor')
  @Operation({
    summary: 'Co-sponsor a request (member states; a closed one only if invited)',
    headers: WRITE,
    success: done('done'),
    problems: WRITE_PROBLEMS,
  })
  coSponsor(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
  ) {
    return this.commands.send(request, reply, 'focal.messaging.meeting-request.co-sponsor', id, {
      requestId: id,
    });
  }

  @Post(':id/withdraw')
  @Operation({
    summary: 'Withdraw a request (its requesting states, before acceptance)',
    headers: WRITE,
    success: done('done'),
    problems: WRITE_PROBLEMS,
  })
  withdraw(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
  ) {
    return this.commands.send(request, reply, 'focal.messaging.meeting-request.withdraw', id, {
      requestId: id,
    });
  }

  @Post(':id/accept')
  @Operation({
    summary: 'Accept a request and schedule the meeting (secretariat)',
    body: acceptMeetingBody,
    headers: WRITE,
    success: done('done'),
    problems: WRITE_PROBLEMS,
  })
  accept(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(acceptMeetingBody) body: z.infer<typeof acceptMeetingBody>,
  ) {
    return this.commands.send(request, reply, 'focal.messaging.meeting-request.accept', id, {
      requestId: id,
      ...body,
    });
  }

  @Post(':id/decline')
  @Operation({
    summary: 'Decline a request (secretariat)',
    body: reasonBody,
    headers: WRITE,
    success: done('done'),
    problems: WRITE_PROBLEMS,
  })
  decline(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(reasonBody) body: z.infer<typeof reasonBody>,
  ) {
    return this.commands.send(request, reply, 'focal.messaging.meeting-request.decline', id, {
      requestId: id,
      reason: body.reason,
    });
  }

  @Post(':id/cancel')
  @Operation({
    summary: 'Cancel an accepted meeting (secretariat)',
    body: reasonBody,
    headers: WRITE,
    success: done('done'),
    problems: WRITE_PROBLEMS,
  })
  cancel(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(reasonBody) body: z.infer<typeof reasonBody>,
  ) {
    return this.commands.send(request, reply, 'focal.messaging.meeting-request.cancel', id, {
      requestId: id,
      reason: body.reason,
    });
  }

  @Post(':id/conclude')
  @Operation({
    summary: "Record a meeting's conclusions, on or after its date (secretariat)",
    body: concludeMeetingBody,
    headers: WRITE,
    success: done('done'),
    problems: WRITE_PROBLEMS,
  })
  conclude(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(concludeMeetingBody) body: z.infer<typeof concludeMeetingBody>,
  ) {
    return this.commands.send(request, reply, 'focal.messaging.meeting-request.conclude', id, {
      requestId: id,
      conclusions: body.conclusions,
    });
  }
}
