import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { createFocalClient, expectOk, type paths } from '@focal/client';
import {
  CommandClient,
  ServiceUnavailableError,
  type CommandFields,
  type CommandSubject,
} from '@focal/contracts';
import { ordinal, type PlenaryMeetingDetails } from '@focal/domain';
import { natsConnection, tokenSecret, toolNamespace } from '@focal/service';
import { Logger } from '@nestjs/common';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';

import { signToken } from '../apps/gateway/src/index.js';

/**
 * `npm run seed`: loads the reference directory (scripts/network-reference.json, public facts) into a running
 * system through its HTTP API (FOCAL_URL, default http://127.0.0.1:$PORT or :3000), and the past plenary
 * meetings it describes through the services' NATS commands (NATS_URL, and FOCAL_NATS_NAMESPACE or the one
 * npm start chose for the data directory, FOCAL_DATA_DIR).
 * Safe to run again: every write has a fixed idempotency key, and states already at their status are left
 * alone.
 */
interface PlenaryMeetingReference extends PlenaryMeetingDetails {
  id: string;
  note: string;
  convenedAt: string;
  agenda: { id: string; session: 'open' | 'closed'; title: string }[];
  guestDelegations: { id: string; state: string; name: string }[];
  concludedAt: string;
  conclusions: { text: string; topics: string[] };
}
/** A state's admission or change of status, as PUT /v1/states/{code} takes it. */
type StateChange = paths['/v1/states/{code}']['put']['requestBody']['content']['application/json'];
type OrganisationDetails =
  paths['/v1/liaison-organisations']['post']['requestBody']['content']['application/json'];
interface Reference {
  effectiveFrom: string;
  states: (Required<Pick<StateChange, 'name' | 'status'>> & {
    code: string;
    left?: Omit<StateChange, 'name'>;
  })[];
  organisations: (OrganisationDetails & { suspended?: string })[];
  plenaryMeetings: PlenaryMeetingReference[];
}

// The gateway npm start runs: on PORT when it was started with one.
const base = process.env.FOCAL_URL ?? `http://127.0.0.1:${process.env.PORT || 3000}`;
const reference = JSON.parse(
  readFileSync(join(import.meta.dirname, 'network-reference.json'), 'utf8'),
) as Reference;
/** The secret npm start made, or the configured one; without one, what to set, in a line (no stack trace). */
const secret = (() => {
  try {
    return tokenSecret();
  } catch (error) {
    console.error(`npm run seed: ${(error as Error).message}`);
    process.exit(1);
  }
})();
const token = await signToken(secret, {
  sub: 'seed',
  role: 'secretariat',
});

const api = createFocalClient({
  baseUrl: base,
  token,
  fetch: (request) =>
    fetch(request).catch((error: unknown) => {
      throw new Error(
        `cannot reach the gateway at ${base} (${(error as Error).message}): start it with npm start, or set ` +
          'FOCAL_URL (or PORT) to where it runs',
      );
    }),
});

