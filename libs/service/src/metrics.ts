import type { RpcErrorCode } from '@focal/contracts';
import type { ProjectionRunner } from '@focal/events';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

let processRegistry: Registry | undefined;

/**
 * The process's own metrics (CPU, memory, heap, handles, GC, event-loop lag: prom-client's defaults), one
 * registry per process however many parts it hosts: they describe the process, so the embedded mode or a
 * test running several systems must not collect them twice (each collection starts its own event-loop
 * monitor and GC observer).
 */
export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 10 });
  }
  return processRegistry;
}

/** How a command was answered: `ok`, or the code of the error body it was refused with. */
export type CommandOutcome = 'ok' | RpcErrorCode;

/**
 * Commands answered, by subject and outcome, and how long each took, by subject. One instance serves every
 * service of a process (subjects name their service), so that the embedded mode registers each metric once.
 */
export class CommandMetrics {
  readonly registry = new Registry();
  private readonly answered = new Counter({
    name: 'focal_commands_total',
    help: 'Commands answered, by subject and outcome (ok, or the error code)',
    labelNames: ['subject', 'outcome'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'focal_command_duration_seconds',
    help: 'Time from a command reaching its service to its answer, by subject',
    labelNames: ['subject'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  record(subject: string, outcome: CommandOutcome, seconds: number): void {
    this.answered.inc({ subject, outcome });
    this.duration.observe({ subject }, seconds);
  }
}

/**
 * `focal_projection_lag_events` and `focal_projection_lag_milliseconds` by projection, read from the store at
 * each scrape, for the projections `runners` names then (the gateway's change when it switches schemas).
 */
export function projectionLagMetrics(registry: Registry, runners: () => readonly ProjectionRunner[]): void {
  for (const [name, help, field] of [
    ['focal_projection_lag_events', 'Events stored but not yet applied by the projection', 'events'],
    [
      'focal_projection_lag_milliseconds',
      'Age of the oldest event not yet applied by the projection',
      'milliseconds',
    ],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['projection'],
      registers: [registry],
      async collect() {
        for (const runner of runners()) this.set({ projection: runner.name }, (await runner.lag())[field]);
      },
    });
  }
}

/** One registry for a scrape: the process's metrics and the parts' own, which must not share a name. */
export function metricsOf(...registries: Registry[]): Registry {
  return Registry.merge([processMetrics(), ...registries]);
}
