import { testSecrets } from './support/secrets.js';
import {
  describeRequest,
  generateRequests,
  operationsOf,
  Rng,
  type Fixtures,
  type GeneratedRequest,
  type OpenApiDocument,
} from './support/bad-requests.js';
import { problemFault, rawRequest, readAnswer, send, sendRaw } from './support/problems.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';
import { signClaims } from './support/tokens.js';

/**
 * Thousands of bad requests generated from the gateway's own OpenAPI document (see support/bad-requests.ts),
 * sent to the running system on each store, a few at a time. It fails on any 5xx, any request not answered
 * within the bound, a 4xx that is not a Focal problem, an event written by a request that was refused, read
 * models that no longer catch up, or a system not ready afterwards. FOCAL_FUZZ_SEED reruns a seed
 * (`random` draws a new one), FOCAL_FUZZ_REQUESTS sets how many requests per store.
 */
const SEED =
  process.env.FOCAL_FUZZ_SEED === 'random'
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.FOCAL_FUZZ_SEED ?? 20_261_122);
const REQUESTS = Number(process.env.FOCAL_FUZZ_REQUESTS ?? 3_000);
const IN_PARALLEL = 4;
/** Above the gateway's command timeout in the tests (10 s): a request that takes longer hangs. */
const ANSWER_WITHIN_MS = 15_000;

interface Outcome {
  request: GeneratedRequest;
  /** The status, or what happened instead (`no answer …`). */
  status: number | string;
  fault?: string;
}

