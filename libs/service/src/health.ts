import type { ProjectionRunner } from '@focal/events';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  type HealthIndicatorFunction,
  type HealthIndicatorResult,
  type HealthIndicatorService,
} from '@nestjs/terminus';

import type { StoreHealth } from './store-health.js';

/**
 * A projection further behind the log than this makes readiness `degraded`: still 200 (the process serves,
 * its reads are stale), but visible to whoever watches, before users notice.
 */
export const DEGRADED_PROJECTION_LAG_MS = 30_000;

/** Whether a NATS connection is up: closed, or reconnecting (its server info is then cleared), is down. */
export function natsConnected(nats: NatsConnection): boolean {
  return !nats.isClosed() && nats.info !== undefined;
}

export interface ReadinessSources {
  nats: () => boolean;
  store: StoreHealth;
  /** The projections the process keeps (they change when the gateway switches read-model schemas). */
  projections: () => readonly ProjectionRunner[];
}

/**
 * Terminus indicators of readiness, each answering within the store's timeout whatever the store does:
 * `nats` (connected), `store` (answering a probe), `projections` (lag of each, in events and milliseconds;
 * degraded past DEGRADED_PROJECTION_LAG_MS, down when it cannot be read).
 */
export function readinessIndicators(
  indicators: HealthIndicatorService,
  sources: ReadinessSources,
): HealthIndicatorFunction[] {
  const timeoutMs = sources.store.options.timeoutMs;
  return [
    () => (sources.nats() ? indicators.check('nats').up() : indicators.check('nats').down('disconnected')),
    async () => {
      const check = await sources.store.check();
      return check.ok ? indicators.check('store').up() : indicators.check('store').down(check.detail);
    },
    async (): Promise<HealthIndicatorResult<'projections'>> => {
      const session = indicators.check('projections');
      // Joins the store's probe under way: on a store that does not answer, lag reads would only queue up.
      const store = await sources.store.check();
      if (!store.ok) return session.down(`lag unknown: the store does not answer (${store.detail})`);
      let timer: NodeJS.Timeout | undefined;
      try {
        const lags = await Promise.race([
          Promise.all(
            sources.projections().map(async (runner) => [runner.name, await runner.lag(1_000)] as const),
          ),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`lag not read within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        const behind = Object.fromEntries(lags);
        return lags.some(([, lag]) => lag.milliseconds > DEGRADED_PROJECTION_LAG_MS)
          ? session.degraded(behind)
          : session.up(behind);
      } catch (error) {
        return session.down(`lag unknown: ${(error as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    },
  ];
}
