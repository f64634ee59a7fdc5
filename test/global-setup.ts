import net from 'node:net';

import pg from 'pg';

// Jest loads global setup outside its module mapper, so this file imports no project module.
const adminUrl = process.env.FOCAL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/**
 * Fails with one message naming every missing service and how to start it. Tests run against real
 * PostgreSQL and NATS and never skip silently when one is missing.
 */
export default async function globalSetup(): Promise<void> {
  const problems: string[] = [];
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    problems.push(
      `PostgreSQL is not reachable at ${redact(adminUrl)} (${(error as Error).message}). Start it ` +
        '(pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set FOCAL_TEST_DATABASE_URL ' +
        'to a role that may create databases.',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  try {
    await natsInfo(natsUrl);
  } catch (error) {
    problems.push(
      `NATS is not reachable at ${natsUrl} (${(error as Error).message}). Start it (nats-server -js) or set NATS_URL.`,
    );
  }
  if (problems.length > 0) throw new Error(`Tests need real services:\n- ${problems.join('\n- ')}`);
}

/** Connects and reads the server's INFO line: proof that a NATS server, not just a port, answers. */
function natsInfo(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port || 4222) });
    const timer = setTimeout(() => socket.destroy(new Error('no answer in 3 s')), 3_000);
    socket.once('data', (chunk) => {
      clearTimeout(timer);
      socket.end();
      if (chunk.toString().startsWith('INFO ')) resolve();
      else reject(new Error('the server there does not speak NATS'));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
