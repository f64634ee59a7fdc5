/**
 * The bare pipeline Focal's command path is compared with: Fastify `POST` → NATS request → a responder →
 * one autocommit `INSERT … RETURNING` → reply, in one process as Focal's `npm start` is. On PostgreSQL
 * (BARE_DATABASE_URL, a pool of 10 as Focal's) or on PGlite (BARE_PGLITE_DIR). Prints `ready <url>`.
 */
import { PGlite } from '@electric-sql/pglite';
import { connect } from '@nats-io/transport-node';
import Fastify from 'fastify';
import pg from 'pg';

const subject = `${process.env.BARE_NAMESPACE ?? 'bare'}.insert`;
const nats = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });

const ddl = `CREATE TABLE IF NOT EXISTS bare_commands (id bigserial PRIMARY KEY, body jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now())`;
const insert = 'INSERT INTO bare_commands (body) VALUES ($1) RETURNING id::text AS id';
let run: (body: string) => Promise<string>;
let close: () => Promise<void>;
if (process.env.BARE_DATABASE_URL) {
  const pool = new pg.Pool({ connectionString: process.env.BARE_DATABASE_URL, max: 10 });
  await pool.query(ddl);
  run = async (body) => (await pool.query<{ id: string }>(insert, [body])).rows[0]!.id;
  close = () => pool.end();
} else {
  const db = await PGlite.create(process.env.BARE_PGLITE_DIR!);
  await db.exec(ddl);
  run = async (body) => (await db.query<{ id: string }>(insert, [body])).rows[0]!.id;
  close = () => db.close();
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const responder = nats.subscribe(subject, {
  queue: 'bare',
  callback: (error, message) => {
    if (error) return;
    run(decoder.decode(message.data)).then(
      (id) => message.respond(encoder.encode(JSON.stringify({ id }))),
      (failure: unknown) => message.respond(encoder.encode(JSON.stringify({ error: String(failure) }))),
    );
  },
});
await nats.flush();

const app = Fastify();
app.post('/commands', async (request, reply) => {
  const answer = await nats.request(subject, encoder.encode(JSON.stringify(request.body)), {
    timeout: 5_000,
  });
  const result = JSON.parse(decoder.decode(answer.data)) as { id?: string; error?: string };
  return reply.code(result.id ? 201 : 500).send(result);
});
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`ready ${url}\n`);
process.once('SIGTERM', () => {
  void (async () => {
    await app.close();
    responder.unsubscribe();
    await nats.drain();
    await close();
    process.exit(0);
  })();
});