/** The answer's data, or an error naming the request and the problem. */
async function must<Data>(
  what: string,
  answer: Promise<{ data?: Data; error?: unknown; response: Response }>,
): Promise<Data> {
  try {
    return expectOk(await answer);
  } catch (error) {
    throw new Error(`${what}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * A past meeting as it happened: each command at its own time (the envelope's `at`), as the rules require
 * (convened before it was held, attendance on its days, conclusions after it ended). The HTTP API acts at the
 * present, so the seed speaks to the services as a NATS client, as the secretariat.
 */
async function seedPlenaryMeeting(meeting: PlenaryMeetingReference): Promise<void> {
  // The NATS client's status lines are not the seed's output; failures still throw and are printed.
  Logger.overrideLogger(false);
  const proxy = ClientProxyFactory.create({
    transport: Transport.NATS,
    options: { ...natsConnection(process.env.NATS_URL ?? 'nats://127.0.0.1:4222'), maxReconnectAttempts: 0 },
  });
  await proxy.connect().catch((error: unknown) => {
    throw new Error(`cannot reach NATS (${(error as Error).message}): set NATS_URL as for npm start`);
  });
  const commands = new CommandClient(proxy, {
    namespace: toolNamespace(),
    timeoutMs: 10_000,
  });
  const send = <S extends CommandSubject>(subject: S, command: CommandFields<S>, at: string, key: string) =>
    commands
      .send(subject, {
        actor: { principal: 'seed', role: 'secretariat' },
        idempotencyKey: `seed-plenary-${meeting.number}-${key}`,
        correlationId: `seed-plenary-${meeting.number}-${key}`,
        at,
        command,
      })
      .catch((error: unknown) => {
        if (!(error instanceof ServiceUnavailableError)) throw error;
        // The HTTP part worked, so the system runs: most likely this NATS or namespace is not the system's.
        const namespace = toolNamespace();
        throw new Error(
          `${error.message}. The seed sends the past plenary meetings over NATS (they happened before today), ` +
            `here to ${process.env.NATS_URL ?? 'nats://127.0.0.1:4222'} ` +
            `${namespace ? `in namespace ${namespace}` : 'without a namespace'}: set NATS_URL and ` +
            'FOCAL_NATS_NAMESPACE as the running system has them',
        );
      });
  const meetingId = meeting.id;
  try {
    const {
      id: _,
      note: __,
      convenedAt,
      agenda,
      guestDelegations,
      concludedAt,
      conclusions,
      ...details
    } = meeting;
    await send('focal.messaging.plenary-meeting.convene', { meetingId, ...details }, convenedAt, 'convene');
    for (const item of agenda) {
      const { id: itemId, session, title } = item;
      await send(
        'focal.messaging.plenary-meeting.add-agenda-item',
        { meetingId, itemId, session, title },
        convenedAt,
        `agenda-${itemId}`,
      );
    }
    for (const { id: delegateId, state, name } of guestDelegations) {
      await send(
        'focal.messaging.plenary-meeting.register-delegate',
        { meetingId, delegateId, session: 'open', name, state },
        convenedAt,
        `delegate-${delegateId}`,
      );
      await send(
        'focal.messaging.plenary-meeting.record-attendance',
        { meetingId, delegateId },
        `${meeting.startsOn}T09:00:00Z`,
        `attendance-${delegateId}`,
      );
    }
    await send(
      'focal.messaging.plenary-meeting.publish-conclusions',
      { meetingId, ...conclusions },
      concludedAt,
      'conclusions',
    );
  } finally {
    await proxy.close();
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
  const existing = (await must('GET /v1/states', api.GET('/v1/states'))).items;
  const statusOf = new Map(existing.map((state) => [state.code, state.status]));
  const putState = (code: string, body: StateChange, key: string) =>
    must(
      `PUT /v1/states/${code}`,
      api.PUT('/v1/states/{code}', {
        params: { path: { code }, header: { 'Idempotency-Key': key } },
        body,
      }),
    );
  for (const state of reference.states) {
    if (!statusOf.has(state.code)) {
      await putState(
        state.code,
        { name: state.name, status: state.status, effectiveFrom: reference.effectiveFrom },
        `seed-state-${state.code}`,
      );
    }
    if (state.left && statusOf.get(state.code) !== state.left.status) {
      await putState(state.code, state.left, `seed-state-${state.code}-${state.left.status}`);
    }
    progress(state.code);
  }
  for (const organisation of reference.organisations) {
    const { suspended, ...details } = organisation;
    const key = `seed-organisation-${organisation.acronym}`;
    const created = await must(
      'POST /v1/liaison-organisations',
      api.POST('/v1/liaison-organisations', {
        params: { header: { 'Idempotency-Key': key } },
        body: details,
      }),
    );
    if (suspended) {
      await must(
        `POST /v1/liaison-organisations/${created.id}/suspend`,
        api.POST('/v1/liaison-organisations/{id}/suspend', {
          params: { path: { id: created.id }, header: { 'Idempotency-Key': `${key}-suspended` } },
          body: { reason: suspended },
        }),
      );
    }
    progress(organisation.acronym);
  }
  process.stderr.write('\n');
  for (const meeting of reference.plenaryMeetings) await seedPlenaryMeeting(meeting);
  const meetings = reference.plenaryMeetings.map(
    (meeting) => `the ${ordinal(meeting.number)} plenary meeting`,
  );
  console.log(
    `seeded ${reference.states.length} states and ${reference.organisations.length} liaison organisations` +
      `${meetings.length > 0 ? `, and ${meetings.join(', ')},` : ''} into ${base}`,
  );
} catch (error) {
  process.stderr.write('\n');
  console.error((error as Error).message);
  process.exit(1);
}
