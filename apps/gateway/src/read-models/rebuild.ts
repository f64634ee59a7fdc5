import { SqlEventStore } from '@focal/events';
import type { Persistence } from '@focal/service';

import { activeSchema, ReadModels } from './read-models.js';

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

  const total =
    store instanceof SqlEventStore
      ? Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM focal_events'))[0]!.n)
      : undefined;
  let done = 0;
  const models = await ReadModels.open(sql, store, keys, to, {
    batchSize: 10_000,
    pollMs: 3_600_000,
    onProgress: (applied) => progress((done += applied), total),
  });
  await models.start();
  try {
    await models.catchUp();
  } finally {
    await models.stop();
  }
  await sql.query(`UPDATE focal_read_models SET schema = $1, switched_at = now() WHERE name = 'gateway'`, [
    to,
  ]);
  for (let older = version - 1; older >= 1; older--) {
    await sql.exec(`DROP SCHEMA IF EXISTS gateway_v${older} CASCADE`);
  }
  return { from, to, events: done, seconds: (performance.now() - started) / 1000 };
}

/**
 * Read models written before personal data was sealed kept names, e-mails and phones in the clear. They are
 * rebuilt (if one is in use) and every such schema is dropped, so that no copy of the database holds them:
 * run once, when a gateway of this version first starts on such a database.
 */
export async function upgradePlainReadModels(
  persistence: Persistence,
  say: (message: string) => void,
): Promise<void> {
  const { sql } = persistence;
  const plain = (
    await sql.query<{ schema: string }>(
      `SELECT table_schema AS schema FROM information_schema.columns
        WHERE table_name = 'contact_points' AND column_name = 'full_name' AND table_schema LIKE 'gateway_v%'`,
    )
  ).map((row) => row.schema);
  if (plain.length === 0) return;
  if (plain.includes(await activeSchema(sql))) {
    say(`${plain.join(', ')} hold personal data in the clear (an earlier version): rebuilding`);
    const report = await rebuildReadModels(persistence);
    say(`rebuilt from ${report.events} events into ${report.to} in ${report.seconds.toFixed(1)} s`);
  }
  for (const schema of plain) {
    if (schema === (await activeSchema(sql))) continue;
    await sql.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await sql.query('DELETE FROM focal_checkpoints WHERE consumer LIKE $1', [`gateway.%.${schema}`]);
    say(`dropped ${schema}, which held personal data in the clear`);
  }
}
