import { SqlEventStore } from '@focal/events';
import type { SqlQueryable } from '@focal/events';
import type { Persistence } from '@focal/service';

import { activeReadModels, activeSchema, READ_MODEL_LAYOUT, ReadModels } from './read-models.js';

export interface RebuildReport {
  from: string;
  to: string;
  events: number;
  seconds: number;
}

/**
 * Rebuilds every read model from position 0 into a new schema beside the one in use, then switches to it
 * once it has caught up (running gateways follow within seconds). The schema in use is never truncated:
 * a rebuild that fails leaves it as it was. The previous schema is kept, the ones before it dropped.
 */
export async function rebuildReadModels(
  persistence: Persistence,
  progress: (done: number, total: number | undefined) => void = () => undefined,
): Promise<RebuildReport> {
  const started = performance.now();
  const { sql, store, keys } = persistence;
  const from = await activeSchema(sql);
  const version = Number(/_v(\d+)$/.exec(from)?.[1] ?? 1);
  const to = `gateway_v${version + 1}`;
  // What a rebuild that died halfway left behind starts again from nothing.
  await sql.exec(`DROP SCHEMA IF EXISTS ${to} CASCADE`);
  await sql.query('DELETE FROM focal_checkpoints WHERE consumer LIKE $1', [`gateway.%.${to}`]);

  let done = 0;
  let total: number | undefined;
  const models = await ReadModels.open(sql, store, keys, to, {
    batchSize: 10_000,
    pollMs: 3_600_000,
    onProgress: (applied) => progress((done += applied), total),
  });
  // The work is what each projection will apply: the events its filter takes, summed over the projections.
  if (store instanceof SqlEventStore) {
    total = 0;
    for (const runner of models.runners) total += await store.countEvents(runner.filter);
  }
  await models.start();
  try {
    await models.catchUp();
  } finally {
    await models.stop();
  }
  await sql.query(
    `UPDATE focal_read_models SET schema = $1, layout = $2, switched_at = now(), upgrading_since = NULL
      WHERE name = 'gateway'`,
    [to, READ_MODEL_LAYOUT],
  );
  for (let older = version - 1; older >= 1; older--) {
    await sql.exec(`DROP SCHEMA IF EXISTS gateway_v${older} CASCADE`);
  }
  return { from, to, events: done, seconds: (performance.now() - started) / 1000 };
}

/**
 * Read models of an older layout (READ_MODEL_LAYOUT) are rebuilt into a new schema by the first gateway of
 * this version to start, while the others wait; then every older schema is dropped, for an older layout may
 * hold what this one does not keep (layout 1: personal data in the clear). A gateway that died while
 * upgrading is taken over after `staleAfterMs`.
 */
export async function upgradeReadModels(
  persistence: Persistence,
  say: (message: string) => void,
  options: { staleAfterMs?: number; pollMs?: number } = {},
): Promise<void> {
  const { sql } = persistence;
  const { staleAfterMs = 15 * 60_000, pollMs = 1_000 } = options;
  for (let waited = false; ; waited = true) {
    const { layout } = await activeReadModels(sql);
    if (layout >= READ_MODEL_LAYOUT) {
      if (waited) say('read models upgraded by another gateway');
      break;
    }
    const [claimed] = await sql.query<{ schema: string }>(
      `UPDATE focal_read_models SET upgrading_since = now()
        WHERE name = 'gateway' AND layout < $1
          AND (upgrading_since IS NULL OR upgrading_since < now() - make_interval(secs => $2::double precision / 1000))
        RETURNING schema`,
      [READ_MODEL_LAYOUT, staleAfterMs],
    );
    if (!claimed) {
      if (!waited) say('another gateway is upgrading the read models: waiting');
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      continue;
    }
    say(`${claimed.schema} has an older layout: rebuilding the read models`);
    const report = await rebuildReadModels(persistence);
    say(`rebuilt from ${report.events} events into ${report.to} in ${report.seconds.toFixed(1)} s`);
    break;
  }
  const { schema: active } = await activeReadModels(sql);
  const older = await sql.query<{ schema: string }>(
    `SELECT nspname AS schema FROM pg_namespace WHERE nspname LIKE 'gateway\\_v%' AND nspname <> $1`,
    [active],
  );
  for (const { schema } of older) {
    if (await holdsLayout(sql, schema)) continue;
    await sql.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await sql.query('DELETE FROM focal_checkpoints WHERE consumer LIKE $1', [`gateway.%.${schema}`]);
    say(`dropped ${schema}, of an older layout`);
  }
}

/** Whether `schema` was written in this layout (the previous rebuild's, kept): it has the primaries table. */
async function holdsLayout(sql: SqlQueryable, schema: string): Promise<boolean> {
  const [row] = await sql.query<{ found: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'primaries')
        AND NOT EXISTS (SELECT 1 FROM information_schema.columns
                         WHERE table_schema = $1 AND table_name = 'contact_points' AND column_name = 'full_name')
            AS found`,
    [schema],
  );
  return row!.found;
}
