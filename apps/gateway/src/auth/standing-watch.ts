import {
  principalRecordOf,
  principalStanding,
  standingStreamOf,
  type Actor,
  type DomainEvent,
  type PrincipalRecord,
  type PrincipalStanding,
} from '@focal/domain';
import type { EventStore, RecordedEvent } from '@focal/events';

const DAY_MS = 86_400_000;
let day: { date: string; from: number } = { date: '', from: Infinity };

/**
 * Today's date in UTC (YYYY-MM-DD): a status takes effect from its date. Asked for every event of every live
 * stream, so the date is formatted once a day, not once a call.
 */
export const today = (): string => {
  const now = Date.now();
  if (now < day.from || now >= day.from + DAY_MS) {
    const from = now - (now % DAY_MS);
    day = { date: new Date(from).toISOString().slice(0, 10), from };
  }
  return day.date;
};

/**
 * A principal's standing now, from its own stream in the log (its state's or its organisation's), folded by
 * the domain: what a request, a live stream and a webhook delivery ask before anything reaches the
 * principal. `observe` keeps it current from the events a live path sees pass, by stream version, so that a
 * replay of an old suspension never counts while a new one counts at once.
 */
export class StandingWatch {
  private record: PrincipalRecord;
  /** The last answer and the day it was for: asked at every delivery, it changes only by event or by date. */
  private answer?: { day: string; standing: PrincipalStanding };

  private constructor(
    readonly viewer: Actor,
    private readonly streamId: string | undefined,
    private events: DomainEvent[],
    private version: number,
    private readonly now: () => string,
  ) {
    this.record = principalRecordOf(viewer, events);
  }

  static async load(store: EventStore, viewer: Actor, now: () => string = today): Promise<StandingWatch> {
    const streamId = standingStreamOf(viewer);
    const recorded = streamId ? await store.readStream(streamId) : [];
    return new StandingWatch(
      viewer,
      streamId,
      recorded.map(toDomainEvent),
      recorded.at(-1)?.streamVersion ?? 0,
      now,
    );
  }

  /** Takes in an event of the principal's own stream that is newer than what the watch holds. */
  observe(event: RecordedEvent): void {
    if (event.streamId !== this.streamId || event.streamVersion <= this.version) return;
    this.events = [...this.events, toDomainEvent(event)];
    this.version = event.streamVersion;
    this.record = principalRecordOf(this.viewer, this.events);
    this.answer = undefined;
  }

  standing(): PrincipalStanding {
    const day = this.now();
    if (this.answer?.day !== day) {
      this.answer = { day, standing: principalStanding(this.viewer, this.record, day) };
    }
    return this.answer.standing;
  }
}

// State and organisation events hold no personal data: what is stored is what the domain decided.
const toDomainEvent = ({ type, data, visibility }: RecordedEvent): DomainEvent =>
  ({ type, data, visibility }) as DomainEvent;
