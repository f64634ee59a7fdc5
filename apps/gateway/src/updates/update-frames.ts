import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import {
  maySee,
  maySeeEverything,
  maySeeField,
  parseStreamId,
  recordedVisibility,
  versionsCountClosedEvents,
  withoutClosedFields,
  type Actor,
  type Visibility,
} from '@focal/domain';
import { PersonalDataCodec, type JsonObject, type KeyStore, type RecordedEvent } from '@focal/events';

import type { PositionCursors } from '../http/position-cursors.js';

const CLOSED_FIELDS = ['email', 'phone', 'notes'] as const;

/** The personal field an event of this type carries, if any. */
const personalFieldOf = (event: RecordedEvent): string | undefined =>
  CONTACT_POINT_PERSONAL_FIELDS.fields[event.type as keyof typeof CONTACT_POINT_PERSONAL_FIELDS.fields];

/**
 * A CloudEvent's `type` is the event type under Focal's reverse-DNS prefix (`eu.focal.ThreadOpened`), so that
 * a receiver mixing sources can route on it. `?types=` takes either form; webhook `types` the bare one.
 */
export const CLOUDEVENT_TYPE_PREFIX = 'eu.focal.';

/** The `source` of every CloudEvent a deployment sends: `/focal`, or `/focal/<namespace>` when it has one. */
export const cloudEventSource = (namespace?: string) => (namespace ? `/focal/${namespace}` : '/focal');

/**
 * Asks for the same thing made while one is under way share its answer; nothing is kept once it settles.
 * Every subscriber woken by an event asks for its frame in the same turn: one look-up instead of one each.
 */
class InFlight<K, V> {
  private readonly pending = new Map<K, Promise<V>>();

  get(key: K, lookUp: () => Promise<V>): Promise<V> {
    let answer = this.pending.get(key);
    if (!answer) {
      answer = lookUp().finally(() => this.pending.delete(key));
      this.pending.set(key, answer);
    }
    return answer;
  }
}

/** Frames of events with personal data, decrypted for one page of one stream: see `decryptFor`. */
export type DecryptedFrames = ReadonlyMap<RecordedEvent, Built>;

/** An event's CloudEvent (a webhook's body) and SSE frame, for one audience. */
interface Shown {
  payload: string;
  frame: string;
}

type Audience = 'everything' | 'closedFields' | 'openFields';

/**
 * An event's frames for the audiences it may reach: who sees every event (the log's position as the id), who may
 * see closed fields, and who may not (both with the position's cursor: see PositionCursors). Each is made at
 * its audience's first ask and kept with the rest: an event no subscriber of an audience asks for costs none.
 */
class Built {
  private readonly shown: Partial<Record<Audience, Shown>> = {};

  constructor(private readonly make: (audience: Audience) => Shown) {}

  for(viewer: Actor): Shown {
    const audience: Audience = maySeeEverything(viewer)
      ? 'everything'
      : maySeeField(viewer, 'email')
        ? 'closedFields'
        : 'openFields';
    return (this.shown[audience] ??= this.make(audience));
  }
}

/**
 * What a subscriber receives for an event: a CloudEvent 1.0 in structured JSON mode (as the SSE `data` of an
 * unnamed frame, or a webhook's body), or nothing when the viewer may not see the event. Personal fields are
 * decrypted (erased ones read as erased) and closed fields dropped for those who may not see them. Frames are
 * built once per event and audience and shared by all subscribers of that audience: kept with the event when it
 * has no personal field, shared only while they are being built when it has one.
 */
export class UpdateFrames {
  private readonly codec: PersonalDataCodec;
  /** Each event's visibility as the domain reads it, asked once per event rather than once per subscriber. */
  private readonly visibilities = new WeakMap<RecordedEvent, Visibility>();
  /** Frames of events without personal fields, built at the first subscriber's ask and shared by the rest. */
  private readonly cache = new WeakMap<RecordedEvent, Built>();
  /** Frames of events with a personal field being decrypted: the subscribers asking meanwhile share them. */
  private readonly decrypting = new InFlight<RecordedEvent, Built>();
  /** Frames of events with a personal field, decrypted for the log tail's announcement of them (see prepare). */
  private readonly prepared = new Map<RecordedEvent, Built>();
  /** Whether a thread is closed, being read: asked once for the participants woken by one of its events. */
  private readonly threadsBeingRead = new InFlight<string, boolean | undefined>();

