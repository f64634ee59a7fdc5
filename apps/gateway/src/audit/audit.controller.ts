import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import type { Actor } from '@focal/domain';
import {
  PersonalDataCodec,
  verifyLog,
  type EventStore,
  type KeyStore,
  type Position,
  type RecordedEvent,
} from '@focal/events';
import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';

import { Caller, STORE, type GatewayRequest } from '../http/context.js';
import { Operation, Tag, ValidQuery } from '../http/operation.js';
import { Problem } from '../http/problem.js';
import { auditLine, recordAuditRead } from './audit-trail.js';
import type { DirectorySnapshots } from './directory-snapshots.js';
import { history } from './history.js';

export const KEYS = Symbol('KeyStore');
/** Public keys a checkpoint may be signed with; any valid signature when absent. */
export const DIRECTORY_AS_OF = Symbol('DirectorySnapshots');
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

const invalidStream = (streamId: string) =>
  new Problem(
    400,
    'invalid-stream',
    'Invalid stream',
    `${streamId} is not a stream id: use letters, digits, '.', '_', ':' or '-', e.g. contact-point-<uuid>`,
  );

/**
 * The audit trail, for the secretariat and auditors only: the whole log as NDJSON, one entity's history with
 * field-level changes, and integrity verification. Every audit read is itself recorded in the log.
 */
@Tag('audit')
@Controller('v1')
export class AuditController {
  private readonly codec: PersonalDataCodec;

  constructor(
    @Inject(STORE) private readonly store: EventStore,
    @Inject(KEYS) private readonly keys: KeyStore,
    @Inject(TRUSTED_CHECKPOINT_KEYS) private readonly trustedKeys: string[] | undefined,
    @Inject(DIRECTORY_AS_OF) private readonly directoryAsOf: DirectorySnapshots,
  ) {
    this.codec = new PersonalDataCodec(keys, CONTACT_POINT_PERSONAL_FIELDS);
  }

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
    this.allow(caller);
    let cursor: Position | undefined;
    try {
      cursor = query.after !== undefined ? this.store.parsePosition(query.after) : undefined;
    } catch {
      throw new Problem(
        400,
        'invalid-position',
        'Invalid position',
        `after: ${query.after} is not a position of this log`,
        {
          after: 'not a position of this log',
        },
      );
    }
    // A stream id the store refuses is told now, before the answer starts streaming as a 200.
    if (query.stream !== undefined) {
      await this.store.readStream(query.stream, { limit: 1 }).catch(() => {
        throw invalidStream(query.stream!);
      });
    }
    const types = query.type
      ?.split(',')
      .map((type) => type.trim())
      .filter(Boolean);
    await this.recordRead(caller, request.url);

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'application/x-ndjson; charset=utf-8',
      'x-correlation-id': request.id,
    });
    let remaining = query.limit ?? Number.POSITIVE_INFINITY;
    try {
      if (query.stream !== undefined) {
        let version = 1;
        while (remaining > 0) {
          const page = await this.store.readStream(query.stream, { fromVersion: version, limit: 1_000 });
          if (page.length === 0) break;
          version = page.at(-1)!.streamVersion + 1;
          for (const event of page) {
            if (
              (cursor && this.store.comparePositions(event.globalPosition, cursor) <= 0) ||
              (types && !types.includes(event.type))
            )
              continue;
            if (remaining-- <= 0) break;
            if (!raw.write(`${JSON.stringify(await this.line(event))}\n`))
              await new Promise((resolve) => raw.once('drain', resolve));
          }
        }
      } else {
        while (remaining > 0) {
          const page = await this.store.readAll({
            ...(cursor ? { after: cursor } : {}),
            limit: Math.min(1_000, remaining),
            ...(types ? { filter: { types } } : {}),
          });
          if (page.length === 0) break;
          for (const event of page) {
            remaining--;
            // Waiting for the client keeps memory flat, however large the log.
            if (!raw.write(`${JSON.stringify(await this.line(event))}\n`))
              await new Promise((resolve) => raw.once('drain', resolve));
          }
          cursor = page.at(-1)!.globalPosition;
        }
      }
    } finally {
      raw.end();
    }
  }

  @Get('audit/streams/:streamId')
  @Operation({
    summary: "One entity's history: who, when, which command and what changed, field by field",
    success: { status: 200, description: 'the stream, its version and its changes in order' },
    problems: [400, 404, ...AUDIT_PROBLEMS],
  })
  async stream(@Req() request: GatewayRequest, @Caller() caller: Actor, @Param('streamId') streamId: string) {
    this.allow(caller);
    const events = await this.store.readStream(streamId).catch(() => {
      throw invalidStream(streamId);
    });
    if (events.length === 0) throw new Problem(404, 'not-found', 'Not found', `no stream ${streamId}`);
    await this.recordRead(caller, request.url);
    return {
      streamId,
      version: events.at(-1)!.streamVersion,
      changes: history(events, await this.codec.decode(streamId, events)),
    };
  }

  @Get('directory')
  @Operation({
    summary: 'The directory as it stood at an instant (secretariat and auditors)',
    query: asOfQuery,
    success: { status: 200, description: 'states, liaison organisations and contact points as they stood' },
    problems: [400, ...AUDIT_PROBLEMS],
  })
  async directory(
    @Req() request: GatewayRequest,
    @Caller() caller: Actor,
    @ValidQuery(asOfQuery) query: z.infer<typeof asOfQuery>,
  ) {
    this.allow(caller);
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
    await this.recordRead(caller, request.url);
    return this.directoryAsOf.asOf(instant);
  }

  @Get('audit/verify')
  @Operation({
    summary:
      'Recomputes every hash chain and every checkpoint’s Merkle root; names the first position that does not match',
    success: { status: 200, description: 'whether the log verifies, and where it first does not' },
    problems: [...AUDIT_PROBLEMS],
  })
  async verify(@Req() request: GatewayRequest, @Caller() caller: Actor) {
    this.allow(caller);
    await this.recordRead(caller, request.url);
    return verifyLog(this.store, this.trustedKeys ? { trustedKeys: this.trustedKeys } : {});
  }

  private allow(caller: Actor): void {
    if (caller.role !== 'secretariat' && caller.role !== 'auditor') {
      throw new Problem(
        403,
        'audit/secretariat-and-auditors-only',
        'Not allowed',
        'the audit trail is for the secretariat and auditors',
      );
    }
  }

  private recordRead(caller: Actor, what: string): Promise<void> {
    return recordAuditRead(this.store, caller, what);
  }

  private line(event: RecordedEvent) {
    return auditLine(event, this.codec, this.keys);
  }
}
