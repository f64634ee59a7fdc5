import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

import type { JsonObject } from '@focal/events';
import type { CloudEventV1 } from 'cloudevents';
import { EventSource } from 'eventsource';

import { parseCloudEvent } from './cloud-events.js';

/** A Server-Sent Events client over fetch, collecting frames as they arrive. */
export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
}

export interface SseClient {
  status: number;
  frames: SseFrame[];
  /** Resolves when the server ends the stream (or the client closes it). */
  ended: Promise<void>;
  waitFor(condition: (frames: SseFrame[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): void;
}

export async function subscribe(
  url: string,
  token: string,
  headers: Record<string, string> = {},
): Promise<SseClient> {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  const frames: SseFrame[] = [];
  let notify = () => undefined as void;
  const ended = (async () => {
    if (!response.ok || !response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let split: number;
        while ((split = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          const frame: SseFrame = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = line.slice(0, colon);
            const value = line.slice(colon + 1).trimStart();
            if (field === 'id' || field === 'event' || field === 'data') frame[field] = value;
          }
          if (frame.event || frame.data) frames.push(frame);
        }
        notify();
      }
    } catch {
      // aborted by close()
    }
    notify();
  })();
  return {
    status: response.status,
    frames,
    ended,
    async waitFor(condition, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!condition(frames)) {
        if (Date.now() > deadline) throw new Error(`timed out with ${frames.length} frames`);
        await new Promise<void>((resolve) => {
          notify = resolve;
          setTimeout(resolve, 50);
        });
      }
    },
    close: () => abort.abort(),
  };
}

/**
 * The CloudEvent an event frame carries, parsed and validated by the `cloudevents` SDK as a structured-mode
 * message, as a client would; undefined for a control frame (`closed`, `overflow`), the only ones named.
 */
export function cloudEventOf(frame: SseFrame): CloudEventV1<JsonObject> | undefined {
  if (frame.event !== undefined || frame.data === undefined) return undefined;
  return parseCloudEvent(frame.data);
}

/** The Focal event type of an event frame (its CloudEvent type without the prefix), or a control frame's name. */
export function typeOf(frame: SseFrame): string | undefined {
  return frame.event ?? cloudEventOf(frame)?.type.replace(/^eu\.focal\./, '');
}

/** A standard EventSource as a client application opens it: with a bearer token, resuming after `lastEventId`. */
export function openEventSource(url: string, token: string, lastEventId?: string): EventSource {
  return new EventSource(url, {
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: {
          ...init?.headers,
          authorization: `Bearer ${token}`,
          ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
        },
      }),
  });
}

/**
 * A subscriber that does not read: a raw socket, paused, that has asked for `/v1/updates` from `lastEventId`.
 * Once the kernel's buffers are full, the gateway's own bound fills. `http`: '1.0' for a body without chunked
 * encoding (the gateway then ends it by closing), '1.1' with `Connection: close`.
 */
export async function unreadSubscription(
  baseUrl: string,
  token: string,
  lastEventId: string,
  http: '1.0' | '1.1' = '1.1',
): Promise<Socket> {
  const url = new URL(baseUrl);
  const socket = connect(Number(url.port), url.hostname);
  await once(socket, 'connect');
  socket.pause();
  socket.write(
    `GET /v1/updates HTTP/${http}\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n` +
      `Last-Event-ID: ${lastEventId}\r\nAccept: text/event-stream\r\n` +
      (http === '1.1' ? 'Connection: close\r\n\r\n' : '\r\n'),
  );
  return socket;
}
