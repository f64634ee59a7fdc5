import {
  COMMANDS,
  commandEnvelopeSchema,
  eventSubject,
  fieldProblems,
  inNamespace,
  type CommandFields,
  type CommandReply,
  type CommandSubject,
  type EventNotification,
  type RpcErrorBody,
  type ServiceName,
} from '@focal/contracts';
import { DomainError, invalid, type Actor, type Decider, type DomainEvent } from '@focal/domain';
import {
  fingerprintOf,
  handleCommand,
  type CommandContext,
  type CommandHandlerOptions,
  type CommandResult,
  isStoreUnreachable,
} from '@focal/events';
import type { NatsConnection } from '@nats-io/transport-node';
import type { LoggerService } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';

import type { CommandOutcome } from './metrics.js';
import { MalformedMessage } from './nats-server.js';

/** A command as a route receives it: checked fields, the actor, the time, and the idempotency context. */
export interface CommandRequest {
  actor: Actor;
  at: string;
  context: CommandContext;
}

/** A command answered: what the metrics count and the command's log line says. */
export interface AnsweredCommand {
  subject: string;
  outcome: CommandOutcome;
  seconds: number;
  correlationId?: string;
}

export type SubjectOf<Service extends ServiceName> = Extract<CommandSubject, `focal.${Service}.${string}`>;

/** One route per subject of the service; the compiler refuses a service that leaves a command out. */
export type CommandRoutes<Service extends ServiceName> = {
  [S in SubjectOf<Service>]: (fields: CommandFields<S>, request: CommandRequest) => Promise<CommandResult>;
};

/**
 * The message-handling edge of a service: checks the envelope and the fields against the contracts, hands
 * the command to its route, publishes the live notifications, and maps every outcome to a reply or a coded
 * error. It also counts the commands in flight, so a shutdown can wait for them.
 */
export class CommandHost<Service extends ServiceName = ServiceName> {
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private nats?: NatsConnection;
  /** Commands this instance answered (applied or refused) since it started. */
  handled = 0;

  private namespace?: string;
  private readonly listeners = new Set<(answered: AnsweredCommand) => void>();

  constructor(
    readonly service: Service,
    private readonly routes: CommandRoutes<Service>,
    private readonly logger: LoggerService,
  ) {}

  /** Publishes notifications on this connection, in this namespace, from now on. */
  connect(nats: NatsConnection, namespace?: string): void {
    this.nats = nats;
    this.namespace = namespace;
  }

