import { AuditTrail } from '@focal/audit';
import type { Actor } from '@focal/domain';
import type { EventStore, Position } from '@focal/events';
import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';

import { Caller, type GatewayRequest } from '../auth/auth.guard.js';
import { STORE } from '../store.js';
import { Operation, Tag, ValidQuery } from '../http/operation.js';
import { Problem } from '../http/problem.js';

/** Public keys a checkpoint may be signed with; any valid signature when absent. */
export const TRUSTED_CHECKPOINT_KEYS = Symbol('TrustedCheckpointKeys');

const asOfQuery = z.strictObject({
  asOf: z
    .string()
    .max(40, 'must be at most 40 characters')
    .meta({ description: 'an ISO 8601 time', example: '2024-01-01T00:00:00Z' }),
});

const auditEventsQuery = z.strictObject({
  after: z
    .string()
    .max(100, 'must be at most 100 characters')
    .optional()
    .meta({ description: 'only events after this position' }),
  limit: z.coerce
    .number('must be a whole number')
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(100_000_000, 'must be at most 100000000')
    .optional()
    .meta({ description: 'at most this many events (all when omitted)' }),
  stream: z
    .string()
    .max(300, 'must be at most 300 characters')
    .optional()
    .meta({ description: 'one stream, e.g. contact-point-<id>' }),
  type: z
    .string()
    .max(2_000, 'must be at most 2000 characters')
    .optional()
    .meta({ description: 'comma-separated event types' }),
});

const AUDIT_PROBLEMS = [403] as const;

const actorAnswer = z.looseObject({ principal: z.string(), role: z.string() }).meta({ id: 'Actor' });

const streamHistoryAnswer = z
  .object({
    streamId: z.string(),
    version: z.number().int(),
    changes: z.array(
      z.object({
        position: z.string(),
        version: z.number().int(),
        type: z.string(),
        recordedAt: z.string(),
        by: actorAnswer,
        command: z.string().nullable(),
        correlationId: z.string(),
        data: z.record(z.string(), z.unknown()).meta({
          description: 'the event as recorded, personal fields decrypted (or read as erased)',
        }),
        changes: z.array(
          z.object({ field: z.string(), from: z.unknown().optional(), to: z.unknown().optional() }),
        ),
      }),
    ),
  })
  .meta({ id: 'StreamHistory' });

const directoryAsOfAnswer = z
  .object({
    asOf: z.string(),
    states: z.array(z.object({ code: z.string(), name: z.string(), status: z.string(), since: z.string() })),
    organisations: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        acronym: z.string(),
        kind: z.string(),
        suspended: z.boolean(),
      }),
    ),
    contactPoints: z.array(z.record(z.string(), z.unknown())),
  })
  .meta({ id: 'DirectoryAsOf' });

const verificationAnswer = z
  .object({
    ok: z.boolean(),
    checked: z.number().int(),
    checkpoints: z.number().int(),
    firstFailure: z
      .looseObject({ kind: z.enum(['chain', 'checkpoint']), problem: z.string() })
      .optional()
      .meta({ description: 'where the log first does not verify, and why' }),
  })
  .meta({ id: 'LogVerification' });

/**
 * A stream id as the log names it: a UUID after the category in lower case, as the REST reads take it in any
 * case (RFC 9562), so that an auditor is never told an entity has no history for writing its id in capitals.
 * A state's stream keeps its upper-case code.
 */
const canonicalStreamId = (streamId: string) =>
  streamId.replace(
    /-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i,
    (_whole, id: string) => `-${id.toLowerCase()}`,
  );

/**
 * The audit trail, for the secretariat and auditors only: the whole log as NDJSON, one entity's history with
 * field-level changes, and integrity verification. Every audit read is itself recorded in the log.
 */
@Tag('audit')
@Controller('v1')
export class AuditController {
  constructor(
    @Inject(STORE) private readonly store: EventStore,
    @Inject(AuditTrail) private readonly audit: AuditTrail,
    @Inject(TRUSTED_CHECKPOINT_KEYS) private readonly trustedKeys: string[] | undefined,
  ) {}

