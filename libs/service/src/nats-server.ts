import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { ServerNats, type NatsOptions } from '@nestjs/microservices';

/** The data a handler receives for a message that could not be read as JSON. */
export class MalformedMessage {
  constructor(readonly problem: string) {}
}

/**
 * Reads every message on a command subject as a request to answer: Nest's own packets, plain JSON from any
 * NATS client, and bytes that are not JSON at all (handed on as a MalformedMessage, so the caller gets an
 * Invalid reply instead of silence).
 */
export class LenientJsonDeserializer {
  deserialize(message: { data: Uint8Array; json(): unknown }, options?: { channel: string }) {
    let value: unknown;
    try {
      value = message.json();
    } catch (error) {
      return {
        pattern: options?.channel,
        id: 'malformed',
        data: new MalformedMessage(`the message is not JSON (${(error as Error).message})`),
      };
    }
    const packet = value as { pattern?: unknown; data?: unknown; id?: unknown } | null;
    if (packet && typeof packet === 'object' && packet.pattern !== undefined && packet.id !== undefined) {
      return packet;
    }
    // Plain JSON from a NATS client that does not speak Nest's packet format: still a request.
    return { pattern: options?.channel, id: 'external', data: value };
  }
}

/**
 * Nest's NATS server, plus `stopAccepting()`: on shutdown it leaves the queue groups first, so that other
 * instances take new commands while this one finishes the ones it holds.
 */
export class FocalNatsServer extends ServerNats {
  constructor(options: NonNullable<NatsOptions['options']>) {
    super({
      // Keep reconnecting for as long as the process lives: NATS coming back must not need a restart.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...options,
      deserializer: new LenientJsonDeserializer(),
    });
  }

  stopAccepting(): void {
    // Nest keeps the subscriptions private; unsubscribing them is the public NATS API.
    const self = this as unknown as { subscriptions: Subscription[] };
    for (const subscription of self.subscriptions) subscription.unsubscribe();
    self.subscriptions = [];
  }

  /** Joins the queue groups again after `stopAccepting` (the store came back); does nothing if in them. */
  resumeAccepting(): void {
    const self = this as unknown as { subscriptions: Subscription[]; natsClient?: NatsConnection };
    if (self.subscriptions.length > 0 || !self.natsClient || self.natsClient.isClosed()) return;
    this.bindEvents(self.natsClient);
  }

  /** Whether this instance is in its queue groups, taking commands. */
  get accepting(): boolean {
    return (this as unknown as { subscriptions: Subscription[] }).subscriptions.length > 0;
  }
}
