import type { ServiceName } from '@focal/contracts';

import { ConfigError } from './config.js';

/** Where a service process answers /health/live, /health/ready and /metrics over HTTP; absent: nowhere. */
export interface OperationsListen {
  host: string;
  /** 0: a port the system picks (logged at start). */
  port: number;
}

/** A port per kind of service, so that one of each runs on a host without settings (Prometheus' range). */
export const DEFAULT_OPERATIONS_PORTS: Record<ServiceName, number> = { directory: 9464, messaging: 9465 };

/**
 * FOCAL_OPERATIONS_PORT (default per service: directory 9464, messaging 9465; `0` picks a free port; `off`
 * opens none) and FOCAL_OPERATIONS_HOST (default 127.0.0.1). Kept apart from the service's configuration so
 * that each can change without the other; every problem is named at once.
 */
export function loadOperationsConfig(
  service: ServiceName,
  env: NodeJS.ProcessEnv = process.env,
): OperationsListen | undefined {
  const problems: string[] = [];
  const given = env.FOCAL_OPERATIONS_PORT?.trim() || String(DEFAULT_OPERATIONS_PORTS[service]);
  const host = env.FOCAL_OPERATIONS_HOST?.trim() || '127.0.0.1';
  if (given === 'off') return undefined;
  const port = Number(given);
  if (!/^\d+$/.test(given) || port > 65_535) {
    problems.push(
      `FOCAL_OPERATIONS_PORT=${env.FOCAL_OPERATIONS_PORT} is not a port: use 1 to 65535, 0 for any free port, ` +
        'or off for no operations listener',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { host, port };
}
