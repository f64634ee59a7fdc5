/**
 * The subscribers of bench:live, in a process of their own: one standard `eventsource` client per subscriber
 * (the client others use), each noting every frame's id, its arrival, and whether its data holds a closed
 * field (e-mail, phone, notes), and the tag of the write it comes from. When the parent names the tags each
 * audience must receive, waits for every stream to receive its own (or the deadline) and reports.
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
  /** The tag of the write each frame comes from (see tagOf), or null for an event that is not a write's. */
  tags: (string | null)[];
  arrivals: number[];
  /** Frames whose data held a closed field. */
  withClosedFields: number;
  /** Control frames (`closed`, `overflow`) and connection errors: none is expected. */
  controlFrames: number;
  errors: number;
  /** When the stream had received every write its audience must, or null if it did not in time. */
  caughtUpAt: number | null;
}

const url = process.env.LIVE_URL!;
const subscribers = JSON.parse(process.env.LIVE_SUBSCRIBERS!) as Subscriber[];
const catchUpMs = Number(process.env.LIVE_CATCH_UP_MS);

/**
 * The writers' tag (`<state>.<i>`) in what every audience that receives the event is given: the new name of a
 * registration, the new authority of a change, or (a change only those who may see closed fields receive) the
 * new e-mail.
 */
const TAG = /(?:Contact|Authority) ([A-Z]{2}) (\d+)"|changed\.([a-z]{2})\.(\d+)@/;
const tagOf = (data: string): string | null => {
  const match = TAG.exec(data);
  if (!match) return null;
  return match[1] ? `${match[1]}.${match[2]}` : `${match[3]!.toUpperCase()}.${match[4]}`;
};

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
    tags: [],
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
  let remaining: Set<string> | undefined;
  const seen = new Set<string>();
  const opened = new Promise<void>((resolve) => (source.onopen = () => resolve()));
  source.onerror = () => received.errors++;
  source.addEventListener('closed', () => received.controlFrames++);
  source.addEventListener('overflow', () => received.controlFrames++);
  source.onmessage = (message) => {
    const now = Date.now();
    const tag = tagOf(message.data);
    received.ids.push(message.lastEventId);
    received.tags.push(tag);
    received.arrivals.push(now);
    if (holdsClosedField((JSON.parse(message.data) as { data: unknown }).data)) received.withClosedFields++;
    if (tag) seen.add(tag);
    remaining?.delete(tag ?? '');
    if (remaining?.size === 0 && received.caughtUpAt === null) received.caughtUpAt = now;
  };
  return {
    received,
    opened,
    source,
    expect(tags: string[]) {
      remaining = new Set(tags.filter((tag) => !seen.has(tag)));
      if (received.caughtUpAt === null && remaining.size === 0) received.caughtUpAt = Date.now();
    },
  };
});

await Promise.all(streams.map((stream) => stream.opened));
process.send!({ connected: true });

process.on('message', (message: { expected?: Record<Subscriber['audience'], string[]> }) => {
  if (!message.expected) return;
  for (const stream of streams) stream.expect(message.expected[stream.received.audience]);
  const deadline = Date.now() + catchUpMs;
  const check = setInterval(() => {
    if (streams.some((stream) => stream.received.caughtUpAt === null) && Date.now() < deadline) return;
    clearInterval(check);
    for (const stream of streams) stream.source.close();
    process.send!({ received: streams.map((stream) => stream.received) }, () => process.exit(0));
  }, 50);
});
