import { z } from 'zod';

import { ROLES, type DomainErrorCode } from '@focal/domain';

const id = z.string().min(1).max(200);

/** Who sends the command: the gateway copies it from the verified token. */
export const actorSchema = z.strictObject({
  principal: id,
  role: z.enum(ROLES),
  state: z.string().optional(),
  organisation: z.string().optional(),
});

/**
 * Every command request on NATS. The subject names the command; `command` holds its fields. The idempotency
 * key is required: a caller that retries (after a timeout, a lost reply, a restart) sends the same key and
 * gets the first result, with no second effect.
 */
export const commandEnvelopeSchema = z.strictObject({
  actor: actorSchema,
  idempotencyKey: id,
  correlationId: id,
  causationId: id.optional(),
  /** When the command was issued (ISO instant); the service's clock when absent. */
  at: z.string().optional(),
  /** Refuse the command (Conflict, reason `version-mismatch`) unless the stream is at this version (If-Match). */
  expectedVersion: z.number().int().min(0).optional(),
  command: z.unknown(),
});

export type CommandEnvelope<Command = unknown> = Omit<z.infer<typeof commandEnvelopeSchema>, 'command'> & {
  command: Command;
};

/** The reply to a command that was applied (or had been applied before under the same idempotency key). */
export interface CommandReply {
  streamId: string;
  /** The stream's version after the command: 0 when the stream is still empty. */
  version: number;
  /** The global position of the command's last event, or of the stream's last event when it changed nothing. */
  position: string | null;
}

/**
 * The error body of a refused command. Domain errors keep their code, reason and fields end to end, so the
 * gateway maps them exactly once to problem details; `Unavailable` means no service answered in time.
 */
export type RpcErrorCode = DomainErrorCode | 'Unavailable' | 'Internal';

export interface RpcErrorBody {
  code: RpcErrorCode;
  reason: string;
  message: string;
  fields?: Record<string, string>;
}

const RPC_ERROR_CODES: readonly string[] = [
  'NotFound',
  'Forbidden',
  'Conflict',
  'RuleViolated',
  'Invalid',
  'Unavailable',
  'Internal',
] satisfies RpcErrorCode[];

export function isRpcErrorBody(value: unknown): value is RpcErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const body = value as Record<string, unknown>;
  return (
    typeof body.code === 'string' &&
    RPC_ERROR_CODES.includes(body.code) &&
    typeof body.reason === 'string' &&
    typeof body.message === 'string'
  );
}

/** Zod's issues as one message per field, `a.b.0` for nested ones; unknown fields are named one by one. */
export function fieldProblems(error: z.ZodError, prefix = ''): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) fields[path ? `${path}.${key}` : key] = 'unknown field: remove it';
    } else {
      fields[path || '(message)'] ??= issue.message;
    }
  }
  return fields;
}
