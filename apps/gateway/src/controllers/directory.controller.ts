import type { CommandFields } from '@focal/contracts';
import type { Actor } from '@focal/domain';
import { Controller, Delete, Get, Inject, Param, Patch, Post, Put, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import {
  ChangeContactPointDto,
  ChangeOrganisationDto,
  PutStateDto,
  ReasonDto,
  RegisterContactPointDto,
  RegisterOrganisationDto,
  SearchContactPointsDto,
} from '../dto/directory.dto.js';
import { Caller, CommandGateway, READ_MODELS, type GatewayRequest } from '../http/context.js';
import { Problem } from '../http/problem.js';
import { UuidParam, ValidBody, ValidQuery } from '../http/params.js';
import type { ReadModels } from '../read-models/read-models.js';
import { contactPointView, organisationView, stateView } from './views.js';

const notFound = (what: string) => new Problem(404, 'not-found', 'Not found', `no ${what}`);

@ApiTags('states')
@ApiBearerAuth()
@Controller('v1/states')
export class StatesController {
  constructor(
    @Inject(CommandGateway) private readonly commands: CommandGateway,
    @Inject(READ_MODELS) private readonly readModels: ReadModels,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'The states of the network: their status today, changes recorded for later, the history',
  })
  async list(@Req() request: GatewayRequest) {
    await this.commands.consistentRead(request);
    return { items: (await this.readModels.states()).map((row) => stateView(row)) };
  }

  @Get(':code')
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
  @ApiBody({ type: PutStateDto })
  @ApiOperation({ summary: 'Admit a state (201), or change its status (200); secretariat only' })
  async put(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('code') code: string,
    @ValidBody(PutStateDto) body: PutStateDto,
  ) {
    const existing = await this.readModels.findFresh(() => this.readModels.state(code));
    if (existing) {
      return this.commands.send(request, reply, 'focal.directory.state.change-status', code, {
        code,
        to: body.status,
        effectiveFrom: body.effectiveFrom,
      });
    }
    if (body.name === undefined) {
      throw new Problem(400, 'invalid-input', 'Invalid input', 'name: give the name to admit a new state', {
        name: 'required to admit a state',
      });
    }
    if (body.status === 'former') {
      throw new Problem(
        400,
        'invalid-input',
        'Invalid input',
        'status: a state is admitted as member, observer or guest',
        {
          status: 'admit as member, observer or guest',
        },
      );
    }
    return this.commands.send(
      request,
      reply,
      'focal.directory.state.admit',
      code,
      { code, name: body.name, status: body.status, effectiveFrom: body.effectiveFrom },
      201,
    );
  }
}

@ApiTags('contact points')
@ApiBearerAuth()
@Controller('v1/contact-points')
export class ContactPointsController {
  constructor(
    @Inject(CommandGateway) private readonly commands: CommandGateway,
    @Inject(READ_MODELS) private readonly readModels: ReadModels,
  ) {}

  @Post()
  @ApiBody({ type: RegisterContactPointDto })
  @ApiOperation({ summary: "Register a contact point (secretariat, or the state's own authorities)" })
  register(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @ValidBody(RegisterContactPointDto) body: RegisterContactPointDto,
  ) {
    const id = this.commands.newId(request);
    const { fullName, email, phone, notes, primary, expertise, ...post } = body;
    return this.commands.send(
      request,
      reply,
      'focal.directory.contact-point.register',
      id,
      // State and organisation both optional here: the domain refuses both or neither, naming them.
      {
        contactPointId: id,
        ...post,
        personal: {
          fullName,
          email,
          ...(phone !== undefined ? { phone } : {}),
          ...(notes !== undefined ? { notes } : {}),
        },
        primary: primary ?? false,
        expertise: expertise ?? [],
      } as CommandFields<'focal.directory.contact-point.register'>,
      201,
    );
  }