describe.each(STORES)('generated bad input against the running system (%s store)', (store) => {
  let system: TestSystem;
  let fixtures: Fixtures;

  const write = async (path: string, token: string, body: unknown, method = 'POST') => {
    const answer = await send(system.url, method, path, {
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (answer.status >= 300) throw new Error(`${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const sign = signClaims;

  beforeAll(async () => {
    // Webhooks may be created by the generated requests: to a loopback port nothing listens on.
    // Thousands of requests from a handful of principals: rate limits (tested on their own) would answer most
    // of them with 429 before they reach the checks this test is about.
    system = await startSystem(store, 'generated_bad_input', {
      webhooksAllowLoopback: true,
      abuseLimits: { writesPerMinute: 0, streamOpensPerMinute: 0 },
    });
    const secretariat = await system.token({ role: 'secretariat', principal: 'secretariat-1' });
    for (const [code, name, status] of [
      ['FR', 'France', 'member'],
      ['DE', 'Germany', 'member'],
      ['NO', 'Norway', 'observer'],
    ]) {
      await write(`/v1/states/${code}`, secretariat, { name, status, effectiveFrom: '2002-06-13' }, 'PUT');
    }
    const organisation = (
      await write('/v1/liaison-organisations', secretariat, {
        name: 'International Criminal Court',
        acronym: 'ICC',
        kind: 'international-court',
      })
    ).id as string;
    const france = await system.token({ role: 'member-state', state: 'FR', principal: 'fr-1' });
    const contactPoint = (
      await write('/v1/contact-points', france, {
        state: 'FR',
        fullName: 'Claire Martin',
        email: 'claire.martin@justice.example',
        role: 'prosecutor',
        authority: 'Parquet national antiterroriste',
        languages: ['fr'],
      })
    ).id as string;
    const meetingRequest = (
      await write('/v1/meeting-requests', france, {
        subjectKind: 'topic',
        title: 'Digital evidence',
        summary: 'Sharing practice',
        confidentiality: 'open',
        proposedDates: ['2031-03-02'],
      })
    ).id as string;
    const thread = (
      await write('/v1/threads', france, {
        subject: 'Witness contact',
        visibility: 'open',
        participants: ['state:DE'],
      })
    ).id as string;
    const message = (
      await write(`/v1/threads/${thread}/messages`, france, { body: 'hello', handlingCode: 'H0' })
    ).messageId as string;
    const tokens: Record<string, string | undefined> = {
      secretariat,
      'member-state': france,
      'observer-state': await system.token({ role: 'observer-state', state: 'NO', principal: 'no-1' }),
      'liaison-organisation': await system.token({
        role: 'liaison-organisation',
        organisation,
        principal: 'icc-1',
      }),
      auditor: await system.token({ role: 'auditor', principal: 'auditor-1' }),
      'no token': undefined,
    };
    const none = (payload: object) =>
      `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`;
    const badAuthorizations = [
      'Bearer',
      'Bearer ',
      'Bearer abc',
      'Bearer a.b.c',
      'Basic Zm9vOmJhcg==',
      `Bearer ${'x'.repeat(8_000)}`,
      `Bearer ${none({ sub: 'x', role: 'secretariat', exp: 4_102_444_800 })}`,
      `Bearer ${await sign({ sub: 'x', role: 'secretariat' }, 'another-secret')}`,
      `Bearer ${await sign({ sub: 'x', role: 'secretariat' }, testSecrets.jwtSecret, 1_000)}`,
      ...(
        await Promise.all(
          [
            { role: 'secretariat' },
            { sub: 5, role: 'secretariat' },
            { sub: null, role: 'auditor' },
            { sub: { a: 1 }, role: 'secretariat' },
            { sub: ['x'], role: 'secretariat' },
            { sub: 'a\u0000b', role: 'secretariat' },
            { sub: 'a\ud800', role: 'secretariat' },
            { sub: 'x', role: ['secretariat'] },
            { sub: 'x', role: 'guest' },
            { sub: 'x', role: 'member-state', state: 33 },
            { sub: 'x', role: 'member-state', state: 'F\u0000' },
            { sub: 'x', role: 'member-state', state: '\udc00R' },
            { sub: 'x', role: 'member-state', state: 'XX' },
            { sub: 'x', role: 'liaison-organisation', organisation: { id: organisation } },
            { sub: 'x', role: 'liaison-organisation', organisation: `${organisation}\u0000` },
            { sub: 'x', role: 'liaison-organisation', organisation: 'icc' },
          ].map((claims) => sign(claims)),
        )
      ).map((token) => `Bearer ${token}`),
    ];
    fixtures = {
      ids: { contactPoint, organisation, meetingRequest, thread, message },
      tokens,
      badAuthorizations,
    };
  });
  afterAll(() => system?.stop());

  it(
    `answers ${REQUESTS} generated bad requests with problems, never a 5xx or a hang, and writes nothing for them`,
    async () => {
      const document = (await send(system.url, 'GET', '/docs-json')).body as OpenApiDocument;
      const operations = operationsOf(document);
      expect(operations.length).toBeGreaterThan(35);
      const requests = generateRequests(operations, fixtures, new Rng(SEED), REQUESTS);
      const correlation = (index: number) => `fz-${SEED}-${index}`;
      const from = await system.persistence.store.headPosition();
      const started = Date.now();

      const outcomes: Outcome[] = new Array(requests.length);
      let next = 0;
      const worker = async () => {
        while (next < requests.length) {
          const index = next++;
          outcomes[index] = await answer(system.url, requests[index]!, correlation(index));
        }
      };
      await Promise.all(Array.from({ length: IN_PARALLEL }, worker));
      const seconds = (Date.now() - started) / 1000;

      const failures = outcomes.flatMap((outcome, index) => {
        const { status } = outcome;
        const why =
          typeof status === 'string'
            ? status
            : status >= 500
              ? `a ${status}`
              : status >= 400 && outcome.fault
                ? `a ${status} that is not a Focal problem (${outcome.fault})`
                : undefined;
        return why ? [`#${index} ${why}: ${describeRequest(outcome.request)}`] : [];
      });

      // Only requests answered 2xx may have added events (audit reads record AuditTrailRead, with ids of their own).
      const written = new Map<number, string[]>();
      let auditReads = 0;
      const strangers: string[] = [];
      let after = from;
      for (let page = 0; page < 10_000; page++) {
        const events = await system.persistence.store.readAll({ ...(after ? { after } : {}), limit: 1_000 });
        if (events.length === 0) break;
        for (const event of events) {
          const id = /^fz-\d+-(\d+)$/.exec(event.metadata.correlationId)?.[1];
          if (id !== undefined) written.set(Number(id), [...(written.get(Number(id)) ?? []), event.type]);
          else if (event.type === 'AuditTrailRead') auditReads++;
          else strangers.push(`${event.type} in ${event.streamId}`);
        }
        after = events.at(-1)!.globalPosition;
      }
      for (const [index, types] of written) {
        const { status, request } = outcomes[index]!;
        if (typeof status !== 'number' || status >= 300) {
          failures.push(
            `#${index} answered ${status} yet wrote ${types.join(', ')}: ${describeRequest(request)}`,
          );
        }
      }
      const auditAnswered = outcomes.filter(
        (outcome) =>
          typeof outcome.status === 'number' &&
          outcome.status < 300 &&
          /^\/v1\/(audit|directory)/.test(outcome.request.path),
      ).length;
      if (auditReads > auditAnswered)
        failures.push(`${auditReads} audit reads recorded for ${auditAnswered} answered`);
      failures.push(...strangers.map((stranger) => `an event no request of this run wrote: ${stranger}`));

      // The system is still whole: ready, and its read models keep up with the log.
      const ready = await send(system.url, 'GET', '/health/ready');
      if (ready.status !== 200)
        failures.push(`not ready afterwards: ${ready.status} ${JSON.stringify(ready.body)}`);
      const behind = await readModelsBehind(system);
      if (behind.length > 0) failures.push(`read models stuck behind the log: ${behind.join(', ')}`);

      const statuses = new Map<string, number>();
      for (const { status } of outcomes)
        statuses.set(String(status), (statuses.get(String(status)) ?? 0) + 1);
      const sent = outcomes.length;
      const raw = outcomes.filter((outcome) => outcome.request.mutation.endsWith('(sent raw)')).length;
      console.log(
        [
          `generated bad input (${store} store): seed ${SEED} (rerun with FOCAL_FUZZ_SEED=${SEED})`,
          `  ${sent} requests sent (${raw} of them as raw bytes, which fetch would not send) in ${seconds.toFixed(1)} s, ${IN_PARALLEL} at a time`,
          `  statuses: ${[...statuses]
            .sort()
            .map(([status, count]) => `${status}: ${count}`)
            .join(', ')}`,
          `  events written: ${[...written.values()].flat().length} by ${written.size} requests answered 2xx, ` +
            `${auditReads} audit reads recorded`,
          `  failures: ${failures.length}`,
        ].join('\n'),
      );
      expect(failures.slice(0, 25)).toEqual([]);
    },
    15 * 60_000,
  );
});

