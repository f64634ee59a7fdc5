import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { tokenSecret } from '@focal/service';

import { signToken } from '../apps/gateway/src/index.js';

/**
 * `npm run seed`: loads the reference directory (scripts/network-reference.json, public facts) into a running
 * system through its HTTP API (FOCAL_URL, default http://127.0.0.1:3000). Safe to run again: every write has
 * a fixed idempotency key, and states already at their status are left alone.
 */
interface Reference {
  effectiveFrom: string;
  states: { code: string; name: string; status: string; left?: { status: string; effectiveFrom: string } }[];
  organisations: { acronym: string; name: string; kind: string; suspended?: string }[];
}

const base = process.env.FOCAL_URL ?? 'http://127.0.0.1:3000';
const reference = JSON.parse(
  readFileSync(join(import.meta.dirname, 'network-reference.json'), 'utf8'),
) as Reference;
const token = await signToken(tokenSecret(), {
  sub: 'seed',
  role: 'secretariat',
});

async function call(method: string, path: string, body: unknown, key: string) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  }).catch((error: unknown) => {
    throw new Error(
      `cannot reach the gateway at ${base} (${(error as Error).message}): start it with npm start`,
    );
  });
  const answer = (await response.json()) as { detail?: string };
  if (!response.ok) {
    throw new Error(`${method} ${path}: ${response.status} ${answer.detail ?? JSON.stringify(answer)}`);
  }
}

const total = reference.states.length + reference.organisations.length;
let done = 0;
const progress = (what: string) => {
  done++;
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(
    `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${what.padEnd(12)}`,
  );
};

try {
  const existing = await fetch(`${base}/v1/states`, { headers: { authorization: `Bearer ${token}` } }).then(
    async (response) => ((await response.json()) as { items: { code: string; status: string }[] }).items,
    (error: unknown) => {
      throw new Error(
        `cannot reach the gateway at ${base} (${(error as Error).message}): start it with npm start`,
      );
    },
  );
  const statusOf = new Map(existing.map((state) => [state.code, state.status]));
  for (const state of reference.states) {
    if (!statusOf.has(state.code)) {
      await call(
        'PUT',
        `/v1/states/${state.code}`,
        { name: state.name, status: state.status, effectiveFrom: reference.effectiveFrom },
        `seed-state-${state.code}`,
      );
    }
    if (state.left && statusOf.get(state.code) !== state.left.status) {
      await call(
        'PUT',
        `/v1/states/${state.code}`,
        state.left,
        `seed-state-${state.code}-${state.left.status}`,
      );
    }
    progress(state.code);
  }
  for (const organisation of reference.organisations) {
    const { suspended, ...details } = organisation;
    const key = `seed-organisation-${organisation.acronym}`;
    const response = await fetch(`${base}/v1/liaison-organisations`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify(details),
    });
    const created = (await response.json()) as { id?: string; detail?: string };
    if (!response.ok || !created.id) throw new Error(`POST /v1/liaison-organisations: ${created.detail}`);
    if (suspended) {
      await call(
        'POST',
        `/v1/liaison-organisations/${created.id}/suspend`,
        { reason: suspended },
        `${key}-suspended`,
      );
    }
    progress(organisation.acronym);
  }
  process.stderr.write('\n');
  console.log(
    `seeded ${reference.states.length} states and ${reference.organisations.length} liaison organisations into ${base}`,
  );
} catch (error) {
  process.stderr.write('\n');
  console.error((error as Error).message);
  process.exit(1);
}
