import type { ServiceName } from '@focal/contracts';
import { z } from 'zod';

import { serviceSettings, toServiceConfig, type ServiceConfig } from './config.js';
import { envSchema, parseEnv, problem, reading, type Env, type Vars } from './env.js';

/** Where a process answers /health/live, /health/ready and /metrics on an HTTP listener of its own, apart from
 * any API; absent: nowhere. */
export interface OperationsListen {
  host: string;
  /** 0: a port the system picks (logged at start). */
  port: number;
  /**
   * When `port` is taken, take any free one instead of failing (logged): for `npm start` on its default port,
   * so that two checkouts run side by side on one host as they did before the gateway had this listener.
   */
  orAnyFreePort?: boolean;
}

/** The processes with an operations listener: the services, and the gateway (alone or as `npm start`). */
export type OperationsProcess = ServiceName | 'gateway';

/** A port per kind of process, so that one of each runs on a host without settings (Prometheus' range). */
export const DEFAULT_OPERATIONS_PORTS: Record<OperationsProcess, number> = {
  gateway: 9463,
  directory: 9464,
  messaging: 9465,
};

/**
 * FOCAL_OPERATIONS_PORT (default per process: gateway 9463, directory 9464, messaging 9465; `0` picks a free
 * port; `off` opens none) and FOCAL_OPERATIONS_HOST (default 127.0.0.1): a setting of a process's schema.
 */
export const operationsSetting = (kind: OperationsProcess) =>
  reading(
    ['FOCAL_OPERATIONS_PORT', 'FOCAL_OPERATIONS_HOST'],
    z.custom<Vars>().transform((vars, ctx): OperationsListen | undefined => {
      const given = vars.FOCAL_OPERATIONS_PORT?.trim() || String(DEFAULT_OPERATIONS_PORTS[kind]);
      const host = vars.FOCAL_OPERATIONS_HOST?.trim() || '127.0.0.1';
      if (given === 'off') return undefined;
      const port = Number(given);
      if (!/^\d+$/.test(given) || port > 65_535) {
        return problem(
          ctx,
          `FOCAL_OPERATIONS_PORT=${vars.FOCAL_OPERATIONS_PORT} is not a port: use 1 to 65535, 0 for any free ` +
            'port, or off for no operations listener',
        );
      }
      return { host, port };
    }),
  );

/** A directory or messaging process's whole configuration, one schema: the service's settings and where its
 * operations listener answers; every problem is named at once. */
export function loadServiceProcessConfig(
  service: ServiceName,
  env: Env = process.env,
): { config: ServiceConfig; operations: OperationsListen | undefined } {
  const schema = envSchema({ ...serviceSettings, operations: operationsSetting(service) }).transform(
    ({ operations, ...settings }) => ({ config: toServiceConfig(settings), operations }),
  );
  return parseEnv(schema, env);
}

/** The operations listener's settings alone (what a test or a tool asks). */
export function loadOperationsConfig(
  kind: OperationsProcess,
  env: Env = process.env,
): OperationsListen | undefined {
  return parseEnv(envSchema({ operations: operationsSetting(kind) }), env).operations;
}
