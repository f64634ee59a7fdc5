import { EVENT_SCHEMA_VERSIONS, maySeeEverything, type Actor } from '@focal/domain';
import type { EventStore, Position, RecordedEvent, WaitCancel } from '@focal/events';
import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';

import { Caller, type GatewayRequest } from '../auth/auth.guard.js';
import { STORE } from '../store.js';
import { Operation, Tag, ValidQuery } from '../http/operation.js';
import { PositionCursors } from '../http/position-cursors.js';
import { Problem } from '../http/problem.js';
import { StandingWatch } from '../auth/standing-watch.js';
import type { LogTail } from './log-tail.js';
import { CLOUDEVENT_TYPE_PREFIX, type DecryptedFrames, type UpdateFrames } from './update-frames.js';

export const LOG_TAIL = Symbol('LogTail');
export const UPDATE_FRAMES = Symbol('UpdateFrames');
export const UPDATES_OPTIONS = Symbol('UpdatesOptions');

export interface UpdatesOptions {
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs: number;
  /** Unread bytes held for a subscriber before the gateway waits for it to read (its bounded buffer). */
  maxBufferedBytes: number;
  /** How long a subscriber may read nothing while its buffer is full before its stream is closed. */
  stallMs: number;
  /** Aborted when the gateway shuts down: every stream ends with the position to resume from. */
  shutdown: AbortSignal;
  /** For metrics: streams opened and closed, and streams cut off for not reading. */
  onStream?: (change: 'opened' | 'closed' | 'overflowed') => void;
}

const updatesQuery = z.strictObject({
  types: z.string().max(2_000, 'must be at most 2000 characters').optional().meta({
    description:
      'comma-separated event types, bare or as CloudEvent types, e.g. ThreadOpened,eu.focal.MessagePosted',
  }),
  lastEventId: z.string().max(200, 'must be at most 200 characters').optional().meta({
    description: 'resume after this event id (instead of the Last-Event-ID header); 0 from the start',
  }),
});

const PAGE = 500;
/**
 * Frames pending past this many characters are written at once (back-pressure is checked); otherwise they are
 * written once the stream is caught up, never at the end of a full page: a tester read a replay's chunks, one
 * ending wherever a page of 500 events ended, so that the frames in it told a guest how many of those 500 it
 * may not see.
 */
const FLUSH_BYTES = 65_536;

@Tag('updates')
@Controller('v1/updates')
export class UpdatesController {
  constructor(
    @Inject(STORE) private readonly store: EventStore,
    @Inject(LOG_TAIL) private readonly tail: LogTail,
    @Inject(UPDATE_FRAMES) private readonly frames: UpdateFrames,
    @Inject(UPDATES_OPTIONS) private readonly options: UpdatesOptions,
    @Inject(PositionCursors) private readonly cursors: PositionCursors,
  ) {}