  constructor(
    private readonly keys: KeyStore,
    /** The ids as each viewer is shown them. */
    private readonly cursors: PositionCursors,
    /** The CloudEvents `source`: see cloudEventSource. */
    private readonly source: string = cloudEventSource(),
    /**
     * Whether a thread is closed, from its read-model row (undefined if it has none yet): events of a closed
     * thread recorded before the closed marker do not say it themselves.
     */
    private readonly threadIsClosed?: (threadId: string) => Promise<boolean | undefined>,
  ) {
    this.codec = new PersonalDataCodec(keys, CONTACT_POINT_PERSONAL_FIELDS);
  }

  /** The SSE frame of `event` for `viewer`, or undefined if they may not see it. */
  async frameFor(event: RecordedEvent, viewer: Actor): Promise<string | undefined> {
    const built = await this.built(event, viewer);
    return built?.for(viewer).frame;
  }

  /**
   * As `frameFor`, without waiting, when nothing needs looking up: the frame, or null when the viewer may not
   * see the event; undefined when a key or a thread's state must be read first (then call `frameFor`).
   */
  frameAtHand(event: RecordedEvent, viewer: Actor, decrypted?: DecryptedFrames): string | null | undefined {
    const visibility = this.visibilityOf(event);
    if (!maySee(viewer, visibility)) return null;
    if (this.mayHideAsUnmarkedClosed(visibility, viewer)) return undefined;
    const built = personalFieldOf(event)
      ? (decrypted?.get(event) ?? this.prepared.get(event))
      : this.shared(event);
    return built?.for(viewer).frame;
  }

  /**
   * Decrypts the frames of `events` that have a personal field, for `frameAtHand` to give until the returned
   * function lets them go: the log tail holds them while it announces the events (synchronously, to every
   * subscriber that is caught up), so that a thousand subscribers take such an event in the tail's turn as
   * they take any other, and the decrypted frames are not kept after (see `built`).
   */
  async prepare(events: readonly RecordedEvent[]): Promise<() => void> {
    const decrypted = await this.decrypt(events);
    if (decrypted.size === 0) return () => undefined;
    for (const [event, built] of decrypted) this.prepared.set(event, built);
    return () => decrypted.forEach((_, event) => this.prepared.delete(event));
  }

  /**
   * The frames of those of `events` that `viewer` may see and that have a personal field, decrypted with
   * one look-up of their subjects' keys: a stream behind the tail takes a page of the log with them
   * (`frameAtHand`) and drops them with the page, rather than looking a key up for each event.
   */
  decryptFor(events: readonly RecordedEvent[], viewer: Actor): Promise<DecryptedFrames> {
    return this.decrypt(events.filter((event) => maySee(viewer, this.visibilityOf(event))));
  }

  private async decrypt(events: readonly RecordedEvent[]): Promise<Map<RecordedEvent, Built>> {
    const personal = events.flatMap((event) => {
      const field = personalFieldOf(event);
      return field ? [{ event, field }] : [];
    });
    if (personal.length === 0) return new Map();
    // The keys of all their subjects in one query, made only if some event is not being built already.
    const subjects = personal.map(({ event }) => CONTACT_POINT_PERSONAL_FIELDS.subjectOf(event.streamId)!);
    let found: Promise<Map<string, Buffer>> | undefined;
    const keyOf = async (subject: string) => (await (found ??= this.keys.findMany(subjects))).get(subject);
    const built = await Promise.all(
      personal.map(({ event, field }) =>
        this.decrypting.get(event, () => this.decrypted(event, field, keyOf)),
      ),
    );
    return new Map(personal.map(({ event }, i) => [event, built[i]!]));
  }

  /** The CloudEvent of `event` for `viewer` (what a webhook receives), or undefined if they may not see it. */
  async payloadFor(event: RecordedEvent, viewer: Actor): Promise<string | undefined> {
    const built = await this.built(event, viewer);
    return built?.for(viewer).payload;
  }

  /** Whether `viewer` may see `event` at all, without building its frames. */
  async visibleTo(event: RecordedEvent, viewer: Actor): Promise<boolean> {
    const visibility = this.visibilityOf(event);
    return maySee(viewer, visibility) && !(await this.unmarkedClosedThreadHides(event, visibility, viewer));
  }

  private async built(event: RecordedEvent, viewer: Actor): Promise<Built | undefined> {
    const visibility = this.visibilityOf(event);
    if (!maySee(viewer, visibility)) return undefined;
    if (await this.unmarkedClosedThreadHides(event, visibility, viewer)) return undefined;
    // Events with personal fields are not kept: once the contact point is erased, a replay must read them as
    // erased, and a frame built before would still hold the data. Subscribers asking while one is being built
    // share it: an ask that joins gets the answer of a key look-up begun at most one round trip to the store
    // before it; an erasure committed meanwhile is seen by every look-up from the next one on.
    const field = personalFieldOf(event);
    if (!field) return this.shared(event);
    return this.decrypting.get(event, () => this.decrypted(event, field));
  }

