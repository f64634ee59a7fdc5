import { STANDING_EVENT_TYPES } from '@focal/domain';
import { Backoff, pause, Wakeup, type EventStore } from '@focal/events';

import { StandingWatch } from '../auth/standing-watch.js';
import type { PositionCursors } from '../http/position-cursors.js';
import type { UpdateFrames } from '../updates/update-frames.js';
import { webhookSignature } from './webhook-signature.js';
import type { WebhookRow, WebhookStore } from './webhook-store.js';
import { postToTarget, resolveTarget, TargetRefused, type TargetPolicy } from './webhook-target.js';

export interface WebhookDeliveryOptions {
  /** Failed attempts in a row after which a subscription is paused. */
  maxAttempts: number;
  /** First retry delay; each later one doubles, with full jitter, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** How long a receiver may take to answer. */
  timeoutMs: number;
  pollMs: number;
  /**
   * Where deliveries may go, asked at every attempt: the host is resolved again and each of its addresses
   * checked (a target registered under FOCAL_WEBHOOKS_ALLOW_LOOPBACK is refused once the flag is off).
   */
  target: TargetPolicy;
}

/** How long a gateway holds a subscription it is delivering to. */
const LEASE_MS = 60_000;
/** How often a held subscription's owner is looked at again. */
const HELD_RECHECK_MS = 5_000;
/**
 * Shortest time between two claims that wake-ups ask for: one wake-up per event committed would otherwise
 * cost one claiming UPDATE per command, subscriptions or not. A quiet spell's first event is claimed at once.
 */
const WAKE_INTERVAL_MS = 25;
/** How soon a subscription is served again after serving it failed on Focal's side (see serveFailed). */
const SERVE_RETRY_MS = 2_000;
/** Subscriptions served at once by one gateway. */
const SERVING_LIMIT = 20;

/**
 * Delivers each subscription's events in order, one at a time, at least once: the position delivered up to
 * is stored after each success, so a restart resumes there. Failures retry with exponential backoff and
 * jitter; after `maxAttempts` in a row the subscription is paused with the reason (its owner resumes it).
 * The owner's standing is asked at every delivery: while its state has left or its organisation is suspended,
 * deliveries are held where they stopped, and go on from there once it stands again. Leases keep two
 * gateways from delivering one subscription.
 */
export class WebhookDeliverer {
  private readonly stopping = new AbortController();
  private readonly wakeups = new Wakeup();
  private loop?: Promise<void>;
  /** The subscriptions being served, each on its own: none waits for another's receiver. */
  private readonly serving = new Set<Promise<void>>();
  /** Wake-ups set for subscriptions due again later (a retry, a held owner looked at again). */
  private readonly dueTimers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly store: EventStore,
    private readonly webhooks: WebhookStore,
    private readonly frames: UpdateFrames,
    private readonly cursors: PositionCursors,
    private readonly options: WebhookDeliveryOptions,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  wake(): void {
    this.wakeups.notify();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    await Promise.all(this.serving.values());
    for (const timer of this.dueTimers) clearTimeout(timer);
    this.dueTimers.clear();
  }

  /**
   * Claims what is due while fewer than SERVING_LIMIT are being served, and serves each subscription on its
   * own. A round once waited for every subscription it had claimed: one receiver that took 5 s to answer held
   * every other owner's deliveries for up to 30 s (a tester), and a receiver of closed events that took its
   * time delayed a guest's deliveries by that time for each closed event, which a guest could count.
   */
  private async run(): Promise<void> {
    // The store away: wake-ups (one per event notified) must not turn into one failing claim each.
    const backoff = new Backoff(this.options.pollMs, 5_000);
    while (!this.stopping.signal.aborted) {
      const seen = this.wakeups.current;
      const claimedAt = Date.now();
      const room = SERVING_LIMIT - this.serving.size;
      if (room > 0) {
        try {
          // Read before the claim: a subscription found caught up is caught up to at least this head.
          const head = (await this.store.headPosition()) ?? '';
          const due = await this.webhooks.claim(room, LEASE_MS, head);
          for (const webhook of due) this.begin(webhook, head);
          backoff.succeeded();
          // A full claim (more may be due) earns another round at once, if there is room for it.
          if (due.length === room && this.serving.size < SERVING_LIMIT) continue;
        } catch (error) {
          this.onError(error);
          await pause(backoff.next(), this.stopping.signal);
          continue;
        }
      }
      // Woken by an event committed, by a subscription served with progress (it may have more), by one
      // due again, or by the poll.
      await this.wakeups.wait(seen, this.options.pollMs, this.stopping.signal);
      const gathering = claimedAt + WAKE_INTERVAL_MS - Date.now();
      if (gathering > 0) await pause(gathering, this.stopping.signal);
    }
  }