/** Sends one generated request; a stream (SSE) that opens is closed at once, everything else read whole. */
async function answer(url: string, request: GeneratedRequest, correlationId: string): Promise<Outcome> {
  let response: Response;
  try {
    response = await fetch(`${url}${request.path}`, {
      method: request.method,
      headers: { ...request.headers, 'x-correlation-id': correlationId },
      ...(request.body !== undefined ? { body: request.body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
    });
  } catch (error) {
    // fetch refuses some headers before sending anything (control characters, empty values): those requests go
    // out as bytes on a socket instead, so that the gateway meets them all the same.
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? '';
    if ((error as Error).name === 'TypeError' && (!cause || /^invalid .* header$/.test(cause))) {
      return answerRaw(url, request, correlationId);
    }
    return { request, status: `no answer (${(error as Error).message}${cause ? `: ${cause}` : ''})` };
  }
  try {
    const contentType = response.headers.get('content-type') ?? '';
    if (response.status === 200 && contentType.startsWith('text/event-stream')) {
      await response.body?.cancel();
      return { request, status: response.status };
    }
    const read = await readAnswer(response);
    const fault = response.status >= 400 ? problemFault(read) : undefined;
    return { request, status: response.status, ...(fault ? { fault } : {}) };
  } catch (error) {
    return { request, status: `no whole answer (${(error as Error).message})` };
  }
}

async function answerRaw(url: string, request: GeneratedRequest, correlationId: string): Promise<Outcome> {
  const bytes = rawRequest(
    url,
    request.method,
    request.path,
    { ...request.headers, 'x-correlation-id': correlationId },
    request.body,
  );
  try {
    const answer = await sendRaw(url, bytes, ANSWER_WITHIN_MS);
    const fault = answer.status >= 400 ? problemFault(answer) : undefined;
    return {
      request: { ...request, mutation: `${request.mutation} (sent raw)` },
      status: answer.status,
      ...(fault ? { fault } : {}),
    };
  } catch (error) {
    return { request, status: `no answer (raw: ${(error as Error).message})` };
  }
}

/** The read models that have not caught up with the log within 20 s (bounded, by condition, not by sleep). */
async function readModelsBehind(system: TestSystem): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  let behind: string[] = [];
  for (let attempt = 0; attempt < 400 && Date.now() < deadline; attempt++) {
    const lags = await Promise.all(
      system.gateway.readModels.runners.map(async (runner) => ({
        name: runner.name,
        ...(await runner.lag()),
      })),
    );
    behind = lags.filter((lag) => lag.events > 0).map((lag) => `${lag.name} (${lag.events} events)`);
    if (behind.length === 0) break;
    await system.gateway.readModels.catchUp().catch(() => undefined);
  }
  return behind;
}
