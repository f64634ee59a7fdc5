import { randomUUID } from 'node:crypto';

import pg from 'pg';

import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/** The server the tests create their databases on; `.ci/run` and the README name the default. */
export const adminUrl = process.env.FOCAL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates a database with a unique name, so that test runs never collide or depend on leftovers. */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const name = `focal_${label}_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () =>
      withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A proxy in front of the test server, and `database`'s URL through it: for tests that cut, freeze or heal
 * one process's connection to PostgreSQL while others keep theirs.
 */
export async function proxiedDatabase(database: TestDatabase): Promise<{ proxy: TcpProxy; url: string }> {
  const server = new URL(adminUrl);
  const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
  const url = new URL(database.url);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  return { proxy, url: url.toString() };
}
