import type { CommandFields } from '@focal/contracts';
import { closed, maySee, type Actor } from '@focal/domain';
import { Controller, Get, Param, Put, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';

import { listOf, writeAnswer } from '../http/answers.js';
import { Caller, type GatewayRequest } from '../auth/auth.guard.js';
import { command, commandRoutes, FeatureController } from '../http/command-routes.js';
import { Operation, Tag, ValidBody, ValidQuery, WRITE_PROBLEMS } from '../http/operation.js';
import { read, readRoutes } from '../http/read-routes.js';
import { Problem } from '../http/problem.js';
import {
  changeContactPointBody,
  changeOrganisationBody,
  contactPointAnswer,
  organisationAnswer,
  putStateBody,
  reasonBody,
  registerContactPointBody,
  registerOrganisationBody,
  searchContactPointsQuery,
  stateAnswer,
} from './directory.schemas.js';
import { contactPointView, organisationView, stateView } from './directory.views.js';

const WRITE = ['Idempotency-Key', 'If-Match'] as const;
const READ = ['Focal-Read-After'] as const;
const written = (status: 200 | 201, description: string) => ({ status, description, schema: writeAnswer });

const notFound = (what: string) => new Problem(404, 'not-found', 'Not found', `no ${what}`);

@Tag('states')
@Controller('v1/states')
export class StatesController extends FeatureController {
  @Get()
  @Operation({
    summary: 'The states of the network: their status today, changes recorded for later, the history',
    headers: READ,
    success: { status: 200, description: 'every state', schema: listOf(stateAnswer) },
  })
  async list(@Req() request: GatewayRequest) {
    await this.commands.consistentRead(request);
    return { items: (await this.readModels.states()).map((row) => stateView(row)) };
  }

  @Get(':code')
  @Operation({
    summary: 'One state',
    headers: READ,
    success: { status: 200, description: 'the state (ETag: its version)', schema: stateAnswer },
    problems: [404],
  })
  async read(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('code') code: string,
  ) {
    await this.commands.consistentRead(request);
    const state = await this.readModels.state(code);
    if (!state) throw notFound(`state ${code} in the network`);
    void reply.header('etag', `"${state.version}"`);
    return stateView(state);
  }

  @Put(':code')
  @Operation({
    summary: 'Admit a state (201), or change its status (200); secretariat only',
    body: putStateBody,
    headers: WRITE,
    success: written(201, 'admitted; a change of status answers 200'),
    problems: [200, ...WRITE_PROBLEMS],
  })
  async put(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('code') code: string,
    @ValidBody(putStateBody) body: z.infer<typeof putStateBody>,
  ) {
    // One command, admit or change decided on the state's stream: a retry is the same command, and a state
    // admitted by another request meanwhile is changed rather than refused.
    return this.commands.send(
      request,
      reply,
      'focal.directory.state.put',
      code,
      {
        code,
        status: body.status,
        effectiveFrom: body.effectiveFrom,
        ...(body.name ? { name: body.name } : {}),
      },
      // Admission is the stream's first event.
      (version) => (version === 1 ? 201 : 200),
    );
  }
}

@Tag('contact points')
@Controller('v1/contact-points')
export class ContactPointsController extends FeatureController {
  @Get()
  @Operation({
    summary: 'Search the directory; closed fields only for those who may see them',
    query: searchContactPointsQuery,
    headers: READ,
    success: {
      status: 200,
      description: 'a page of contact points, and how many match in all',
      schema: listOf(contactPointAnswer).extend({
        total: z.number().int(),
        limit: z.number().int(),
        offset: z.number().int(),
      }),
    },
    problems: [400],
  })
  async search(
    @Req() request: GatewayRequest,
    @Caller() caller: Actor,
    @ValidQuery(searchContactPointsQuery) query: z.infer<typeof searchContactPointsQuery>,
  ) {
    await this.commands.consistentRead(request);
    const { items, total } = await this.readModels.contactPoints(query, caller);
    return {
      items: items.map((row) => contactPointView(row, caller)),
      total,
      limit: query.limit,
      offset: query.offset,
    };
  }
}

@Tag('liaison organisations')
@Controller('v1/liaison-organisations')
export class LiaisonOrganisationsController extends FeatureController {
  @Get()
  @Operation({
    summary: 'The liaison organisations',
    headers: READ,
    success: { status: 200, description: 'every organisation', schema: listOf(organisationAnswer) },
  })
  async list(@Req() request: GatewayRequest) {
    await this.commands.consistentRead(request);
    return { items: (await this.readModels.organisations()).map(organisationView) };
  }
}

readRoutes(ContactPointsController, {
  read: read({
    path: ':id',
    summary: 'One contact point; closed fields only for those who may see them',
    success: {
      description: 'the contact point (ETag: its version, for those who may see closed fields)',
      schema: contactPointAnswer,
    },
    load: (id, { readModels }) => readModels.contactPoint(id),
    notFound: (id) => notFound(`contact point ${id}`),
    view: (row, { caller }) => contactPointView(row, caller),
    etag: (row, { caller }) => (maySee(caller, closed) ? row.version : undefined),
  }),
});

readRoutes(LiaisonOrganisationsController, {
  read: read({
    path: ':id',
    summary: 'One liaison organisation',
    success: { description: 'the organisation (ETag: its version)', schema: organisationAnswer },
    load: (id, { readModels }) => readModels.organisation(id),
    notFound: (id) => notFound(`liaison organisation ${id}`),
    view: (row) => organisationView(row),
  }),
});

commandRoutes(ContactPointsController, {
  register: command({
    path: '',
    summary: "Register a contact point (secretariat, or the state's own authorities)",
    body: registerContactPointBody,
    success: written(201, 'registered'),
    subject: 'focal.directory.contact-point.register',
    send: ({ body, newId }) => {
      const { fullName, email, phone, notes, primary, expertise, ...post } = body;
      return {
        stream: newId(),
        // State and organisation both optional here: the domain refuses both or neither, naming them.
        command: {
          contactPointId: newId(),
          ...post,
          personal: {
            fullName,
            email,
            ...(phone !== undefined ? { phone } : {}),
            ...(notes !== undefined ? { notes } : {}),
          },
          primary,
          expertise,
        } as CommandFields<'focal.directory.contact-point.register'>,
      };
    },
  }),
  change: command({
    method: 'patch',
    path: ':id',
    summary: "Change a contact point's details (secretariat, or its state)",
    body: changeContactPointBody,
    success: written(200, 'changed (or already so: no event, the current version)'),
    subject: 'focal.directory.contact-point.change-details',
    send: ({ ids: { id }, body }) => {
      const { fullName, email, phone, notes, ...changes } = body;
      const personalChanges = Object.fromEntries(
        Object.entries({ fullName, email, phone, notes }).filter(([, value]) => value !== undefined),
      );
      return { stream: id, command: { contactPointId: id, changes, personalChanges } };
    },
  }),
  retire: command({
    path: ':id/retire',
    summary: 'Retire a contact point; the reason is personal data',
    body: reasonBody,
    success: written(200, 'retired'),
    subject: 'focal.directory.contact-point.retire',
    send: ({ ids: { id }, body }) => ({ stream: id, command: { contactPointId: id, reason: body.reason } }),
  }),
  reinstate: command({
    path: ':id/reinstate',
    summary: 'Reinstate a retired contact point',
    success: written(200, 'done'),
    subject: 'focal.directory.contact-point.reinstate',
    send: ({ ids: { id } }) => ({ stream: id, command: { contactPointId: id } }),
  }),
  designatePrimary: command({
    path: ':id/designate-primary',
    summary: "Make it its state's primary contact point (the previous one no longer is)",
    success: written(200, 'done'),
    subject: 'focal.directory.contact-point.designate-primary',
    send: ({ ids: { id } }) => ({ stream: id, command: { contactPointId: id } }),
  }),
  confirm: command({
    path: ':id/confirm',
    summary: 'Confirm the entry is still current (resets the 12-month stale clock; once a day)',
    success: written(200, 'confirmed'),
    subject: 'focal.directory.contact-point.confirm',
    send: ({ ids: { id } }) => ({ stream: id, command: { contactPointId: id } }),
  }),
  erase: command({
    method: 'delete',
    path: ':id/personal-data',
    summary: "Erase the contact point's personal data by destroying its key (secretariat)",
    success: written(200, 'erased: no path returns the fields from now on'),
    subject: 'focal.directory.contact-point.erase-personal-data',
    send: ({ ids: { id } }) => ({ stream: id, command: { contactPointId: id } }),
  }),
});

commandRoutes(LiaisonOrganisationsController, {
  register: command({
    path: '',
    summary: 'Register a liaison organisation (secretariat)',
    body: registerOrganisationBody,
    success: written(201, 'registered'),
    subject: 'focal.directory.liaison-organisation.register',
    send: ({ body, newId }) => ({ stream: newId(), command: { organisationId: newId(), ...body } }),
  }),
  change: command({
    method: 'patch',
    path: ':id',
    summary: "Change an organisation's details (secretariat)",
    body: changeOrganisationBody,
    success: written(200, 'changed'),
    subject: 'focal.directory.liaison-organisation.change-details',
    send: ({ ids: { id }, body }) => ({ stream: id, command: { organisationId: id, changes: body } }),
  }),
  suspend: command({
    path: ':id/suspend',
    summary: 'Suspend an organisation: its principals are refused everywhere, at once (secretariat)',
    body: reasonBody,
    success: written(200, 'suspended'),
    subject: 'focal.directory.liaison-organisation.suspend',
    send: ({ ids: { id }, body }) => ({ stream: id, command: { organisationId: id, reason: body.reason } }),
  }),
  reinstate: command({
    path: ':id/reinstate',
    summary: 'Reinstate a suspended organisation (secretariat)',
    success: written(200, 'reinstated'),
    subject: 'focal.directory.liaison-organisation.reinstate',
    send: ({ ids: { id } }) => ({ stream: id, command: { organisationId: id } }),
  }),
});