  /** Serves one claimed subscription apart from the others; progress asks for another claim at once. */
  private begin(webhook: WebhookRow, head: string): void {
    const task: Promise<void> = this.serve(webhook, head)
      .catch((error: unknown) => this.serveFailed(webhook, error))
      .then((moved) => {
        const wasFull = this.serving.size >= SERVING_LIMIT;
        this.serving.delete(task);
        // Nothing served comes back at once: a caught-up subscription waits for the head to move, a held or
        // failed one for the time it is due again. Room made when all were taken is for those still due.
        if (moved || wasFull) this.wakeups.notify();
      });
    this.serving.add(task);
  }

  /**
   * A wake-up when a subscription is due again: its retry then happens at its own time, not at the next
   * event committed after it (a tester read the times of closed writes off a failing receiver's retries).
   */
  private wakeAfter(ms: number): void {
    const timer = setTimeout(() => {
      this.dueTimers.delete(timer);
      this.wakeups.notify();
    }, ms + 1);
    timer.unref();
    this.dueTimers.add(timer);
  }

  /**
   * Delivers what is due to one subscription, in order, until it is caught up or an attempt fails. Returns
   * whether anything moved: an event passed, a failure recorded, the subscription paused.
   */
  private async serve(webhook: WebhookRow, head: string): Promise<boolean> {
    const viewer = webhook.actor;
    let standing = await StandingWatch.load(this.store, viewer);
    let fresh = true;
    const held = async () => {
      // The standing at the moment of delivery (SPEC §1): read again before each one, since a suspension may
      // have been written while the last was under way, after the events already read (a tester: with a
      // standing up to 250 ms old, an event was posted 190 ms after the suspension was acknowledged).
      if (!fresh) standing = await StandingWatch.load(this.store, viewer);
      fresh = false;
      const now = standing.standing();
      if (now.inGoodStanding) return false;
      await this.webhooks.hold(webhook.id, now.message, HELD_RECHECK_MS);
      this.wakeAfter(HELD_RECHECK_MS);
      return true;
    };
    if (await held()) return false;
    let moved = false;
    let cursor = webhook.cursor ? this.store.parsePosition(webhook.cursor) : undefined;
    // A subscription to some types reads the standing events too, not to deliver them but to learn at once
    // that its owner no longer stands: the types it takes may come right after its suspension.
    const read = webhook.types && [...new Set([...webhook.types, ...STANDING_EVENT_TYPES])];
    // Hand the subscription back well within its lease, so that no other gateway takes it while this one
    // is still delivering (which could reorder deliveries); the next claim carries on.
    const handBackAt = Date.now() + LEASE_MS / 2;
    let caughtUp = false;
    for (let page = 0; page < 10 && !this.stopping.signal.aborted && Date.now() < handBackAt; page++) {
      const events = await this.store.readAll({
        ...(cursor ? { after: cursor } : {}),
        limit: 100,
        ...(read ? { filter: { types: read } } : {}),
      });
      if (events.length === 0) {
        caughtUp = true;
        break;
      }
      for (const event of events) {
        // Stopping: handed back at once, due again, for whoever goes on (a tester's gateway with slow receivers
        // went on delivering past its shutdown grace and left their leases held for a minute).
        if (Date.now() >= handBackAt || this.stopping.signal.aborted) break;
        // An event of the owner's own stream counts at once, as on a live stream: the change that ends its
        // standing is not delivered to it, nor anything after it.
        standing.observe(event);
        const body =
          !webhook.types || webhook.types.includes(event.type)
            ? await this.frames.payloadFor(event, viewer)
            : undefined;
        if (body !== undefined) {
          if (await held()) return moved;
          const failure = await this.post(webhook, this.cursors.shown(event.globalPosition, viewer), body);
          // Abandoned by the stop, not the receiver's failure: delivered again after it (at least once).
          if (failure && this.stopping.signal.aborted) break;
          if (failure) {
            const failures = webhook.failures + 1;
            const pause =
              failures >= this.options.maxAttempts
                ? `${failures} deliveries failed in a row (last: ${failure}); fix the receiver, then resume: POST /v1/webhooks/${webhook.id}/resume`
                : undefined;
            const delay =
              Math.random() *
              Math.min(this.options.baseDelayMs * 2 ** (failures - 1), this.options.maxDelayMs);
            await this.webhooks.failed(webhook.id, failures, failure, delay, pause);
            if (!pause) this.wakeAfter(delay);
            return true;
          }
          webhook.failures = 0;
        }
        cursor = event.globalPosition;
        await this.webhooks.delivered(webhook.id, cursor, body !== undefined);
        moved = true;
      }
    }
    await this.webhooks.release(webhook.id, caughtUp ? head : null);
    return moved;
  }