  /** The frames of an event whose personal `field` is decrypted with its subject's key, or read as erased. */
  private async decrypted(
    event: RecordedEvent,
    field: string,
    keyOf: (subject: string) => Promise<Buffer | undefined> = (subject) => this.keys.find(subject),
  ): Promise<Built> {
    const subject = CONTACT_POINT_PERSONAL_FIELDS.subjectOf(event.streamId);
    const data = this.codec.decodeData(event, subject ? await keyOf(subject) : undefined);
    const value = data[field];
    if (typeof value === 'string') {
      // A personal field that is one value, not a record: a retirement's reason, closed as a whole.
      const { [field]: _closed, ...withoutReason } = data;
      return this.build(event, data, withoutReason);
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) return this.build(event, data, data);
    const personal = { ...value };
    for (const closed of CLOSED_FIELDS) delete personal[closed];
    return this.build(event, data, { ...data, [field]: personal });
  }

  /**
   * The store carries the visibility the domain decided, in the domain's own shape; the domain reads into
   * events recorded before the closed marker what they say of it.
   */
  private visibilityOf(event: RecordedEvent): Visibility {
    let visibility = this.visibilities.get(event);
    if (!visibility) {
      visibility = recordedVisibility({ ...event, visibility: event.visibility as Visibility });
      this.visibilities.set(event, visibility);
    }
    return visibility;
  }

  private shared(event: RecordedEvent): Built {
    let built = this.cache.get(event);
    if (!built) {
      built = this.build(event, event.data, withoutClosedFields(event.type, event.data));
      this.cache.set(event, built);
    }
    return built;
  }

  /**
   * Whether `event`, of a thread and recorded before the closed marker, is hidden from `viewer` because the
   * thread is closed. Asked only when the answer matters (a participant who may not see closed information);
   * a thread not yet in the read model counts as closed, so that nothing closed is sent while it catches up.
   */
  private async unmarkedClosedThreadHides(event: RecordedEvent, visibility: Visibility, viewer: Actor) {
    if (!this.mayHideAsUnmarkedClosed(visibility, viewer)) return false;
    const thread = parseStreamId(event.streamId);
    if (thread?.category !== 'thread' || !this.threadIsClosed) return false;
    const threadIsClosed = this.threadIsClosed;
    return (await this.threadsBeingRead.get(thread.id, () => threadIsClosed(thread.id))) ?? true;
  }

  /** Whether a visible event could still be hidden because its thread is closed (which needs a look-up). */
  private mayHideAsUnmarkedClosed(visibility: Visibility, viewer: Actor): boolean {
    return (
      visibility.level === 'restricted' &&
      visibility.closed === undefined &&
      !maySee(viewer, { ...visibility, closed: true })
    );
  }

  /** The frames of `event` with `data` for those who may see closed fields and `withoutClosed` for the rest. */
  private build(event: RecordedEvent, data: JsonObject, withoutClosed: JsonObject): Built {
    // The id is the position, or its cursor: unique in this source's log, and what Last-Event-ID resumes after.
    const shown = (id: string, payload: JsonObject, withVersion = true): Shown => {
      const json = JSON.stringify({
        specversion: '1.0',
        id,
        source: this.source,
        type: `${CLOUDEVENT_TYPE_PREFIX}${event.type}`,
        subject: event.streamId,
        time: event.recordedAt.toISOString(),
        datacontenttype: 'application/json',
        // An extension attribute: the event's version in its stream, to order a subject's events or detect gaps.
        ...(withVersion ? { streamversion: event.streamVersion } : {}),
        data: payload,
      });
      // No `event:` line: a standard EventSource hands it to `onmessage`. Only control frames are named.
      return { payload: json, frame: `id: ${id}\ndata: ${json}\n\n` };
    };
    return new Built((audience) =>
      audience === 'everything'
        ? shown(event.globalPosition, data)
        : audience === 'closedFields'
          ? shown(this.cursors.cursorOf(event.globalPosition), data)
          : // The open audience (who may not see closed fields) is the one that may not see closed events either.
            shown(
              this.cursors.cursorOf(event.globalPosition),
              withoutClosed,
              !versionsCountClosedEvents(event.streamId),
            ),
    );
  }
}
