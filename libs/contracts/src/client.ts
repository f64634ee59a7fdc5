import { DomainError } from '@focal/domain';
import type { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, timeout, TimeoutError } from 'rxjs';

import { COMMANDS, type CommandFields, type CommandSubject } from './commands.js';
import { inNamespace } from './events.js';
import { isRpcErrorBody, type CommandEnvelope, type CommandReply, type RpcErrorBody } from './envelope.js';

/** No instance of the service answered in time: NATS or the service is down, or overloaded. */
export class ServiceUnavailableError extends Error {
  readonly code = 'Unavailable';
  constructor(
    readonly service: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceUnavailableError';
  }
}

/** The service failed for a reason that is not the caller's (a bug, the store down); retrying may help. */
export class ServiceFailedError extends Error {
  readonly code = 'Internal';
  constructor(
    readonly service: string,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceFailedError';
  }
}

export type CommandError = DomainError | ServiceUnavailableError | ServiceFailedError;

/** Turns an error body from NATS back into the error the service raised. */
export function errorFromBody(service: string, body: RpcErrorBody): CommandError {
  switch (body.code) {
    case 'Unavailable':
      return new ServiceUnavailableError(service, body.message);
    case 'Internal':
      return new ServiceFailedError(service, body.reason, body.message);
    default:
      return new DomainError(body.code, body.reason, body.message, body.fields ?? {});
  }
}

/**
 * Sends commands to the directory and messaging services over NATS, each bounded by a timeout, and turns
 * every failure into a DomainError (as the service decided it) or a ServiceUnavailableError.
 */
export class CommandClient {
  constructor(
    private readonly proxy: ClientProxy,
    private readonly options: { timeoutMs?: number; namespace?: string } = {},
  ) {}

  get timeoutMs(): number {
    return this.options.timeoutMs ?? 5_000;
  }

  async send<S extends CommandSubject>(
    subject: S,
    envelope: CommandEnvelope<CommandFields<S>>,
  ): Promise<CommandReply> {
    const service = COMMANDS[subject].service;
    try {
      return await firstValueFrom(
        this.proxy
          .send<CommandReply>(inNamespace(this.options.namespace, subject), envelope)
          .pipe(timeout({ first: this.timeoutMs })),
      );
    } catch (error) {
      if (isRpcErrorBody(error)) throw errorFromBody(service, error);
      if (error instanceof TimeoutError) {
        throw new ServiceUnavailableError(
          service,
          `the ${service} service did not answer within ${this.timeoutMs} ms; it or NATS may be down: try again shortly`,
        );
      }
      throw new ServiceUnavailableError(
        service,
        `the ${service} service cannot be reached (${(error as Error)?.message ?? String(error)}): try again shortly`,
      );
    }
  }
}