  /** Calls `listener` with every command answered from now on (the metrics); returns how to stop. */
  onAnswered(listener: (answered: AnsweredCommand) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async handle(subject: SubjectOf<Service>, raw: unknown): Promise<CommandReply> {
    this.inFlight++;
    const started = performance.now();
    let outcome: CommandOutcome = 'ok';
    try {
      return await this.run(subject, raw);
    } catch (error) {
      const body = this.errorBody(subject, error);
      outcome = body.code;
      throw new RpcException(body);
    } finally {
      this.handled++;
      this.answered({ subject, outcome, seconds: (performance.now() - started) / 1000, raw });
      if (--this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /**
   * One log line per command, with the caller's correlation id (read even from an envelope refused as
   * invalid, when it is a short string), never the command's fields; then the listeners.
   */
  private answered({ raw, ...answer }: Omit<AnsweredCommand, 'correlationId'> & { raw: unknown }): void {
    const given = (raw as { correlationId?: unknown } | null)?.correlationId;
    const answered: AnsweredCommand = {
      ...answer,
      ...(typeof given === 'string' && given.length <= 200 ? { correlationId: given } : {}),
    };
    this.logger.log({
      msg: 'command answered',
      subject: answered.subject,
      outcome: answered.outcome,
      durationMs: Math.round(answered.seconds * 1_000_000) / 1_000,
      ...(answered.correlationId ? { correlationId: answered.correlationId } : {}),
    });
    for (const listener of this.listeners) {
      try {
        listener(answered);
      } catch (error) {
        this.logger.warn?.(`a command listener failed: ${(error as Error).message}`);
      }
    }
  }

  /** Resolves once no command is in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(subject: SubjectOf<Service>, raw: unknown): Promise<CommandReply> {
    if (raw instanceof MalformedMessage) throw invalid({ message: raw.problem });
    const envelope = commandEnvelopeSchema.safeParse(raw);
    if (!envelope.success) throw invalid(fieldProblems(envelope.error));
    const spec = COMMANDS[subject];
    const fields = spec.schema.safeParse(envelope.data.command);
    if (!fields.success) throw invalid(fieldProblems(fields.error));

    const { actor, idempotencyKey, correlationId, causationId } = envelope.data;
    const at = envelope.data.at ?? new Date().toISOString();
    const request: CommandRequest = {
      actor,
      at,
      context: {
        metadata: { actor, correlationId, ...(causationId ? { causationId } : {}) },
        idempotencyKey,
        fingerprint: fingerprintOf({ type: spec.type, fields: fields.data }),
        ...(envelope.data.expectedVersion !== undefined
          ? { expectedVersion: envelope.data.expectedVersion }
          : {}),
      },
    };
    const route = this.routes[subject] as (
      fields: unknown,
      request: CommandRequest,
    ) => Promise<CommandResult>;
    const result = await route(fields.data, request);
    this.notify(result);
    return { streamId: result.streamId, version: result.version, position: result.position };
  }

  /**
   * The doorbell for consumers, after the append. Losing it (a crash right here, NATS away) delays consumers
   * until their next poll of the store; it never loses an event.
   */
  private notify(result: CommandResult): void {
    if (!this.nats || result.appended.length === 0 || this.nats.isClosed()) return;
    for (const event of result.appended) {
      const notification: EventNotification = {
        eventId: event.eventId,
        streamId: result.streamId,
        streamVersion: event.streamVersion,
        position: result.position!,
        type: event.type,
      };
      try {
        this.nats.publish(
          inNamespace(this.namespace, eventSubject(result.streamId, event.type)),
          JSON.stringify(notification),
        );
      } catch (error) {
        this.logger.warn?.(`notification not published: ${(error as Error).message}`);
      }
    }
  }

  private errorBody(subject: string, error: unknown): RpcErrorBody {
    if (error instanceof DomainError) {
      return {
        code: error.code,
        reason: error.reason,
        message: error.message,
        ...(Object.keys(error.fields).length > 0 ? { fields: { ...error.fields } } : {}),
      };
    }
    if (isStoreUnreachable(error)) {
      this.logger.warn?.(`${subject}: store unavailable: ${(error as Error).message}`);
      return {
        code: 'Unavailable',
        reason: 'store-unavailable',
        message: `the ${this.service} service cannot reach its event store; try again shortly`,
      };
    }
    this.logger.error(`${subject} failed: ${(error as Error)?.stack ?? String(error)}`);
    return {
      code: 'Internal',
      reason: 'internal-error',
      message: `the ${this.service} service failed to handle ${subject}; send it again with the same idempotency key: it takes effect at most once`,
    };
  }
}

/**
 * A route that turns a command's fields into its domain command (type, actor, time, facts) and hands it to
 * the one command handler. `streamOf` checks the id the stream is named after, before anything is read.
 */
export function commandRoute<
  Command extends { type: string },
  State,
  Event extends DomainEvent,
  Fields extends object,
>(
  options: CommandHandlerOptions,
  decider: Decider<Command, State, Event>,
  type: Command['type'],
  // NoInfer: the fields' type comes from the subject the route serves, not from these helpers.
  streamOf: (fields: NoInfer<Fields>) => string,
  facts?: (fields: NoInfer<Fields>, request: CommandRequest) => Promise<object>,
): (fields: Fields, request: CommandRequest) => Promise<CommandResult> {
  return async (fields, request) => {
    const streamId = streamOf(fields);
    const command = {
      type,
      actor: request.actor,
      at: request.at,
      ...fields,
      ...(facts ? { facts: await facts(fields, request) } : {}),
    } as unknown as Command;
    return handleCommand(options, decider, streamId, command, request.context);
  };
}

/** The stream named after a checked id; an id the domain refuses is an Invalid naming its field. */
export function streamNamedBy(
  field: string,
  id: string,
  check: (id: string) => string | undefined,
  name: (id: string) => string,
) {
  const problem = check(id);
  if (problem) throw invalid({ [field]: problem });
  return name(id);
}
