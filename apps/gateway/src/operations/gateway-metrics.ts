import { projectionLagMetrics } from '@focal/service';
import type { ProjectionRunner } from '@focal/events';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import { TOKEN_FAILURES } from '../auth/authenticator.js';
import type { ReadModels } from '../read-models/read-models.js';

/**
 * The gateway's Prometheus metrics, served by GET /metrics on its operations listener (gateway-app.ts); the
 * lag of the projections `alongside` (the embedded services') too.
 */
export function gatewayMetrics(readModels: ReadModels, alongside: readonly ProjectionRunner[] = []) {
  const registry = new Registry();
  const requests = new Counter({
    name: 'focal_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'focal_http_request_duration_seconds',
    help: 'HTTP request latency by route and method',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  projectionLagMetrics(registry, () => [...readModels.runners, ...alongside]);
  const subscribers = new Gauge({
    name: 'focal_sse_subscribers',
    help: 'Open Server-Sent Events streams',
    registers: [registry],
  });
  const overflows = new Counter({
    name: 'focal_sse_overflows_total',
    help: 'Streams closed because their subscriber stopped reading',
    registers: [registry],
  });
  const authenticationFailures = new Counter({
    name: 'focal_authentication_failures_total',
    help: 'Requests refused authentication, by reason (the token, or the principal standing)',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of TOKEN_FAILURES) authenticationFailures.inc({ reason }, 0);
  return {
    registry,
    answered(method: string, route: string, status: number, seconds: number) {
      requests.inc({ method, route, status });
      latency.observe({ method, route }, seconds);
    },
    stream(change: 'opened' | 'closed' | 'overflowed') {
      if (change === 'opened') subscribers.inc();
      else if (change === 'closed') subscribers.dec();
      else overflows.inc();
    },
    authenticationFailed(reason: string) {
      authenticationFailures.inc({ reason });
    },
  };
}
