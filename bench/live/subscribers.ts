/**
 * The subscribers of bench:live, in a process of their own: one standard `eventsource` client per subscriber
 * (the client others use), each noting every frame's id, its arrival, and whether its data holds a closed
 * field (e-mail, phone, notes). When the parent names the last positions each audience must reach, waits for
 * every stream to reach its own (or the deadline) and reports.
 */
import { EventSource } from 'eventsource';

export interface Subscriber {
  name: string;
  audience: 'secretariat' | 'member' | 'liaison';
  token: string;
}

export interface Received {
  name: string;
  audience: Subscriber['audience'];
  ids: string[];
  arrivals: number[];
  /** Frames whose data held a closed field. */
  withClosedFields: number;
  /** Control frames (`closed`, `overflow`) and connection errors: none is expected. */
  controlFrames: number;
  errors: number;
  /** When the stream reached its audience's last position, or null if it did not in time. */
  caughtUpAt: number | null;
}

const url = process.env.LIVE_URL!;
const subscribers = JSON.parse(process.env.LIVE_SUBSCRIBERS!) as Subscriber[];
const catchUpMs = Number(process.env.LIVE_CATCH_UP_MS);

const CLOSED_FIELDS = new Set(['email', 'phone', 'notes']);
const holdsClosedField = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  Object.entries(value).some(([key, inner]) => CLOSED_FIELDS.has(key) || holdsClosedField(inner));

const streams = subscribers.map((subscriber) => {
  const received: Received = {
    name: subscriber.name,
    audience: subscriber.audience,
    ids: [],
    arrivals: [],
    withClosedFields: 0,
    controlFrames: 0,
    errors: 0,
    caughtUpAt: null,
  };
  const source = new EventSource(`${url}/v1/updates`, {
    fetch: (input, init) =>
      fetch(input, { ...init, headers: { ...init.headers, authorization: `Bearer ${subscriber.token}` } }),
  });
  let last = -1n;
  let target: bigint | undefined;
  const opened = new Promise<void>((resolve) => (source.onopen = () => resolve()));
  source.onerror = () => received.errors++;
  source.addEventListener('closed', () => received.controlFrames++);
  source.addEventListener('overflow', () => received.controlFrames++);
  source.onmessage = (message) => {
    const now = Date.now();
    received.ids.push(message.lastEventId);
    received.arrivals.push(now);
    if (holdsClosedField((JSON.parse(message.data) as { data: unknown }).data)) received.withClosedFields++;
    const position = BigInt(message.lastEventId);
    if (position > last) last = position;
    if (target !== undefined && received.caughtUpAt === null && last >= target) received.caughtUpAt = now;
  };
  return {
    received,
    opened,
    source,
    expect(position: bigint) {
      target = position;
      if (received.caughtUpAt === null && last >= target) received.caughtUpAt = Date.now();
    },
  };
});

await Promise.all(streams.map((stream) => stream.opened));
process.send!({ connected: true });

process.on('message', (message: { lastPositions?: Record<Subscriber['audience'], string> }) => {
  if (!message.lastPositions) return;
  for (const stream of streams) stream.expect(BigInt(message.lastPositions[stream.received.audience]));
  const deadline = Date.now() + catchUpMs;
  const check = setInterval(() => {
    if (streams.some((stream) => stream.received.caughtUpAt === null) && Date.now() < deadline) return;
    clearInterval(check);
    for (const stream of streams) stream.source.close();
    process.send!({ received: streams.map((stream) => stream.received) }, () => process.exit(0));
  }, 50);
});