  /**
   * Serving a subscription failed on Focal's side (the store, the key store): not the receiver's failure, so
   * it does not count towards a pause. Handed back to be tried again soon rather than left leased, which would
   * hold its deliveries for the rest of the lease; if the store is away, the lease runs out as before.
   */
  private async serveFailed(webhook: WebhookRow, error: unknown): Promise<boolean> {
    this.onError(error);
    await this.webhooks.retryLater(webhook.id, SERVE_RETRY_MS).catch(() => undefined);
    this.wakeAfter(SERVE_RETRY_MS);
    return false;
  }

  /** One attempt; undefined on success, or what went wrong. */
  private async post(webhook: WebhookRow, eventId: string, body: string): Promise<string | undefined> {
    // One message per subscription and event, the same on every retry: the receiver's idempotency key. The
    // event's id is its CloudEvent id: the position, or its cursor for an owner who may not see every event.
    const id = `${webhook.id}:${eventId}`;
    // Outside the try: the store failing is not the receiver's failure, and must not count towards a pause.
    const secrets = await this.webhooks.signingSecrets(webhook.id);
    if (secrets.length === 0) return 'not delivered: the subscription was deleted';
    try {
      const timestamp = Math.floor(Date.now() / 1000);
      // Resolved and checked now, and connected to as checked: what DNS says later does not matter.
      const target = await resolveTarget(new URL(webhook.url), this.options.target);
      const status = await postToTarget(
        target,
        {
          // CloudEvents' structured mode: the body is the whole event, its attributes included.
          'content-type': 'application/cloudevents+json; charset=utf-8',
          'user-agent': 'Focal-Webhooks/1',
          // Standard Webhooks (standardwebhooks.com): what its libraries verify.
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': webhookSignature(secrets, id, timestamp, body),
          // Which subscription, so that a receiver of several knows which secret to verify with.
          'focal-subscription-id': webhook.id,
        },
        body,
        this.options.timeoutMs,
        this.stopping.signal,
      );
      if (status >= 200 && status < 300) return undefined;
      return status >= 300 && status < 400
        ? `HTTP ${status}: redirects are not followed, give the final URL`
        : `HTTP ${status}`;
    } catch (error) {
      return error instanceof TargetRefused ? `not delivered: ${error.message}` : (error as Error).message;
    }
  }
}