  @Get()
  @Operation({
    summary:
      'Server-Sent Events: every event the caller may see, in global order, resumable with Last-Event-ID',
    query: updatesQuery,
    headers: ['Last-Event-ID'],
    success: {
      status: 200,
      description:
        'an event stream: one unnamed frame (`message`) per event, its data a CloudEvent 1.0 in structured JSON ' +
        "and its id the event's position or, unless the caller may see every event (secretariat, auditor), the " +
        "position's cursor (opaque: it resumes a stream, it is neither ordered nor counted); named `closed` or " +
        '`overflow` frames end it with the id to resume from. ' +
        'It ends (`closed`) when the token it was opened with expires, event or not: reconnect with a new token',
      contentType: 'text/event-stream',
    },
    problems: [400],
  })
  async stream(
    @Req() request: GatewayRequest,
    @Res() reply: FastifyReply,
    @Caller() viewer: Actor,
    @ValidQuery(updatesQuery) query: z.infer<typeof updatesQuery>,
  ): Promise<void> {
    const types = this.parseTypes(query.types);
    const resume = query.lastEventId ?? request.headers['last-event-id'];
    // `0` replays from the start of the log (SPEC §5); no id starts at the present: the store's head, since
    // the tail's may lag behind it under load and would hand over events written before the subscription.
    let cursor: Position | null = resume === undefined ? ((await this.store.headPosition()) ?? null) : null;
    const notOfThisLog = () =>
      new Problem(
        400,
        'invalid-last-event-id',
        'Invalid Last-Event-ID',
        // A bare position from who may not see every event: one kept from before cursors, most likely.
        /^\d+$/.test(String(resume)) && !maySeeEverything(viewer)
          ? `${String(resume)} is a position of the log, which only the secretariat and auditors resume from ` +
              '(the ids others are given are cursors): resume with the id of an event received since, 0 to ' +
              'replay from the start, or no Last-Event-ID for the present'
          : `${String(resume)} is not a position of this log: resume with the id of the last event you ` +
              'received, or 0 for the start',
      );
    try {
      if (resume !== undefined && String(resume) !== '0')
        cursor = this.cursors.read(String(resume), viewer, (text) => this.store.parsePosition(text));
    } catch {
      throw notOfThisLog();
    }
    // A well-formed id is taken as given, even one after the newest event: refusing that would tell anyone
    // where the log's head is, the events they may not see included (SPEC §1). The stream then delivers what
    // comes after it.
    // Standing is asked at every delivery, not only at the door: a state that leaves or an organisation that
    // is suspended stops receiving at once, and its stream ends where it stopped.
    const standing = await StandingWatch.load(this.store, viewer);

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      'x-correlation-id': request.id,
      // The stream is the connection's whole use: when it ends (shutdown, expiry, standing), so does the
      // connection, rather than idling in keep-alive and holding a stopping server open.
      connection: 'close',
    });
    raw.write(': connected\n\n');
    const closed = new AbortController();
    request.raw.once('close', () => closed.abort());
    this.options.onStream?.('opened');
    // A comment line when nothing was sent for a while keeps proxies from closing an idle stream: looked at
    // three times a heartbeat, written after half a heartbeat of silence, so that no silence lasts a heartbeat.
    // (Looked at once a heartbeat for a whole one, a write just after a look, or a timer a millisecond early,
    // made it two: a tester saw 30 s.)
    let lastWrite = Date.now();
    const heartbeat = setInterval(() => {
      // A status can take effect at midnight with no event at all.
      if (!inGoodStanding()) return;
      if (Date.now() - lastWrite >= this.options.heartbeatMs / 2 && !raw.writableEnded) {
        raw.write(': heartbeat\n\n');
        lastWrite = Date.now();
      }
    }, this.options.heartbeatMs / 3);
    closed.signal.addEventListener('abort', () => clearInterval(heartbeat), { once: true });
    closed.signal.addEventListener('abort', () => this.options.onStream?.('closed'), { once: true });

    // The frames of a batch go out in one write, not one each: with a thousand subscribers the system calls
    // cost more than building the frames. Everything up to `cursor` is written before any control frame.
    let pending = '';
    const flush = () => {
      if (pending === '' || raw.writableEnded) return;
      raw.write(pending);
      pending = '';
      lastWrite = Date.now();
    };

    // Every control frame carries the position to resume from as its id, so that a standard EventSource
    // reconnects from there (0: nothing was delivered yet from the start of the log). It is the last event
    // sent, or where the stream started: never how far it looked, which is where events this viewer may not see
    // stand. Resuming there looks at those again, and skips them again.
    const startedAt = cursor;
    let lastSent: Position | null = null;
    let ending = false;
    const end = (event: string, data: { reason: string }) => {
      if (ending) return;
      flush();
      ending = true;
      closed.abort();
      const endWith = (position: string | undefined) => {
        if (raw.writableEnded) return;
        const resumeFrom = position === undefined ? undefined : this.cursors.shown(position, viewer);
        if (resumeFrom === undefined) {
          raw.end(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
          return;
        }
        raw.end(`id: ${resumeFrom}\nevent: ${event}\ndata: ${JSON.stringify({ ...data, resumeFrom })}\n\n`);
      };
      // Started at the present with nothing sent: the head then may be the position of an event this viewer
      // may not see, not theirs to learn (SPEC §1). The newest event they may see at or before it resumes the
      // same. If that cannot be read (the store is down), no position at all rather than a wrong one.
      if (lastSent !== null || resume !== undefined || startedAt === null) {
        return endWith(lastSent ?? startedAt ?? '0');
      }
      this.newestVisible(startedAt, viewer).then(endWith, () => endWith(undefined));
    };
    // The token is the caller's word for this stream: it ends when the token does, and nothing is delivered past
    // that, as a request with that token would be refused. The timer ends it even when no event comes.
    const expiresAt = request.expiresAt!.getTime();
    const expire = () => end('closed', { reason: 'the token expired: reconnect with a new one' });
    let expiry: NodeJS.Timeout | undefined;
    const armExpiry = () => {
      const left = expiresAt - Date.now();
      // setTimeout fires at once past 2^31-1 ms (24.8 days): a longer token re-arms the timer until then.
      expiry = left <= 0 ? undefined : setTimeout(armExpiry, Math.min(left, 2 ** 31 - 1));
      if (!expiry) expire();
    };
    closed.signal.addEventListener('abort', () => clearTimeout(expiry), { once: true });
    const inGoodStanding = () => {
      if (Date.now() >= expiresAt) {
        expire();
        return false;
      }
      const now = standing.standing();
      if (now.inGoodStanding) return true;
      end('closed', { reason: now.message });
      return false;
    };
    const onShutdown = () => end('closed', { reason: 'the gateway is shutting down' });
    if (this.options.shutdown.aborted) return onShutdown();
    armExpiry();
    this.options.shutdown.addEventListener('abort', onShutdown, { once: true });
    closed.signal.addEventListener('abort', () =>
      this.options.shutdown.removeEventListener('abort', onShutdown),
    );

    // One listener for the stream's life ends whichever wait for new events is under way, and a plain flag
    // is what the loop reads for every event (a signal's getter checks its receiver on every read).
    const waiting: WaitCancel = {};
    let ended = false;
    closed.signal.addEventListener(
      'abort',
      () => {
        ended = true;
        waiting.cancel?.();
      },
      { once: true },
    );
    // Takes one event in without waiting: false when the stream has ended, undefined when the event's frame
    // needs a look-up first (frameFor).
    const take = (event: RecordedEvent, decrypted?: DecryptedFrames): boolean | undefined => {
      standing.observe(event);
      if (!inGoodStanding()) return false;
      // Null: not for this viewer.
      const frame =
        types && !types.has(event.type) ? null : this.frames.frameAtHand(event, viewer, decrypted);
      if (frame === undefined) return undefined;
      if (frame) {
        pending += frame;
        lastSent = event.globalPosition;
      }
      cursor = event.globalPosition;
      return true;
    };

    let seq: number | undefined;
    // Caught up with the tail: the stream takes each new page in the tail's own turn, synchronously, which for
    // a thousand streams costs no promise, wake-up or resumption each. Resolves when the loop below must go
    // on itself: the stream ended, a frame needs a look-up, the stream fell behind the ring (true), or the
    // subscriber reads slowly (whether it caught up).
    const live = (from: number) =>
      new Promise<boolean>((resolve) => {
        let at = from;
        let stopListening: () => void = () => undefined;
        const resume = (result: boolean | Promise<boolean>) => {
          stopListening();
          waiting.cancel = undefined;
          seq = at;
          resolve(result);
        };
        const onArrival = () => {
          try {
            for (;;) {
              // Only what the tail announced: what arrived since is being prepared, and comes with the next.
              const next = this.tail.fromSeq(at, Math.max(0, Math.min(PAGE, this.tail.announcedUpTo - at)));
              if (!next) return resume(true);
              for (const event of next.events) {
                if (take(event) !== true) return resume(true);
                at++;
                if (pending.length >= FLUSH_BYTES) {
                  const written = this.written(raw, flush, end, closed.signal);
                  if (written !== true) return resume(written);
                }
              }
              // A full page: the rest comes at once, with it (see FLUSH_BYTES).
              if (next.events.length === PAGE) continue;
              const written = this.written(raw, flush, end, closed.signal);
              if (written !== true) return resume(written);
              if (next.events.length === 0) break;
            }
            stopListening = this.tail.onNextArrival(onArrival);
          } catch (error) {
            resume(Promise.reject(error as Error));
          }
        };
        stopListening = this.tail.onNextArrival(onArrival);
        waiting.cancel = () => resume(true);
      });

    while (!ended) {
      const seen = this.tail.arrivals.current;
      const fromRing = seq !== undefined ? this.tail.fromSeq(seq, PAGE) : this.tail.after(cursor, PAGE);
      seq = fromRing?.nextSeq;
      const batch: RecordedEvent[] =
        fromRing?.events ?? (await this.store.readAll({ ...(cursor ? { after: cursor } : {}), limit: PAGE }));
      if (batch.length === 0) {
        // Caught up: what is pending goes out before the wait.
        const written = this.written(raw, flush, end, closed.signal);
        if (written !== true && !(await written)) break;
        if (seq === undefined) await this.tail.arrivals.wait(seen, undefined, waiting);
        else if (!(await live(seq))) break;
        continue;
      }
      // A page with personal data (a reconnection, a stream that fell behind): its keys in one look-up. The
      // decrypted frames are dropped as soon as the stream waits for its subscriber to read: an erasure
      // committed during that wait counts for the rest of the page, each event then looked up on its own.
      let decrypted: DecryptedFrames | undefined = await this.frames.decryptFor(
        types ? batch.filter((event) => types.has(event.type)) : batch,
        viewer,
      );
      for (const event of batch) {
        if (ended) break;
        const took = take(event, decrypted);
        if (took === false) break;
        if (took === undefined) {
          const frame = await this.frames.frameFor(event, viewer);
          if (frame) {
            pending += frame;
            lastSent = event.globalPosition;
          }
          cursor = event.globalPosition;
        }
        if (pending.length >= FLUSH_BYTES) {
          const written = this.written(raw, flush, end, closed.signal);
          if (written === true) continue;
          decrypted = undefined;
          if (!(await written)) break;
        }
      }
      // A full page is not written by itself: see FLUSH_BYTES.
      if (!ended && batch.length < PAGE) {
        const written = this.written(raw, flush, end, closed.signal);
        if (written !== true) await written;
      }
    }
  }

  /**
   * The position of the newest event at or before `position` that `viewer` may see, or 0 if there is none: a
   * reader that resumes after it is given exactly what it would be given after `position`.
   */
  private async newestVisible(position: Position, viewer: Actor): Promise<string> {
    let atOrBefore = position;
    for (let first = true; ; first = false) {
      const page = await this.store.readAllBackwards({ atOrBefore, limit: PAGE });
      // After the first page, each begins with the event the one before ended with.
      for (const event of first ? page : page.slice(1)) {
        if (await this.frames.visibleTo(event, viewer)) return event.globalPosition;
      }
      if (page.length < PAGE) return '0';
      atOrBefore = page.at(-1)!.globalPosition;
    }
  }

  /**
   * Writes what is pending; if the subscriber's buffer is then over its bound, waits for it to read. False
   * when it stalled, after ending its stream: a subscriber that stops reading cannot make the gateway hold
   * its backlog, and resumes from where the stream ended. True at once, without a promise, when the
   * subscriber keeps up (the usual case, once per subscriber and event).
   */
  private written(
    raw: NodeJS.WritableStream & { writableLength: number },
    flush: () => void,
    end: (event: string, data: { reason: string }) => void,
    closed: AbortSignal,
  ): true | Promise<boolean> {
    flush();
    if (raw.writableLength <= this.options.maxBufferedBytes) return true;
    return this.drained(raw, closed).then((drained) => {
      if (drained) return true;
      this.options.onStream?.('overflowed');
      end('overflow', { reason: `${raw.writableLength} bytes waited unread for ${this.options.stallMs} ms` });
      return false;
    });
  }

  /** Waits for a slow subscriber to read what is buffered: true once it has, false if it stalls. */
  private drained(
    raw: NodeJS.WritableStream & { writableLength: number },
    closed: AbortSignal,
  ): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (result: boolean) => {
        clearTimeout(timer);
        raw.removeListener('drain', onDrain);
        closed.removeEventListener('abort', onClose);
        resolve(result);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      const timer = setTimeout(() => done(false), this.options.stallMs);
      raw.once('drain', onDrain);
      closed.addEventListener('abort', onClose, { once: true });
    });
  }

  private parseTypes(types: string | undefined): Set<string> | undefined {
    if (types === undefined) return undefined;
    const list = types
      .split(',')
      .map((type) => type.trim())
      .map((type) =>
        type.startsWith(CLOUDEVENT_TYPE_PREFIX) ? type.slice(CLOUDEVENT_TYPE_PREFIX.length) : type,
      )
      .filter(Boolean);
    // An empty filter would take nothing, silently: say so instead.
    if (list.length === 0) {
      throw new Problem(
        400,
        'invalid-input',
        'Invalid input',
        'types: name at least one event type, or leave types out',
        {
          types: 'name at least one event type, or leave types out for every type',
        },
      );
    }
    // Own names only: `toString` or `__proto__` are in every object, and would filter out everything silently.
    const unknown = list.filter((type) => !Object.hasOwn(EVENT_SCHEMA_VERSIONS, type));
    if (unknown.length > 0) {
      throw new Problem(
        400,
        'invalid-input',
        'Invalid input',
        `types: unknown event types ${unknown.join(', ')}: name types as the events' \`type\` says them ` +
          "(e.g. ContactPointRegistered, or eu.focal.ContactPointRegistered); each is listed in this field's error",
        {
          types: `unknown event types: ${unknown.join(', ')}; one of ${Object.keys(EVENT_SCHEMA_VERSIONS).join(', ')}`,
        },
      );
    }
    return new Set(list);
  }
}
