/**
 * The EventStore contract: every adapter runs this suite (see *.int-spec.ts beside it).
 * Tests never assume an empty store: each works in streams under a prefix of its own and reads the
 * global log filtered by that prefix, so the suite also runs against a shared server.
 */
import { randomUUID } from 'node:crypto';

import { generateKeyPairSync } from 'node:crypto';

import {
  CheckpointSealer,
  CheckpointSigner,
  readCheckpoints,
  sealAll,
  verifyCheckpoints,
  untilReadable,
  DuplicateEventIdError,
  InvalidAppendError,
  InvalidPositionError,
  WrongExpectedVersionError,
  type EventStore,
  type NewEvent,
  type Position,
  type RecordedEvent,
  type Upcaster,
} from '../src/index.js';

/** An append left inside an open transaction, to be committed or rolled back by the test. */
export interface HeldAppend {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** Direct access to stored rows, to prove that verification finds tampering. */
export interface Tampering {
  changeData(eventId: string): Promise<void>;
  deleteEvent(eventId: string): Promise<void>;
  swapPlaces(firstEventId: string, secondEventId: string): Promise<void>;
  /** Deletes every event after `position`, and moves the stream heads back to match. */
  truncateAfter(position: Position): Promise<void>;
  /** Changes an event's data and redoes its stream's hash chain, so that the chain still verifies. */
  rewriteEvent(eventId: string): Promise<void>;
}

export interface OpenedStore {
  store: EventStore;
  /** Absent where the store cannot hold a transaction open beside others (PGlite: one connection). */
  holdAppend?: (streamId: string, events: NewEvent[]) => Promise<HeldAppend>;
  /** Absent where stored events cannot be rewritten (EventStoreDB is append-only). */
  tampering?: Tampering;
}

export interface ContractHarness {
  /** A store of its own for one test; `close` is called by the suite. */
  open(options?: { upcasters?: Upcaster[] }): Promise<OpenedStore>;
  /** Why the store opens without holdAppend or tampering: the tests that need them are skipped, saying so. */
  withoutHeldAppend?: string;
  withoutTampering?: string;
}

/** A test that needs a capability the adapter lacks is reported as skipped, with the reason in its name. */
function itNeeding(missing: string | undefined) {
  return missing
    ? (name: string, fn: () => Promise<void>) => it.skip(`${name} (skipped: ${missing})`, fn)
    : (name: string, fn: () => Promise<void>) => it(name, fn);
}

const actor = { principal: 'contract-suite', role: 'secretariat' as const };

export function newEvent(type = 'ContactPointConfirmed', data: Record<string, unknown> = {}): NewEvent {
  return {
    eventId: randomUUID(),
    type,
    data: data as NewEvent['data'],
    metadata: { actor, correlationId: randomUUID() },
    visibility: { level: 'open' },
  };
}

/** A fresh prefix, so that tests sharing a store never see each other's streams. */
export const prefix = () => `t${randomUUID().replaceAll('-', '').slice(0, 12)}-`;

/** The first `count` items, or an error naming how many arrived when `timeoutMs` runs out. */
export async function collect<T>(
  iterable: AsyncIterable<T>,
  count: number,
  timeoutMs = 30_000,
): Promise<T[]> {
  const items: T[] = [];
  const iterator = iterable[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`received ${items.length} of ${count} items in ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    while (items.length < count) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) break;
      items.push(next.value);
    }
    return items;
  } finally {
    clearTimeout(timer);
    // Ends the subscription; not awaited, since a subscriber waiting for events finishes on its next wake-up.
    void iterator.return?.(undefined);
  }
}

/**
 * Everything committed so far under the prefix: waits until readers see it, since another database's open
 * transaction on the same server holds the horizon back (see `untilReadable`).
 */
async function readCommitted(store: EventStore, streamPrefix: string): Promise<RecordedEvent[]> {
  await untilReadable(store);
  return readAllOf(store, streamPrefix);
}

async function readAllOf(
  store: EventStore,
  streamPrefix: string,
  after?: Position,
): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (;;) {
    const page = await store.readAll({ after, limit: 1_000, filter: { streamPrefixes: [streamPrefix] } });
    events.push(...page);
    if (page.length < 1_000) return events;
    after = page[page.length - 1]!.globalPosition;
  }
}

/** Waits until `condition` holds, polling; fails with `what` after the timeout. */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function eventStoreContract(name: string, harness: ContractHarness): void {
  describe(`EventStore contract: ${name}`, () => {
    const opened: OpenedStore[] = [];
    const open = async (options?: { upcasters?: Upcaster[] }) => {
      const store = await harness.open(options);
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map(({ store }) => store.close()));
    });

    describe('append and readStream', () => {
      it('numbers stream versions from 1 and returns the envelope it stored', async () => {
        const { store } = await open();
        const stream = `${prefix()}1`;
        const first = newEvent('ContactPointRegistered', { fullName: 'A. Example', languages: ['fr', 'en'] });
        const second = {
          ...newEvent(),
          visibility: { level: 'restricted' as const, participants: ['state:FR'], closed: true },
        };
        const result = await store.append(stream, [first, second], { expectedVersion: 'no-stream' });

        expect(result.nextVersion).toBe(2);
        expect(store.comparePositions(result.firstPosition, result.lastPosition)).toBeLessThan(0);
        const events = await store.readStream(stream);
        expect(events.map((event) => event.streamVersion)).toEqual([1, 2]);
        expect(events[0]).toMatchObject({
          eventId: first.eventId,
          type: 'ContactPointRegistered',
          schemaVersion: 1,
          streamId: stream,
          globalPosition: result.firstPosition,
          data: { fullName: 'A. Example', languages: ['fr', 'en'] },
          metadata: first.metadata,
          visibility: { level: 'open' },
          previousHash: '',
        });
        expect(events[1]).toMatchObject({
          globalPosition: result.lastPosition,
          visibility: second.visibility,
        });
        expect(events[1]!.previousHash).toBe(events[0]!.hash);
        expect(events[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
        expect(Math.abs(events[0]!.recordedAt.getTime() - Date.now())).toBeLessThan(60_000);
      });

      it('reads an unknown stream as empty', async () => {
        const { store } = await open();
        await expect(store.readStream(`${prefix()}none`)).resolves.toEqual([]);
      });

      it('reads from a version, backwards and with a limit', async () => {
        const { store } = await open();
        const stream = `${prefix()}1`;
        await store.append(
          stream,
          [1, 2, 3, 4, 5].map(() => newEvent()),
          { expectedVersion: 'any' },
        );
        const versions = (events: RecordedEvent[]) => events.map((event) => event.streamVersion);
        expect(versions(await store.readStream(stream, { fromVersion: 3 }))).toEqual([3, 4, 5]);
        expect(versions(await store.readStream(stream, { fromVersion: 2, limit: 2 }))).toEqual([2, 3]);
        expect(versions(await store.readStream(stream, { direction: 'backwards', limit: 2 }))).toEqual([
          5, 4,
        ]);
        expect(versions(await store.readStream(stream, { direction: 'backwards', fromVersion: 2 }))).toEqual([
          2, 1,
        ]);
      });
    });

    describe('expected version', () => {
      it("'no-stream' holds only for a stream that does not exist", async () => {
        const { store } = await open();
        const stream = `${prefix()}1`;
        await store.append(stream, [newEvent()], { expectedVersion: 'no-stream' });
        const error = await store
          .append(stream, [newEvent()], { expectedVersion: 'no-stream' })
          .catch((e) => e);
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect(error).toMatchObject({ streamId: stream, expected: 'no-stream', actual: 1 });
      });

      it("'stream-exists' holds only for a stream with events", async () => {
        const { store } = await open();
        const stream = `${prefix()}1`;
        const error = await store
          .append(stream, [newEvent()], { expectedVersion: 'stream-exists' })
          .catch((e) => e);
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect(error).toMatchObject({ expected: 'stream-exists', actual: 0 });
        await store.append(stream, [newEvent()], { expectedVersion: 0 });
        await expect(
          store.append(stream, [newEvent()], { expectedVersion: 'stream-exists' }),
        ).resolves.toMatchObject({
          nextVersion: 2,
        });
      });

      it('an exact version must be the current one, and a refused append writes nothing', async () => {
        const { store } = await open();
        const stream = `${prefix()}1`;
        await store.append(stream, [newEvent(), newEvent()], { expectedVersion: 0 });
        const error = await store.append(stream, [newEvent()], { expectedVersion: 1 }).catch((e) => e);
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect(error).toMatchObject({ expected: 1, actual: 2 });
        await expect(store.append(stream, [newEvent()], { expectedVersion: 2 })).resolves.toMatchObject({
          nextVersion: 3,
        });
        expect(await store.readStream(stream)).toHaveLength(3);
      });

      it("'any' appends whatever the version", async () => {
        const { store } = await open();
        const stream = `${prefix()}1`;
        await store.append(stream, [newEvent()], { expectedVersion: 'any' });
        await expect(store.append(stream, [newEvent()], { expectedVersion: 'any' })).resolves.toMatchObject({
          nextVersion: 2,
        });
      });

      it('50 concurrent appenders at one version: exactly one wins', async () => {
        const { store } = await open();
        const stream = `${prefix()}1`;
        const outcomes = await Promise.allSettled(
          Array.from({ length: 50 }, () =>
            store.append(stream, [newEvent()], { expectedVersion: 'no-stream' }),
          ),
        );
        const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
        const lost = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(49);
        for (const error of lost)
          expect(error).toMatchObject({ name: 'WrongExpectedVersionError', actual: 1 });
        expect(await store.readStream(stream)).toHaveLength(1);
      });

      it('50 concurrent appenders retrying on conflict: each version won once, nothing lost or doubled', async () => {
        const { store } = await open();
        const stream = `${prefix()}1`;
        const writers = Array.from({ length: 50 }, () => newEvent());
        let conflicts = 0;
        await Promise.all(
          writers.map(async (event) => {
            for (;;) {
              const version = (await store.readStream(stream, { direction: 'backwards', limit: 1 }))[0]
                ?.streamVersion;
              try {
                return await store.append(stream, [event], { expectedVersion: version ?? 'no-stream' });
              } catch (error) {
                if (!(error instanceof WrongExpectedVersionError)) throw error;
                conflicts++;
              }
            }
          }),
        );
        const events = await store.readStream(stream);
        expect(events.map((event) => event.streamVersion)).toEqual(
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
        expect(new Set(events.map((event) => event.eventId))).toEqual(
          new Set(writers.map((event) => event.eventId)),
        );
        expect((await store.verifyStream(stream)).ok).toBe(true);
        // Not an assertion on timing: only that the race really happened.
        expect(conflicts).toBeGreaterThan(0);
      });
    });

    describe('idempotency by event id', () => {
      it('a retried append returns the original result and writes nothing', async () => {
        const { store } = await open();
        const stream = `${prefix()}1`;
        const events = [newEvent(), newEvent()];
        const original = await store.append(stream, events, { expectedVersion: 'no-stream' });
        await store.append(stream, [newEvent()], { expectedVersion: 2 });

        await expect(store.append(stream, events, { expectedVersion: 'no-stream' })).resolves.toEqual(
          original,
        );
        await expect(store.append(stream, events, { expectedVersion: 'any' })).resolves.toEqual(original);
        expect(await store.readStream(stream)).toHaveLength(3);
      });

      it('refuses a known id with other content, in another stream, or at another place', async () => {
        const { store } = await open();
        const base = prefix();
        const event = newEvent('ContactPointConfirmed', { on: '2026-01-01' });
        await store.append(`${base}1`, [newEvent(), event], { expectedVersion: 'no-stream' });

        const changed = { ...event, data: { on: '2026-02-02' } };
        await expect(
          store.append(`${base}1`, [newEvent(), changed], { expectedVersion: 'any' }),
        ).rejects.toThrow(DuplicateEventIdError);
        await expect(store.append(`${base}2`, [event], { expectedVersion: 'any' })).rejects.toThrow(
          DuplicateEventIdError,
        );
        await expect(
          store.append(`${base}1`, [event, newEvent()], { expectedVersion: 'any' }),
        ).rejects.toThrow(DuplicateEventIdError);
        await expect(store.append(`${base}1`, [event], { expectedVersion: 'no-stream' })).rejects.toThrow(
          DuplicateEventIdError,
        );
        expect(await store.readStream(`${base}1`)).toHaveLength(2);
        expect(await store.readStream(`${base}2`)).toHaveLength(0);
      });
    });

    it('appends racing with the same event id to different streams: one is stored, the others refused', async () => {
      const { store } = await open();
      const base = prefix();
      const event = newEvent();
      const racing = Array.from({ length: 10 }, (_, i) =>
        store.append(`${base}${i}`, [event], { expectedVersion: 'no-stream' }),
      );
      const beside = Array.from({ length: 10 }, (_, i) =>
        store.append(`${base}other-${i}`, [newEvent()], { expectedVersion: 'no-stream' }),
      );
      const outcomes = await Promise.allSettled(racing);
      await Promise.all(beside);
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(DuplicateEventIdError);
      }
      // The unrelated appends that shared their transactions are all stored.
      await untilReadable(store);
      expect(await store.readAll({ filter: { streamPrefixes: [`${base}other-`] } })).toHaveLength(10);
    });

    describe('readAll', () => {
      it('headPosition is where readAll ends: the newest event a reader can see', async () => {
        const { store } = await open();
        const base = prefix();
        await store.append(`${base}1`, [newEvent(), newEvent()], { expectedVersion: 'no-stream' });
        // Another database's open transaction on a shared server may hide the append for a moment.
        await untilReadable(store);
        const head = await store.headPosition();
        expect(head).toBeDefined();
        const mine = await store.readAll({ filter: { streamPrefixes: [base] } });
        expect(store.comparePositions(head!, mine.at(-1)!.globalPosition)).toBeGreaterThanOrEqual(0);
        // Nothing stands after the head.
        expect(await store.readAll({ after: head! })).toEqual([]);
        await store.append(`${base}2`, [newEvent()], { expectedVersion: 'no-stream' });
        await untilReadable(store);
        const next = await store.headPosition();
        expect(store.comparePositions(next!, head!)).toBeGreaterThan(0);
        expect((await store.readAll({ after: head! })).map((event) => event.globalPosition)).toEqual([next]);
        // With no transaction open, what is committed is what a reader sees.
        expect(await store.lastCommittedPosition()).toEqual(next);
      });

      it('returns the log in position order, after a position, filtered by stream prefix and type', async () => {
        const { store } = await open();
        const base = prefix();
        await store.append(`${base}a-1`, [newEvent('A'), newEvent('B')], { expectedVersion: 'any' });
        await store.append(`${base}b-1`, [newEvent('A')], { expectedVersion: 'any' });
        await store.append(`${base}a-2`, [newEvent('C')], { expectedVersion: 'any' });

        const all = await readCommitted(store, base);
        expect(all.map((event) => `${event.streamId.slice(base.length)}:${event.type}`)).toEqual([
          'a-1:A',
          'a-1:B',
          'b-1:A',
          'a-2:C',
        ]);
        for (let i = 1; i < all.length; i++) {
          expect(store.comparePositions(all[i - 1]!.globalPosition, all[i]!.globalPosition)).toBeLessThan(0);
        }
        const onlyA = await store.readAll({ filter: { streamPrefixes: [`${base}a-`] } });
        expect(onlyA.map((event) => event.type)).toEqual(['A', 'B', 'C']);
        const typed = await store.readAll({ filter: { streamPrefixes: [base], types: ['A', 'C'] } });
        expect(typed.map((event) => event.type)).toEqual(['A', 'A', 'C']);
        const after = await store.readAll({
          after: all[1]!.globalPosition,
          limit: 1,
          filter: { streamPrefixes: [base] },
        });
        expect(after.map((event) => event.eventId)).toEqual([all[2]!.eventId]);
      });

      it('reads backwards, newest first, at or before a position, filtered, never past the head', async () => {
        const { store } = await open();
        const base = prefix();
        await store.append(`${base}a-1`, [newEvent('A'), newEvent('B')], { expectedVersion: 'no-stream' });
        await store.append(`${base}b-1`, [newEvent('A')], { expectedVersion: 'no-stream' });
        await store.append(`${base}a-2`, [newEvent('C')], { expectedVersion: 'no-stream' });
        const all = await readCommitted(store, base);
        const mine = { streamPrefixes: [base] };
        const newestFirst = [...all].reverse().map((event) => event.eventId);

        expect((await store.readAllBackwards({ filter: mine })).map((event) => event.eventId)).toEqual(
          newestFirst,
        );
        // At or before: the event at the position itself comes first.
        const fromThird = await store.readAllBackwards({ atOrBefore: all[2]!.globalPosition, filter: mine });
        expect(fromThird.map((event) => event.eventId)).toEqual(newestFirst.slice(1));
        expect(fromThird[0]).toEqual(all[2]);
        const typed = await store.readAllBackwards({
          atOrBefore: all[2]!.globalPosition,
          limit: 1,
          filter: { streamPrefixes: [`${base}a-`], types: ['A', 'B'] },
        });
        expect(typed.map((event) => event.eventId)).toEqual([all[1]!.eventId]);
        const head = await store.headPosition();
        const newest = await store.readAllBackwards({ limit: 1 });
        expect(newest.map((event) => event.globalPosition)).toEqual([head]);
        await expect(store.readAllBackwards({ limit: 0 })).rejects.toThrow(/limit/);
      });

      it('says how far a filtered read scanned, so that the next one starts past what it skipped', async () => {
        const { store } = await open();
        const base = prefix();
        await store.append(`${base}a-1`, [newEvent('A')], { expectedVersion: 'no-stream' });
        for (let i = 0; i < 5; i++) {
          await store.append(`${base}b-${i}`, [newEvent('B'), newEvent('B')], {
            expectedVersion: 'no-stream',
          });
        }
        await untilReadable(store);
        const all = await readAllOf(store, base);
        const last = all.at(-1)!.globalPosition;
        const onlyA = { streamPrefixes: [`${base}a-`] };

        const first = await store.readAllPage({ after: all[0]!.globalPosition, filter: onlyA });
        expect(first.events).toEqual([]);
        // Everything readable was examined, the ten skipped events included (and any other test's after them).
        expect(store.comparePositions(first.scannedTo!, last)).toBeGreaterThanOrEqual(0);
        const again = await store.readAllPage({ after: first.scannedTo!, filter: onlyA });
        expect(again.events).toEqual([]);
        expect(store.comparePositions(again.scannedTo!, first.scannedTo!)).toBeGreaterThanOrEqual(0);

        // A full page scanned only as far as its last event.
        const full = await store.readAllPage({ limit: 2, filter: { streamPrefixes: [base] } });
        expect(full.events.map((event) => event.eventId)).toEqual(
          all.slice(0, 2).map((event) => event.eventId),
        );
        expect(full.scannedTo).toBe(all[1]!.globalPosition);

        // Nothing matching is lost past a scanned position: the next match arrives after it.
        await store.append(`${base}a-2`, [newEvent('A')], { expectedVersion: 'no-stream' });
        await untilReadable(store);
        const next = await store.readAllPage({ after: again.scannedTo!, filter: onlyA });
        expect(next.events.map((event) => event.streamId)).toEqual([`${base}a-2`]);
        expect(
          store.comparePositions(next.scannedTo!, next.events[0]!.globalPosition),
        ).toBeGreaterThanOrEqual(0);
      });

      it('treats a prefix literally, wildcards included', async () => {
        const { store } = await open();
        const base = prefix();
        await store.append(`${base}a_1`, [newEvent()], { expectedVersion: 'any' });
        await store.append(`${base}ab1`, [newEvent()], { expectedVersion: 'any' });
        await untilReadable(store);
        const events = await store.readAll({ filter: { streamPrefixes: [`${base}a_`] } });
        expect(events.map((event) => event.streamId)).toEqual([`${base}a_1`]);
      });

      it('resuming from any position yields exactly the events after it, none twice', async () => {
        const { store } = await open();
        const base = prefix();
        for (let i = 0; i < 30; i++) {
          await store.append(`${base}${i % 4}`, [newEvent(), newEvent()].slice(0, 1 + (i % 2)), {
            expectedVersion: 'any',
          });
        }
        const all = await readCommitted(store, base);
        expect(all).toHaveLength(45);
        for (let i = 0; i < all.length; i++) {
          const rest = await readAllOf(store, base, all[i]!.globalPosition);
          expect(rest.map((event) => event.eventId)).toEqual(all.slice(i + 1).map((event) => event.eventId));
        }
        const resumed = await collect(
          store.subscribe({ after: all[20]!.globalPosition, filter: { streamPrefixes: [base] } }),
          all.length - 21,
        );
        expect(resumed.map((event) => event.eventId)).toEqual(all.slice(21).map((event) => event.eventId));
      });

      it('10,000 events from 20 concurrent writers: readAll and subscribe agree on one total order', async () => {
        const { store } = await open();
        const base = prefix();
        const subscription = new AbortController();
        const live = collect(
          store.subscribe({ filter: { streamPrefixes: [base] }, signal: subscription.signal }),
          10_000,
          120_000,
        );
        await Promise.all(
          Array.from({ length: 20 }, async (_, writer) => {
            for (let i = 0; i < 500; i += 5) {
              await store.append(
                `${base}${writer}`,
                [1, 2, 3, 4, 5].map(() => newEvent()),
                { expectedVersion: i },
              );
            }
          }),
        );
        const all = await readCommitted(store, base);
        const received = await live;
        subscription.abort();

        expect(all).toHaveLength(10_000);
        expect(new Set(all.map((event) => event.eventId)).size).toBe(10_000);
        expect(received.map((event) => event.eventId)).toEqual(all.map((event) => event.eventId));
        const versions = new Map<string, number>();
        for (const event of all) {
          expect(event.streamVersion).toBe((versions.get(event.streamId) ?? 0) + 1);
          versions.set(event.streamId, event.streamVersion);
        }
      });
    });

    describe('subscribe', () => {
      it('catches up, goes live, and ends when aborted', async () => {
        const { store } = await open();
        const base = prefix();
        await store.append(`${base}1`, [newEvent('Before')], { expectedVersion: 'any' });
        const abort = new AbortController();
        const received: RecordedEvent[] = [];
        const done = (async () => {
          for await (const event of store.subscribe({
            filter: { streamPrefixes: [base] },
            signal: abort.signal,
          })) {
            received.push(event);
          }
        })();
        await until(() => received.length === 1, 'the catch-up event');
        await store.append(`${base}2`, [newEvent('Live')], { expectedVersion: 'any' });
        await until(() => received.length === 2, 'the live event');
        abort.abort();
        await done;
        expect(received.map((event) => event.type)).toEqual(['Before', 'Live']);
      });

      it('filters by type and rejects a position it cannot parse', async () => {
        const { store } = await open();
        const base = prefix();
        await store.append(`${base}1`, [newEvent('A'), newEvent('B'), newEvent('A')], {
          expectedVersion: 'any',
        });
        const events = await collect(
          store.subscribe({ filter: { streamPrefixes: [base], types: ['A'] } }),
          2,
        );
        expect(events.map((event) => event.type)).toEqual(['A', 'A']);
        await expect(collect(store.subscribe({ after: 'yesterday' as Position }), 1)).rejects.toThrow(
          InvalidPositionError,
        );
      });

      itNeeding(harness.withoutHeldAppend)(
        'never skips an append that commits after later positions became visible',
        async () => {
          const opened = await open();
          const { store } = opened;
          const base = prefix();
          const abort = new AbortController();
          const received: RecordedEvent[] = [];
          const done = (async () => {
            for await (const event of store.subscribe({
              filter: { streamPrefixes: [base] },
              signal: abort.signal,
            })) {
              received.push(event);
            }
          })();
          const slow = newEvent('Slow');
          const held = await opened.holdAppend!(`${base}slow`, [slow]);
          const rolledBack = await opened.holdAppend!(`${base}undone`, [newEvent('Undone')]);
          await store.append(`${base}fast`, [newEvent('Fast')], { expectedVersion: 'any' });
          // The later append is committed and readable by stream, yet the global log (which the subscriber
          // reads the same way) must not run past the open transaction's position: it waits.
          expect(await store.readStream(`${base}fast`)).toHaveLength(1);
          expect(await readAllOf(store, base)).toEqual([]);
          expect(received).toHaveLength(0);
          await rolledBack.rollback();
          await held.commit();
          await until(() => received.length === 2, 'both committed events');
          abort.abort();
          await done;
          expect(received.map((event) => event.type)).toEqual(['Slow', 'Fast']);
          const all = await readCommitted(store, base);
          expect(all.map((event) => event.type)).toEqual(['Slow', 'Fast']);
        },
      );
    });

    it('upcasts on every read path', async () => {
      const upcasters: Upcaster[] = [
        {
          type: 'ContactPointRegistered',
          fromSchemaVersion: 1,
          upcast: (data) => ({ ...data, languages: [] }),
        },
        {
          type: 'ContactPointRegistered',
          fromSchemaVersion: 2,
          upcast: ({ name, ...data }) => ({ ...data, fullName: name ?? null }),
        },
      ];
      const { store } = await open({ upcasters });
      const base = prefix();
      const old = { ...newEvent('ContactPointRegistered', { name: 'A. Example' }), schemaVersion: 1 };
      await store.append(`${base}1`, [old], { expectedVersion: 'any' });
      const upcast = { schemaVersion: 3, data: { fullName: 'A. Example', languages: [] } };
      expect((await store.readStream(`${base}1`))[0]).toMatchObject(upcast);
      // Readers see the append once no older transaction on the server hides it (see readCommitted).
      await untilReadable(store);
      expect((await store.readAll({ filter: { streamPrefixes: [base] } }))[0]).toMatchObject(upcast);
      expect((await collect(store.subscribe({ filter: { streamPrefixes: [base] } }), 1))[0]).toMatchObject(
        upcast,
      );
      const error = await store
        .append(`${base}1`, [{ ...newEvent('ContactPointRegistered'), schemaVersion: 4 }], {
          expectedVersion: 'any',
        })
        .catch((e) => e);
      expect(error).toBeInstanceOf(InvalidAppendError);
      expect(error.message).toContain('versions 1 to 3');
    });

    describe('bad input fails with a typed error and writes nothing', () => {
      const cases: [string, (store: EventStore, stream: string) => Promise<unknown>, RegExp][] = [
        [
          'an invalid stream id',
          (s) => s.append('has space', [newEvent()], { expectedVersion: 'any' }),
          /stream id/,
        ],
        ['an empty batch', (s, stream) => s.append(stream, [], { expectedVersion: 'any' }), /no events/],
        [
          'a bigint in data',
          (s, stream) => s.append(stream, [newEvent('X', { amount: 1n })], { expectedVersion: 'any' }),
          /events\[0\]\.data\.amount is a bigint/,
        ],
        [
          'a Date in data',
          (s, stream) => s.append(stream, [newEvent('X', { at: new Date() })], { expectedVersion: 'any' }),
          /data\.at is a Date.*ISO strings/,
        ],
        [
          'undefined in data',
          (s, stream) => s.append(stream, [newEvent('X', { note: undefined })], { expectedVersion: 'any' }),
          /data\.note is undefined/,
        ],
        [
          'a cycle in data',
          (s, stream) => {
            const data: Record<string, unknown> = {};
            data.self = data;
            return s.append(stream, [newEvent('X', data)], { expectedVersion: 'any' });
          },
          /cycle/,
        ],
        [
          'NaN in data',
          (s, stream) => s.append(stream, [newEvent('X', { n: NaN })], { expectedVersion: 'any' }),
          /data\.n is NaN/,
        ],
        [
          'a NUL character in a string',
          (s, stream) => s.append(stream, [newEvent('X', { note: 'a\u0000b' })], { expectedVersion: 'any' }),
          /data\.note contains a NUL character/,
        ],
        [
          'a malformed event id',
          (s, stream) => s.append(stream, [{ ...newEvent(), eventId: 'abc' }], { expectedVersion: 'any' }),
          /not a UUID/,
        ],
        [
          'a repeated event id',
          (s, stream) => {
            const event = newEvent();
            return s.append(stream, [event, event], { expectedVersion: 'any' });
          },
          /appears twice/,
        ],
        [
          'a bad expected version',
          (s, stream) => s.append(stream, [newEvent()], { expectedVersion: -1 }),
          /expected version -1/,
        ],
        [
          'a bad visibility',
          (s, stream) =>
            s.append(stream, [{ ...newEvent(), visibility: { level: 'secret' } as never }], {
              expectedVersion: 'any',
            }),
          /visibility/,
        ],
        [
          'a closed marker that is not a boolean',
          (s, stream) =>
            s.append(
              stream,
              [
                {
                  ...newEvent(),
                  visibility: { level: 'restricted', participants: [], closed: 'yes' } as never,
                },
              ],
              { expectedVersion: 'any' },
            ),
          /visibility/,
        ],
      ];
      it.each(cases)('%s', async (_, attempt, message) => {
        const { store } = await open();
        const stream = `${prefix()}1`;
        const error = (await attempt(store, stream).catch((e: unknown) => e)) as Error;
        expect(error).toBeInstanceOf(InvalidAppendError);
        expect(error.message).toMatch(message);
        expect(await store.readStream(stream)).toEqual([]);
      });

      it('a position that does not parse', async () => {
        const { store } = await open();
        for (const bad of ['', 'abc', '-1', '1.5', '99999999999999999999']) {
          expect(() => store.parsePosition(bad)).toThrow(InvalidPositionError);
          await expect(store.readAll({ after: bad as Position })).rejects.toThrow(InvalidPositionError);
        }
      });
    });

    describe('integrity', () => {
      it('verifies an untouched log', async () => {
        const { store } = await open();
        const base = prefix();
        await store.append(`${base}1`, [newEvent('A', { text: 'Zürich, "quoted"\n' })], {
          expectedVersion: 'any',
        });
        await store.append(`${base}1`, [newEvent('B', { nested: { z: 1, a: [true, null] } })], {
          expectedVersion: 1,
        });
        await expect(store.verifyStream(`${base}1`)).resolves.toEqual({ ok: true, checked: 2 });
        await expect(store.verifyAll()).resolves.toMatchObject({ ok: true });
      });

      // [what, tampering, index of the first bad event, its problem, whether a stored event is named]
      const tamperCases: [string, (t: Tampering, ids: string[]) => Promise<void>, number, RegExp, boolean][] =
        [
          ['a modified event', (t, ids) => t.changeData(ids[2]!), 2, /altered/, true],
          ['a deleted event', (t, ids) => t.deleteEvent(ids[2]!), 3, /missing/, true],
          // Nothing follows a deleted last event: the stream's head names the gap.
          ['a deleted last event', (t, ids) => t.deleteEvent(ids[4]!), 4, /missing/, false],
          ['two events swapped in place', (t, ids) => t.swapPlaces(ids[1]!, ids[2]!), 1, /altered/, true],
        ];
      describe.each(tamperCases)('finds %s', (_, tamper, badIndex, problem, namesEvent) => {
        itNeeding(harness.withoutTampering)('and names the first bad event', async () => {
          const opened = await open();
          const { store } = opened;
          const base = prefix();
          await store.append(`${base}other`, [newEvent()], { expectedVersion: 'any' });
          const events = [1, 2, 3, 4, 5].map((i) => newEvent('ContactPointDetailsChanged', { step: i }));
          for (const [i, event] of events.entries()) {
            await store.append(`${base}1`, [event], { expectedVersion: i });
          }
          const stored = await store.readStream(`${base}1`);
          await tamper(
            opened.tampering!,
            events.map((event) => event.eventId),
          );

          for (const report of [await store.verifyAll(), await store.verifyStream(`${base}1`)]) {
            expect(report.ok).toBe(false);
            if (report.ok) continue;
            expect(report.firstFailure).toMatchObject({ streamId: `${base}1`, streamVersion: badIndex + 1 });
            expect(report.firstFailure.problem).toMatch(problem);
            expect(report.firstFailure.position).toBe(
              namesEvent ? stored[badIndex]!.globalPosition : undefined,
            );
          }
          await expect(store.verifyStream(`${base}other`)).resolves.toMatchObject({ ok: true });
        });
      });
    });

    describe('checkpoints', () => {
      const newSigner = () =>
        CheckpointSigner.fromPem(
          generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        );

      /** Ten events over two streams; returns them as stored. */
      async function tenEvents(store: EventStore): Promise<RecordedEvent[]> {
        const base = prefix();
        for (let i = 0; i < 10; i++) {
          await store.append(`${base}${i % 2}`, [newEvent('ContactPointDetailsChanged', { step: i })], {
            expectedVersion: 'any',
          });
        }
        return readCommitted(store, base);
      }

      it('seals the log in signed checkpoints, each chained to the one before, that verify', async () => {
        const { store } = await open();
        const events = await tenEvents(store);
        const signer = newSigner();
        const latest = await sealAll(store, signer, 4);
        expect(
          store.comparePositions(store.parsePosition(latest!.lastPosition), events.at(-1)!.globalPosition),
        ).toBeGreaterThanOrEqual(0);
        const chain = (await readCheckpoints(store)).map(({ checkpoint }) => checkpoint);
        expect(chain.every((checkpoint) => checkpoint.eventCount <= 4)).toBe(true);
        expect(chain.map((checkpoint) => checkpoint.seq)).toEqual(chain.map((_, index) => index + 1));

        await expect(verifyCheckpoints(store, { trustedKeys: [signer.publicKey] })).resolves.toMatchObject({
          ok: true,
          checkpoints: chain.length,
        });
        await expect(verifyCheckpoints(store, { against: chain })).resolves.toMatchObject({ ok: true });
        const stranger = newSigner();
        const report = await verifyCheckpoints(store, { trustedKeys: [stranger.publicKey] });
        expect(report).toMatchObject({ ok: false, firstFailure: { checkpoint: 1 } });
        if (!report.ok) expect(report.firstFailure.problem).toMatch(/not a trusted key/);
      });

      it('seals in the background every N events, and after T when fewer arrive; two sealers agree', async () => {
        const { store } = await open();
        const signer = newSigner();
        const sealers = [1, 2].map(
          () =>
            new CheckpointSealer(store, {
              signer,
              everyEvents: 5,
              everyMs: 300,
              onError: (error) => console.error(error),
            }),
        );
        sealers.forEach((sealer) => sealer.start());
        try {
          const events = await tenEvents(store);
          const last = await tenEvents(store).then((more) => more.at(-1)!);
          await until(async () => {
            const chain = await readCheckpoints(store);
            const latest = chain.at(-1)?.checkpoint;
            return (
              latest !== undefined &&
              store.comparePositions(store.parsePosition(latest.lastPosition), last.globalPosition) >= 0
            );
          }, 'every event sealed');
          const chain = (await readCheckpoints(store)).map(({ checkpoint }) => checkpoint);
          expect(chain.some((checkpoint) => checkpoint.eventCount === 5)).toBe(true);
          expect(chain.every((checkpoint) => checkpoint.eventCount <= 5)).toBe(true);
          expect(events.length).toBe(10);
        } finally {
          await Promise.all(sealers.map((sealer) => sealer.stop()));
        }
        await expect(verifyCheckpoints(store, { trustedKeys: [signer.publicKey] })).resolves.toMatchObject({
          ok: true,
        });
      });

      itNeeding(harness.withoutTampering)(
        'finds a log truncated after an exported checkpoint, naming the last event left',
        async () => {
          const opened = await open();
          const { store } = opened;
          const events = await tenEvents(store);
          await sealAll(store, newSigner(), 4);
          const exported = (await readCheckpoints(store)).map(({ checkpoint }) => checkpoint);

          await opened.tampering!.truncateAfter(events[5]!.globalPosition);

          // The intruder moved the stream heads back and the checkpoints went with the tail: only the export sees it.
          await expect(store.verifyAll()).resolves.toMatchObject({ ok: true });
          await expect(verifyCheckpoints(store)).resolves.toMatchObject({ ok: true });
          const report = await verifyCheckpoints(store, { against: exported });
          expect(report.ok).toBe(false);
          if (report.ok) return;
          expect(report.firstFailure.lastIntactPosition).toBe(events[5]!.globalPosition);
          expect(report.firstFailure.problem).toMatch(/truncated/);
        },
      );

      itNeeding(harness.withoutTampering)(
        'finds an event rewritten with its hash chain redone, in the checkpoint that sealed it',
        async () => {
          const opened = await open();
          const { store } = opened;
          const events = await tenEvents(store);
          await sealAll(store, newSigner(), 4);
          const exported = (await readCheckpoints(store)).map(({ checkpoint }) => checkpoint);
          const sealing = exported.find(
            (checkpoint) =>
              store.comparePositions(
                store.parsePosition(checkpoint.lastPosition),
                events[2]!.globalPosition,
              ) >= 0,
          )!;

          await opened.tampering!.rewriteEvent(events[2]!.eventId);

          await expect(store.verifyAll()).resolves.toMatchObject({ ok: true });
          for (const report of [
            await verifyCheckpoints(store),
            await verifyCheckpoints(store, { against: exported }),
          ]) {
            expect(report).toMatchObject({ ok: false, firstFailure: { checkpoint: sealing.seq } });
            if (!report.ok) expect(report.firstFailure.problem).toMatch(/rewritten/);
          }
        },
      );
    });
  });
}
