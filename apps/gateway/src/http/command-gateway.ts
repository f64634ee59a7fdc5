import { createHmac, randomUUID } from 'node:crypto';

import type { CommandClient, CommandFields, CommandSubject } from '@focal/contracts';
import { principalKey } from '@focal/domain';
import type { EventStore } from '@focal/events';
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import type { GatewayRequest } from '../auth/auth.guard.js';
import { READ_MODELS, type ReadModels } from '../read-models/read-models.js';
import { STORE } from '../store.js';
import { PositionCursors } from './position-cursors.js';
import { Problem } from './problem.js';

/** The NATS command client, provided by the composition (gateway-app.ts). */
export const COMMANDS = Symbol('CommandClient');

const KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

/** The server's secret for entity ids derived from idempotency keys (see `keyedUuid`). */
export const ID_SECRET = Symbol('IdSecret');

/**
 * A UUIDv8 (RFC 9562, §5.8) made of an HMAC of `input` under a server secret: a retry with the same key names
 * the same entity, and nobody without the secret can tell an id from a caller and a key beforehand.
 */
export function keyedUuid(secret: Uint8Array, input: string): string {
  const bytes = createHmac('sha256', secret).update(input).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface WriteResult {
  id: string;
  version: number;
  position: string | null;
}

/**
 * Sends a command for an HTTP request: the caller as actor, `Idempotency-Key` (a fresh one when absent),
 * `If-Match` as the expected version, the correlation id; answers with `ETag` and `Focal-Position` headers.
 */
@Injectable()
export class CommandGateway {
  constructor(
    @Inject(COMMANDS) private readonly commands: CommandClient,
    @Inject(STORE) private readonly store: EventStore,
    @Inject(READ_MODELS) private readonly readModels: ReadModels,
    @Inject(ID_SECRET) private readonly idSecret: Uint8Array,
    @Inject(PositionCursors) private readonly cursors: PositionCursors,
  ) {}

  /**
   * An id for a new entity: derived from the whole caller and the Idempotency-Key when given, so that a retry
   * names the same one and no other caller's key ever does.
   */
  newId(request: GatewayRequest): string {
    const key = idempotencyKeyOf(request);
    return key ? keyedUuid(this.idSecret, `${principalKey(request.actor!)}\n${key}`) : randomUUID();
  }

  async send<S extends CommandSubject>(
    request: GatewayRequest,
    reply: FastifyReply,
    subject: S,
    id: string,
    command: CommandFields<S>,
    /** The answer's status, or how to tell it from the stream's version after the command. */
    status: number | ((version: number) => number) = 200,
  ): Promise<WriteResult> {
    const ifMatch = request.headers['if-match'];
    let expectedVersion: number | undefined;
    if (ifMatch !== undefined) {
      const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(String(ifMatch).trim());
      if (!match) {
        throw new Problem(
          400,
          'invalid-if-match',
          'Invalid If-Match',
          'If-Match must be a version as an ETag, e.g. "3"',
        );
      }
      expectedVersion = Number(match[1]);
    }
    const result = await this.commands.send(subject, {
      actor: request.actor!,
      idempotencyKey: idempotencyKeyOf(request) ?? randomUUID(),
      correlationId: correlationIdOf(request),
      ...(expectedVersion !== undefined ? { expectedVersion } : {}),
      command,
    });
    void reply
      .status(typeof status === 'number' ? status : status(result.version))
      .header('etag', `"${result.version}"`);
    // The write's position as the caller is shown it: a cursor unless they may see every event.
    const position = result.position && this.cursors.shown(result.position, request.actor!);
    if (position) void reply.header('focal-position', position);
    return { id, version: result.version, position };
  }

  /**
   * A command a read causes (a thread read records delivery receipts): the caller as actor and the correlation
   * id, but never `Idempotency-Key` or `If-Match`, which are a write's and would turn the read into a
   * conditional or replayed write; nor does it touch the read's answer.
   */
  async record<S extends CommandSubject>(
    request: GatewayRequest,
    subject: S,
    command: CommandFields<S>,
  ): Promise<void> {
    await this.commands.send(subject, {
      actor: request.actor!,
      idempotencyKey: randomUUID(),
      correlationId: correlationIdOf(request),
      command,
    });
  }

  /**
   * Read-your-writes: with `Focal-Read-After: <position>` (from a write's `Focal-Position`), the read waits,
   * at most 5 s, until the read models hold every event stored up to now, which includes that write.
   */
  async consistentRead(request: GatewayRequest): Promise<void> {
    const after = request.headers['focal-read-after'];
    if (after === undefined) return;
    // Checked, not used: the read waits for everything stored up to now, so no value tells the caller anything,
    // and a position is taken from anyone (a write's by another caller, as audit shows it), as is a cursor.
    try {
      const parse = (text: string) => this.store.parsePosition(text);
      try {
        parse(String(after));
      } catch {
        this.cursors.read(String(after), request.actor!, parse);
      }
    } catch {
      throw new Problem(
        400,
        'invalid-position',
        'Invalid position',
        'Focal-Read-After must be a position from a Focal-Position header',
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Problem(
              503,
              'read-model-behind',
              'Service unavailable',
              'the read models did not catch up within 5 s: try again',
            ),
          ),
        5_000,
      );
    });
    try {
      await Promise.race([this.readModels.catchUp(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function idempotencyKeyOf(request: GatewayRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new Problem(
      400,
      'invalid-idempotency-key',
      'Invalid Idempotency-Key',
      'Idempotency-Key must be 1 to 200 visible ASCII characters, e.g. a UUID',
    );
  }
  return key;
}

export function correlationIdOf(request: FastifyRequest): string {
  const given = request.headers['x-correlation-id'];
  return typeof given === 'string' && KEY_PATTERN.test(given) ? given : request.id;
}