  @Get('audit/events')
  @Operation({
    summary: 'The log as NDJSON, streamed page by page (memory stays flat)',
    query: auditEventsQuery,
    success: {
      status: 200,
      description:
        'one event per line: position, stream, type, data (personal data decrypted unless erased), hashes',
      contentType: 'application/x-ndjson',
    },
    problems: [400, ...AUDIT_PROBLEMS],
  })
  async events(
    @Req() request: GatewayRequest,
    @Res() reply: FastifyReply,
    @Caller() caller: Actor,
    @ValidQuery(auditEventsQuery) query: z.infer<typeof auditEventsQuery>,
  ): Promise<void> {
    let after: Position | undefined;
    try {
      after = query.after !== undefined ? this.store.parsePosition(query.after) : undefined;
    } catch {
      throw new Problem(
        400,
        'invalid-position',
        'Invalid position',
        `after: ${query.after} is not a position of this log`,
        { after: 'not a position of this log' },
      );
    }
    const types = query.type
      ?.split(',')
      .map((type) => type.trim())
      .filter(Boolean);
    // Every refusal comes before the answer starts streaming as a 200.
    const lines = await this.audit.events(caller, request.url, {
      ...(after ? { after } : {}),
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.stream !== undefined ? { stream: canonicalStreamId(query.stream) } : {}),
      ...(types ? { types } : {}),
    });
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'application/x-ndjson; charset=utf-8',
      'x-correlation-id': request.id,
    });
    try {
      for await (const line of lines) {
        // Waiting for the client keeps memory flat, however large the log.
        if (!raw.write(`${JSON.stringify(line)}\n`))
          await new Promise((resolve) => raw.once('drain', resolve));
      }
    } finally {
      raw.end();
    }
  }

  @Get('audit/streams/:streamId')
  @Operation({
    summary: "One entity's history: who, when, which command and what changed, field by field",
    success: {
      status: 200,
      description: 'the stream, its version and its changes in order',
      schema: streamHistoryAnswer,
    },
    problems: [400, 404, ...AUDIT_PROBLEMS],
  })
  stream(@Caller() caller: Actor, @Param('streamId') streamId: string) {
    return this.audit.history(caller, canonicalStreamId(streamId));
  }

  @Get('directory')
  @Operation({
    summary: 'The directory as it stood at an instant (secretariat and auditors)',
    query: asOfQuery,
    success: {
      status: 200,
      description: 'states, liaison organisations and contact points as they stood',
      schema: directoryAsOfAnswer,
    },
    problems: [400, ...AUDIT_PROBLEMS],
  })
  directory(
    @Req() request: GatewayRequest,
    @Caller() caller: Actor,
    @ValidQuery(asOfQuery) query: z.infer<typeof asOfQuery>,
  ) {
    const instant = new Date(query.asOf);
    if (Number.isNaN(instant.getTime()) || !/^\d{4}-\d{2}-\d{2}(T.*)?$/.test(query.asOf)) {
      throw new Problem(
        400,
        'invalid-input',
        'Invalid input',
        `asOf: ${query.asOf} is not an ISO 8601 time`,
        {
          asOf: 'an ISO 8601 time, e.g. 2024-01-01T00:00:00Z',
        },
      );
    }
    return this.audit.directoryAsOf(caller, request.url, instant);
  }

  @Get('audit/verify')
  @Operation({
    summary:
      'Recomputes every hash chain and every checkpoint’s Merkle root; names the first position that does not match',
    success: {
      status: 200,
      description: 'whether the log verifies, and where it first does not',
      schema: verificationAnswer,
    },
    problems: [...AUDIT_PROBLEMS],
  })
  verify(@Req() request: GatewayRequest, @Caller() caller: Actor) {
    return this.audit.verify(caller, request.url, this.trustedKeys ? { trustedKeys: this.trustedKeys } : {});
  }
}