  @Get()
  @ApiOperation({ summary: 'Search the directory; closed fields only for those who may see them' })
  async search(
    @Req() request: GatewayRequest,
    @Caller() caller: Actor,
    @ValidQuery(SearchContactPointsDto) query: SearchContactPointsDto,
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

  @Get(':id')
  async read(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Caller() caller: Actor,
    @UuidParam('id') id: string,
  ) {
    await this.commands.consistentRead(request);
    const row = await this.readModels.contactPoint(id);
    if (!row) throw notFound(`contact point ${id}`);
    void reply.header('etag', `"${row.version}"`);
    return contactPointView(row, caller);
  }

  @Patch(':id')
  @ApiBody({ type: ChangeContactPointDto })
  change(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(ChangeContactPointDto) body: ChangeContactPointDto,
  ) {
    const { fullName, email, phone, notes, ...changes } = body;
    const personalChanges = Object.fromEntries(
      Object.entries({ fullName, email, phone, notes }).filter(([, value]) => value !== undefined),
    );
    return this.commands.send(request, reply, 'focal.directory.contact-point.change-details', id, {
      contactPointId: id,
      changes,
      personalChanges,
    });
  }

  @Post(':id/retire')
  @ApiBody({ type: ReasonDto })
  retire(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(ReasonDto) body: ReasonDto,
  ) {
    return this.commands.send(request, reply, 'focal.directory.contact-point.retire', id, {
      contactPointId: id,
      reason: body.reason,
    });
  }

  @Post(':id/reinstate')
  reinstate(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
  ) {
    return this.commands.send(request, reply, 'focal.directory.contact-point.reinstate', id, {
      contactPointId: id,
    });
  }

  @Post(':id/designate-primary')
  designatePrimary(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
  ) {
    return this.commands.send(request, reply, 'focal.directory.contact-point.designate-primary', id, {
      contactPointId: id,
    });
  }

  @Post(':id/confirm')
  @ApiOperation({ summary: 'Confirm the entry is still current (resets the 12-month stale clock)' })
  confirm(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
  ) {
    return this.commands.send(request, reply, 'focal.directory.contact-point.confirm', id, {
      contactPointId: id,
    });
  }

  @Delete(':id/personal-data')
  @ApiOperation({ summary: "Erase the contact point's personal data by destroying its key (secretariat)" })
  erase(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
  ) {
    return this.commands.send(request, reply, 'focal.directory.contact-point.erase-personal-data', id, {
      contactPointId: id,
    });
  }
}

@ApiTags('liaison organisations')
@ApiBearerAuth()
@Controller('v1/liaison-organisations')
export class LiaisonOrganisationsController {
  constructor(
    @Inject(CommandGateway) private readonly commands: CommandGateway,
    @Inject(READ_MODELS) private readonly readModels: ReadModels,
  ) {}

  @Post()
  @ApiBody({ type: RegisterOrganisationDto })
  register(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @ValidBody(RegisterOrganisationDto) body: RegisterOrganisationDto,
  ) {
    const id = this.commands.newId(request);
    return this.commands.send(
      request,
      reply,
      'focal.directory.liaison-organisation.register',
      id,
      { organisationId: id, ...body },
      201,
    );
  }

  @Get()
  async list(@Req() request: GatewayRequest) {
    await this.commands.consistentRead(request);
    return { items: (await this.readModels.organisations()).map(organisationView) };
  }

  @Get(':id')
  async read(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
  ) {
    await this.commands.consistentRead(request);
    const row = await this.readModels.organisation(id);
    if (!row) throw notFound(`liaison organisation ${id}`);
    void reply.header('etag', `"${row.version}"`);
    return organisationView(row);
  }

  @Patch(':id')
  @ApiBody({ type: ChangeOrganisationDto })
  change(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(ChangeOrganisationDto) body: ChangeOrganisationDto,
  ) {
    return this.commands.send(request, reply, 'focal.directory.liaison-organisation.change-details', id, {
      organisationId: id,
      changes: body,
    });
  }

  @Post(':id/suspend')
  @ApiBody({ type: ReasonDto })
  suspend(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(ReasonDto) body: ReasonDto,
  ) {
    return this.commands.send(request, reply, 'focal.directory.liaison-organisation.suspend', id, {
      organisationId: id,
      reason: body.reason,
    });
  }

  @Post(':id/reinstate')
  reinstate(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
  ) {
    return this.commands.send(request, reply, 'focal.directory.liaison-organisation.reinstate', id, {
      organisationId: id,
    });
  }
}
