import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import fc from 'fast-check';

import { parseCloudEvent } from './support/cloud-events.js';
import { subscribe, typeOf, type SseClient, type SseFrame } from './support/sse.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';

/*
 * Generated histories of states, liaison organisations, ad hoc meeting requests, threads and contact points,
 * executed over HTTP; then every path, for every principal, compared with an oracle written from SPEC §1–§2
 * alone. The oracle comes first (pure functions over the model the test keeps of what it did), then the
 * generators, then the history's execution, then the paths.
 *
 * FOCAL_ORACLE_SEED (default below) and FOCAL_ORACLE_RUNS (default 8 histories per store) choose the histories;
 * a failure prints the seed, the generated history and the journal of what was done.
 */

// ─── The oracle: SPEC §1–§2 in plain code ───────────────────────────────────────────────────────────────────

type Status = 'member' | 'observer' | 'guest' | 'former';
type Role =
  'secretariat' | 'member-state' | 'observer-state' | 'guest-state' | 'liaison-organisation' | 'auditor';
/** How §2 names participants: a state, an organisation, the secretariat. */
type Ref = 'secretariat' | `state:${string}` | `organisation:${string}`;
interface Viewer {
  role: Role;
  state?: string;
  organisation?: string;
}
type Vis =
  | { level: 'open' }
  | { level: 'closed' }
  | { level: 'restricted'; participants: readonly Ref[]; closed?: boolean };

const OPEN: Vis = { level: 'open' };
const CLOSED: Vis = { level: 'closed' };
const restricted = (participants: Iterable<Ref>, closed = false): Vis => ({
  level: 'restricted',
  participants: [...new Set(participants)],
  closed,
});

/** What the test did, as the log must hold it: every entity, and every event in the order it was written. */
interface Model {
  /** Status entries in the order recorded; `seq` is the event that recorded each. */
  states: Map<string, { entries: { status: Status; from: string; seq: number }[] }>;
  /** Each suspension's reason is closed (§1), of an open event: given only to who may see closed fields. */
  organisations: Map<
    string,
    { seq: number; suspensions: { suspended: boolean; seq: number }[]; reasons: string[] }
  >;
  meetings: Map<string, Meeting>;
  threads: Map<string, Thread>;
  contactPoints: Map<string, ContactPoint>;
  events: ModelEvent[];
  /** `streamId@version` → event. */
  byKey: Map<string, ModelEvent>;
}
interface Meeting {
  id: string;
  requestedBy: string;
  confidentiality: 'open' | 'closed';
  invitedStates: string[];
  invitedOrganisations: string[];
  coSponsors: string[];
  status: 'requested' | 'withdrawn';
}
interface Thread {
  id: string;
  visibility: 'open' | 'closed' | 'restricted';
  participants: Ref[];
  messages: { author: Ref; deliveredTo: Ref[] }[];
}
interface ContactPoint {
  id: string;
  state: string;
  fullName: string;
  email: string;
  phone?: string;
  formerEmails: string[];
  erased: boolean;
}
interface ModelEvent {
  seq: number;
  stream: string;
  version: number;
  type: string;
  visibility: Vis;
}

/** §2 State: a status takes effect on its `effectiveFrom`, not before; the latest in force on `date` counts. */
function statusOn(model: Model, code: string, date: string, upTo = Infinity): Status | undefined {
  let status: Status | undefined;
  for (const entry of model.states.get(code)?.entries ?? []) {
    if (entry.seq <= upTo && entry.from <= date) status = entry.status;
  }
  return status;
}

const ROLE_OF_STATUS: Record<Exclude<Status, 'former'>, Role> = {
  member: 'member-state',
  observer: 'observer-state',
  guest: 'guest-state',
};

/**
 * §4 and §7: a token whose state or organisation is unknown, suspended or former is refused, and so is one
 * whose role does not match its state's status; as it stood after the event `upTo` of the log. The reasons are
 * the API's names for these refusals (README, Authentication).
 */
function standing(
  viewer: Viewer,
  model: Model,
  date: string,
  upTo = Infinity,
): { ok: true } | { ok: false; reason: string } {
  const refused = (reason: string) => ({ ok: false as const, reason: `principal/${reason}` });
  if (viewer.role === 'secretariat' || viewer.role === 'auditor') return { ok: true };
  if (viewer.role === 'liaison-organisation') {
    const organisation = model.organisations.get(viewer.organisation!);
    if (!organisation || organisation.seq > upTo) return refused('unknown-organisation');
    const suspended = organisation.suspensions.filter((change) => change.seq <= upTo).at(-1)?.suspended;
    return suspended ? refused('organisation-suspended') : { ok: true };
  }
  const status = statusOn(model, viewer.state!, date, upTo);
  if (!status) return refused('unknown-state');
  if (status === 'former') return refused('former-state');
  return ROLE_OF_STATUS[status] === viewer.role ? { ok: true } : refused('role-mismatch');
}

/** The participant a principal acts as; an auditor takes part in nothing. */
function refOf(viewer: Viewer): Ref | undefined {
  if (viewer.role === 'secretariat') return 'secretariat';
  if (viewer.role === 'liaison-organisation') return `organisation:${viewer.organisation!}`;
  if (viewer.role === 'auditor') return undefined;
  return `state:${viewer.state!}`;
}

/** §1 Visibility, for a principal in good standing. */
function sees(viewer: Viewer, visibility: Vis): boolean {
  switch (visibility.level) {
    case 'open':
      return true;
    case 'closed':
      return viewer.role !== 'liaison-organisation' && viewer.role !== 'guest-state';
    case 'restricted': {
      if (viewer.role === 'secretariat' || viewer.role === 'auditor') return true;
      // §1: a closed thread or meeting stays closed to a participant who may not see closed information.
      if (visibility.closed && !sees(viewer, CLOSED)) return false;
      const self = refOf(viewer);
      return self !== undefined && visibility.participants.includes(self);
    }
  }
}

/** §1: a contact point's e-mail, phone and notes are closed. */
const seesClosedFields = (viewer: Viewer) => sees(viewer, CLOSED);
const CLOSED_FIELDS = ['email', 'phone', 'notes'];

/**
 * §1: a closed request is restricted to the requesting and co-sponsoring states and invited participants, and
 * is still closed: never a guest state's, also one invited before it became a guest.
 */
function meetingVisibility(meeting: Meeting): Vis {
  if (meeting.confidentiality === 'open') return OPEN;
  return restricted(
    [
      `state:${meeting.requestedBy}`,
      ...meeting.coSponsors.map((code) => `state:${code}` as const),
      ...meeting.invitedStates.map((code) => `state:${code}` as const),
      ...meeting.invitedOrganisations.map((id) => `organisation:${id}` as const),
    ],
    true,
  );
}

/**
 * §2 Thread: participants, the secretariat and auditors read it, on every path, and no one else; a closed one
 * none of its participants who may not see closed information (§1: a state that became a guest).
 */
const threadVisibility = (thread: Thread): Vis =>
  restricted(thread.participants, thread.visibility === 'closed');

/**
 * The visibility of each directory event. States and liaison organisations are listed to all (§4), a contact
 * point's name and authority are open (§1). That an organisation is suspended is open (the directory lists it,
 * its reinstatement is open); SPEC does not say who reads why: the oracle takes the reason as a closed field
 * (internal to the network, never to the organisation's own feed). A contact-point change that touches closed
 * fields alone carries nothing but closed facts: closed.
 */
function directoryEventVisibility(type: string, changedFields: string[] = []): Vis {
  switch (type) {
    case 'ContactPointDetailsChanged':
      return changedFields.every((field) => CLOSED_FIELDS.includes(field)) ? CLOSED : OPEN;
    default:
      return OPEN;
  }
}

/** Every event of the log `viewer` may see (§5: each one, once, in order). */
const visibleEvents = (viewer: Viewer, model: Model, fromSeq = 0) =>
  model.events.filter((event) => event.seq >= fromSeq && sees(viewer, event.visibility));

/**
 * §1: "at the moment of delivery": the first event from `fromSeq` on after which `viewer` no longer stands
 * (its state leaving or changing status, its organisation suspended): a live path stops there, the event
 * itself included.
 */
function standingLost(viewer: Viewer, model: Model, date: string, fromSeq: number): number {
  const own =
    viewer.role === 'liaison-organisation'
      ? `liaison-organisation-${viewer.organisation}`
      : viewer.state
        ? `state-${viewer.state}`
        : undefined;
  const lost = model.events.find(
    (event) => event.seq >= fromSeq && event.stream === own && !standing(viewer, model, date, event.seq).ok,
  );
  return lost?.seq ?? Infinity;
}

const meetingsSeen = (viewer: Viewer, model: Model) =>
  [...model.meetings.values()].filter((meeting) => sees(viewer, meetingVisibility(meeting)));

/** §4 inbox: the threads the caller takes part in and may see. */
const inboxOf = (viewer: Viewer, model: Model) =>
  [...model.threads.values()].filter(
    (thread) => thread.participants.includes(refOf(viewer)!) && sees(viewer, threadVisibility(thread)),
  );

// ─── Generators ─────────────────────────────────────────────────────────────────────────────────────────────

const pick = fc.nat({ max: 999 });
type When = 'past' | 'today' | 'future';
const stepArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('request' as const),
      by: pick,
      closed: fc.boolean(),
      invite: fc.array(pick, { minLength: 1, maxLength: 3 }),
      inviteOrganisations: fc.array(pick, { maxLength: 2 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('co-sponsor' as const), meeting: pick, by: pick }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('thread' as const),
      by: pick,
      visibility: fc.constantFrom('open' as const, 'closed' as const, 'restricted' as const),
      with: fc.array(pick, { minLength: 1, maxLength: 3 }),
      secretariat: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('post' as const), thread: pick, by: pick }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('register-cp' as const),
      state: pick,
      bySecretariat: fc.boolean(),
      phone: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('change-cp' as const), cp: pick, closedOnly: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('erase-cp' as const), cp: pick }) },
);
type GeneratedStep = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;

const historyArb = fc.record({
  /** Three members, an observer and a guest, then up to two more of any status. */
  moreStates: fc.array(fc.constantFrom<Status>('member', 'observer', 'guest'), { maxLength: 2 }),
  changes: fc.array(
    fc.option(
      fc.record({
        to: fc.constantFrom<Status>('member', 'observer', 'guest', 'former'),
        when: fc.constantFrom<When>('past', 'today', 'future'),
        at: pick,
      }),
      { nil: undefined },
    ),
    { minLength: 7, maxLength: 7 },
  ),
  organisations: fc.array(
    fc.record({ fate: fc.constantFrom('stays', 'suspended', 'reinstated'), at: pick, back: pick }),
    { minLength: 2, maxLength: 3 },
  ),
  steps: fc.array(stepArb, { minLength: 14, maxLength: 22 }),
  /** Where each principal (states, organisations, secretariat, auditor) subscribes live, if it does. */
  live: fc.array(fc.option(pick, { nil: undefined }), { minLength: 12, maxLength: 12 }),
  wrongRole: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
});
type History = typeof historyArb extends fc.Arbitrary<infer T> ? T : never;

type Step =
  | GeneratedStep
  | { kind: 'status'; state: number; to: Status; when: When }
  | { kind: 'suspend' | 'reinstate'; organisation: number }
  | { kind: 'subscribe'; principal: number };

/**
 * The plan of one history: the statuses states are admitted with, and the steps after that, with the status
 * changes, suspensions, reinstatements and live subscriptions placed among the generated steps. Every plan
 * changes one state to `former` (today or in the past) and one status in the future, and suspends an
 * organisation.
 */
function plan(history: History) {
  const statuses: Status[] = ['member', 'member', 'member', 'observer', 'guest', ...history.moreStates];
  const changes = history.changes.slice(0, statuses.length);
  if (!changes.some((change) => change?.to === 'former' && change.when !== 'future')) {
    changes[statuses.length - 1] = { to: 'former', when: 'today', at: 500 };
  }
  if (!changes.some((change) => change?.when === 'future')) {
    changes[1] = { to: changes[1]?.to ?? 'observer', when: 'future', at: 700 };
  }
  const fates = history.organisations.map((organisation) => organisation.fate);
  if (!fates.includes('suspended')) fates[0] = 'suspended';
  const steps: Step[] = [...history.steps];
  const insert = (at: number, step: Step) => steps.splice(at % (steps.length + 1), 0, step);
  changes.forEach((change, state) => {
    if (change) insert(change.at, { kind: 'status', state, to: change.to, when: change.when });
  });
  history.organisations.forEach((organisation, i) => {
    if (fates[i] === 'stays') return;
    insert(organisation.at, { kind: 'suspend', organisation: i });
    if (fates[i] === 'reinstated') {
      const suspendedAt = steps.findIndex((step) => step.kind === 'suspend' && step.organisation === i);
      const after = suspendedAt + 1 + (organisation.back % (steps.length - suspendedAt));
      steps.splice(after, 0, { kind: 'reinstate', organisation: i });
    }
  });
  history.live.forEach((at, principal) => {
    if (at !== undefined) insert(at, { kind: 'subscribe', principal });
  });
  return { statuses, organisations: fates.length, steps, wrongRole: history.wrongRole };
}

// ─── Running a history over HTTP ────────────────────────────────────────────────────────────────────────────

/** Country codes for the states of the histories: each history admits its own. */
const CODES = (
  'AD AE AF AG AL AM AO AR AT AU AZ BA BB BD BE BF BG BH BI BJ BN BO BR BS BT BW BY BZ CA CD CF CG CH CI CL ' +
  'CM CN CO CR CU CV CY CZ DE DJ DK DM DO DZ EC EE EG ER ES ET FI FJ FM FR GA GB GD GE GH GM GN GQ GR GT GW ' +
  'GY HN HR HT HU ID IE IL IN IQ IR IS IT JM JO JP KE KG KH KI KM KN KP KR KW KZ LA LB LC LI LK LR LS LT LU'
).split(' ');

const TODAY = new Date().toISOString().slice(0, 10);
const EFFECTIVE: Record<When, string> = {
  past: '2019-03-01',
  today: TODAY,
  future: new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10),
};
const letters = (n: number) =>
  [...randomBytes(n)].map((byte) => String.fromCharCode(97 + (byte % 26))).join('');
const digits = (n: number) => [...randomBytes(n)].map((byte) => String(byte % 10)).join('');

/** A webhook receiver on loopback, one path per subscription, keeping what each was sent. */
async function receiver() {
  const received = new Map<string, { position: string; data: string }[]>();
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const key = request.url!.slice('/hook/'.length);
      if (!received.has(key)) received.set(key, []);
      // The message id is the subscription and the event's position.
      const position = String(request.headers['webhook-id']).split(':')[1]!;
      received.get(key)!.push({ position, data: body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: (key: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/${key}`,
    received: (key: string) => received.get(key) ?? [],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const until = async (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

const describeViewer = (viewer: Viewer) =>
  `${viewer.role}${viewer.state ? ` ${viewer.state}` : ''}${viewer.organisation ? ` ${viewer.organisation.slice(0, 8)}` : ''}`;

/**
 * Streams that hold closed and other events (a contact point's changes of closed fields alone, a plenary
 * meeting's closed session): a version of theirs would let who may not see closed events count them.
 */
const VERSIONS_COUNT_CLOSED = /^(contact-point|plenary-meeting)-/;
/** Each stored event's version in its stream, by position: read from the store before the checks. */
const versionAt = new Map<string, number>();
/** The position an id a caller was given names: the position itself, or its cursor's. */
let positionOf: (id: string) => string;
/**
 * An event as SSE and webhooks deliver it, read from its CloudEvent (id, subject, type, streamversion). Who may
 * not see closed events is not given the version of a stream whose versions count them (`shownVersion`
 * undefined): the event is then known by the version the store holds at its position.
 */
interface Delivered {
  position: string;
  type: string;
  streamId: string;
  streamVersion: number;
  shownVersion: number | undefined;
  data: unknown;
}
const delivered = (payload: string): Delivered => {
  const event = parseCloudEvent(payload);
  const shownVersion = event.streamversion as number | undefined;
  return {
    position: positionOf(event.id),
    type: event.type.replace(/^eu\.focal\./, ''),
    streamId: event.subject!,
    streamVersion: shownVersion ?? versionAt.get(positionOf(event.id))!,
    shownVersion,
    data: event.data,
  };
};
const keyOf = (event: { streamId: string; streamVersion: number } | ModelEvent) =>
  'seq' in event ? `${event.stream}@${event.version}` : `${event.streamId}@${event.streamVersion}`;
/** Streams of the system's own, not of the histories: checkpoints and audit reads (none are made here). */
const SYSTEM_STREAM = /^(log-checkpoints|audit-read-)/;

describe.each(STORES)('visibility oracle over generated histories (%s store)', (store) => {
  let system: TestSystem;
  let hooks: Awaited<ReturnType<typeof receiver>>;
  const model: Model = {
    states: new Map(),
    organisations: new Map(),
    meetings: new Map(),
    threads: new Map(),
    contactPoints: new Map(),
    events: [],
    byKey: new Map(),
  };
  const tokens = new Map<string, Promise<string>>();
  const tokenOf = (viewer: Viewer) => {
    const key = describeViewer(viewer);
    if (!tokens.has(key)) tokens.set(key, system.token({ ...viewer, principal: `oracle ${key}` }));
    return tokens.get(key)!;
  };
  const secretariat: Viewer = { role: 'secretariat' };
  const auditor: Viewer = { role: 'auditor' };
  let runs = 0;

  beforeAll(async () => {
    system = await startSystem(store, 'oracle', {
      webhooksAllowLoopback: true,
      webhookBaseDelayMs: 50,
      webhookMaxAttempts: 3,
    });
    positionOf = (id) => system.positionOf(id)!;
    hooks = await receiver();
  });
  afterAll(async () => {
    await hooks?.close();
    await system?.stop();
  });

  /** One comparison, named: a failure says who, on which path, and what differs. */
  const agree = (context: Record<string, unknown>, got: unknown, expected: unknown) =>
    expect({ ...context, got }).toEqual({ ...context, got: expected });

  /** Records the event a write answered with: the next version of its stream. */
  const record = (stream: string, type: string, visibility: Vis, answer?: { body: { version?: number } }) => {
    const version = model.events.filter((event) => event.stream === stream).length + 1;
    if (answer && answer.body.version !== version) {
      throw new Error(`${stream}: expected version ${version} after ${type}, got ${answer.body.version}`);
    }
    const event = { seq: model.events.length, stream, version, type, visibility };
    model.events.push(event);
    model.byKey.set(keyOf(event), event);
    return event;
  };

  /** Records a directory event, with the visibility the oracle gives its type. */
  const recordDirectory = (
    stream: string,
    type: string,
    answer: { body: { version?: number } },
    changedFields?: string[],
  ) => record(stream, type, directoryEventVisibility(type, changedFields), answer);

  /** Records an event of a meeting request or a thread, with the visibility the oracle gives it now. */
  const recordMeeting = (meeting: Meeting, type: string, answer?: { body: { version?: number } }) =>
    record(`meeting-request-${meeting.id}`, type, meetingVisibility(meeting), answer);
  const recordThread = (thread: Thread, type: string, answer?: { body: { version?: number } }) =>
    record(`thread-${thread.id}`, type, threadVisibility(thread), answer);

  async function runHistory(history: History, journal: string[]) {
    const run = runs++;
    const { statuses, organisations: organisationCount, steps, wrongRole } = plan(history);
    const codes = CODES.slice(run * 8, run * 8 + statuses.length);
    if (codes.length < statuses.length)
      throw new Error('FOCAL_ORACLE_RUNS is more than the country codes allow');
    const write = async (viewer: Viewer, method: string, path: string, body?: unknown) => {
      journal.push(`${describeViewer(viewer)}: ${method} ${path} ${body ? JSON.stringify(body) : ''}`);
      return system.ok(method, path, await tokenOf(viewer), body);
    };
    /** The role a state's token takes now (its last before it left, for a former state). */
    const roleOf = (code: string): Role => {
      const entries = model.states.get(code)!.entries.filter((entry) => entry.from <= TODAY);
      const status = entries.filter((entry) => entry.status !== 'former').at(-1)!.status;
      return ROLE_OF_STATUS[status as Exclude<Status, 'former'>];
    };
    const stateViewer = (code: string): Viewer => ({ role: roleOf(code), state: code });
    const standsNow = (viewer: Viewer) => standing(viewer, model, TODAY).ok;

    // Setup: the states and organisations of this history.
    for (const [i, code] of codes.entries()) {
      const answer = await write(secretariat, 'PUT', `/v1/states/${code}`, {
        name: `State ${code}`,
        status: statuses[i],
        effectiveFrom: '2002-06-13',
      });
      const event = recordDirectory(`state-${code}`, 'StateAdmitted', answer);
      model.states.set(code, { entries: [{ status: statuses[i]!, from: '2002-06-13', seq: event.seq }] });
    }
    const registerOrganisation = async (name: string, acronym: string) => {
      const answer = await write(secretariat, 'POST', '/v1/liaison-organisations', {
        name,
        acronym,
        kind: 'international-organisation',
      });
      const id = answer.body.id as string;
      const event = recordDirectory(`liaison-organisation-${id}`, 'LiaisonOrganisationRegistered', answer);
      model.organisations.set(id, { seq: event.seq, suspensions: [], reasons: [] });
      return { id, event, position: answer.headers.get('focal-position')! };
    };
    const organisations: string[] = [];
    for (let i = 0; i < organisationCount; i++) {
      organisations.push((await registerOrganisation(`Organisation ${run}-${i}`, `ORG${run}${i}`)).id);
    }
    const organisationViewer = (id: string): Viewer => ({ role: 'liaison-organisation', organisation: id });
    /** Every principal of this history, as it is now. */
    const principals = () => [
      ...codes.map(stateViewer),
      ...organisations.map(organisationViewer),
      secretariat,
      auditor,
    ];

    // A webhook for every principal, before the history.
    const webhooks: { viewer: Viewer; key: string; id: string; fromSeq: number }[] = [];
    for (const viewer of principals()) {
      const key = `${run}-${describeViewer(viewer).replace(/\W+/g, '-')}`;
      const created = await system.ok('POST', '/v1/webhooks', await tokenOf(viewer), { url: hooks.url(key) });
      webhooks.push({ viewer, key, id: created.body.id, fromSeq: model.events.length });
    }
    const lives: { viewer: Viewer; client: SseClient; fromSeq: number }[] = [];
    /** Everything a webhook's owner may see since it was created, up to where it stopped standing. */
    const webhookExpected = (hook: (typeof webhooks)[number], upTo = model.events.length) => {
      const end = standing(hook.viewer, model, TODAY).ok
        ? upTo
        : Math.min(upTo, standingLost(hook.viewer, model, TODAY, hook.fromSeq));
      return visibleEvents(hook.viewer, model, hook.fromSeq).filter((event) => event.seq < end);
    };
    const deliveredKeys = (key: string) =>
      new Set(hooks.received(key).map((delivery) => keyOf(delivered(delivery.data))));
    /** Before a principal may stop standing, its webhook delivers all it may see until then. */
    const settle = async (lost: (viewer: Viewer) => boolean) => {
      for (const hook of webhooks.filter((hook) => lost(hook.viewer) && standsNow(hook.viewer))) {
        const expected = webhookExpected(hook);
        await until(async () => {
          await learnVersions();
          return expected.every((event) => deliveredKeys(hook.key).has(keyOf(event)));
        }, `${hook.key} to deliver ${expected.length} events`);
      }
    };

    const meetings: string[] = [];
    const threads: string[] = [];
    const contactPoints: string[] = [];
    const at = <T>(list: readonly T[], n: number) => (list.length === 0 ? undefined : list[n % list.length]);
    const statusNow = (code: string) => statusOn(model, code, TODAY);
    const standingStates = () => codes.filter((code) => statusNow(code) !== 'former');
    const notErased = (n: number) =>
      at(
        contactPoints.map((id) => model.contactPoints.get(id)!).filter((cp) => !cp.erased),
        n,
      );
    const viewerOfRef = (ref: Ref): Viewer =>
      ref === 'secretariat'
        ? secretariat
        : ref.startsWith('state:')
          ? stateViewer(ref.slice('state:'.length))
          : organisationViewer(ref.slice('organisation:'.length));

    for (const step of steps) {
      switch (step.kind) {
        case 'status': {
          const code = codes[step.state]!;
          const entries = model.states.get(code)!.entries;
          const latest = entries.at(-1)!;
          const order: Status[] = ['member', 'observer', 'guest', 'former'];
          const to = step.to === latest.status ? order[(order.indexOf(step.to) + 1) % 4]! : step.to;
          await settle((viewer) => viewer.state === code);
          const answer = await write(secretariat, 'PUT', `/v1/states/${code}`, {
            status: to,
            effectiveFrom: EFFECTIVE[step.when],
          });
          const event = recordDirectory(`state-${code}`, 'StateStatusChanged', answer);
          entries.push({ status: to, from: EFFECTIVE[step.when], seq: event.seq });
          break;
        }
        case 'suspend':
        case 'reinstate': {
          const id = organisations[step.organisation]!;
          const suspending = step.kind === 'suspend';
          const reason = `under review ${randomBytes(6).toString('hex')}`;
          if (suspending) await settle((viewer) => viewer.organisation === id);
          const answer = await write(
            secretariat,
            'POST',
            `/v1/liaison-organisations/${id}/${step.kind}`,
            suspending ? { reason } : undefined,
          );
          if (suspending) model.organisations.get(id)!.reasons.push(reason);
          const type = suspending ? 'LiaisonOrganisationSuspended' : 'LiaisonOrganisationReinstated';
          const event = recordDirectory(`liaison-organisation-${id}`, type, answer);
          model.organisations.get(id)!.suspensions.push({ suspended: suspending, seq: event.seq });
          break;
        }
        case 'subscribe': {
          const viewer = principals()[step.principal % principals().length]!;
          const client = await subscribe(`${system.url}/v1/updates`, await tokenOf(viewer));
          journal.push(`${describeViewer(viewer)}: subscribes live (${client.status})`);
          agree(
            { who: describeViewer(viewer), path: 'GET /v1/updates' },
            client.status,
            standsNow(viewer) ? 200 : 403,
          );
          if (client.status === 200) lives.push({ viewer, client, fromSeq: model.events.length });
          break;
        }
        case 'request': {
          const requester = at(
            codes.filter((code) => statusNow(code) === 'member'),
            step.by,
          );
          if (!requester) break;
          const closed = step.closed;
          // A closed request invites member and observer states only (§2: never organisations; SPEC §1: never
          // guests); anyone in good standing may be invited to an open one.
          const invitable = standingStates().filter(
            (code) => code !== requester && (!closed || statusNow(code) !== 'guest'),
          );
          const invitedStates = [...new Set(step.invite.map((n) => at(invitable, n)!).filter(Boolean))];
          const organisationsNow = organisations.filter((id) => standsNow(organisationViewer(id)));
          const invitedOrganisations = closed
            ? []
            : [...new Set(step.inviteOrganisations.map((n) => at(organisationsNow, n)!).filter(Boolean))];
          const answer = await write(
            { role: 'member-state', state: requester },
            'POST',
            '/v1/meeting-requests',
            {
              subjectKind: 'case',
              title: `Request ${run}-${meetings.length}`,
              summary: 'Coordinate hearings',
              confidentiality: closed ? 'closed' : 'open',
              proposedDates: ['2031-05-04'],
              invitedStates,
              invitedOrganisations,
            },
          );
          const meeting: Meeting = {
            id: answer.body.id,
            requestedBy: requester,
            confidentiality: closed ? 'closed' : 'open',
            invitedStates,
            invitedOrganisations,
            coSponsors: [],
            status: 'requested',
          };
          model.meetings.set(meeting.id, meeting);
          meetings.push(meeting.id);
          recordMeeting(meeting, 'AdHocMeetingRequested', answer);
          break;
        }
        case 'co-sponsor': {
          const meeting = model.meetings.get(at(meetings, step.meeting) ?? '');
          if (!meeting) break;
          // A member state co-sponsors once; a closed request only a state it invites.
          const sponsor = at(
            codes.filter(
              (code) =>
                statusNow(code) === 'member' &&
                code !== meeting.requestedBy &&
                !meeting.coSponsors.includes(code) &&
                (meeting.confidentiality === 'open' || meeting.invitedStates.includes(code)),
            ),
            step.by,
          );
          if (!sponsor) break;
          const answer = await write(
            { role: 'member-state', state: sponsor },
            'POST',
            `/v1/meeting-requests/${meeting.id}/co-sponsor`,
          );
          meeting.coSponsors.push(sponsor);
          recordMeeting(meeting, 'AdHocMeetingCoSponsored', answer);
          break;
        }
        case 'thread': {
          // Member and observer states and the secretariat open threads and take part in them.
          const openers = [
            ...standingStates().filter((code) => ['member', 'observer'].includes(statusNow(code)!)),
            'secretariat',
          ];
          const opener = at(openers, step.by)!;
          const openerViewer = opener === 'secretariat' ? secretariat : stateViewer(opener);
          // §2: a closed thread never has a liaison organisation or a guest state among its participants.
          const candidates: Ref[] = [
            ...standingStates()
              .filter((code) => step.visibility !== 'closed' || statusNow(code) !== 'guest')
              .map((code) => `state:${code}` as const),
            ...(step.visibility === 'closed'
              ? []
              : organisations
                  .filter((id) => standsNow(organisationViewer(id)))
                  .map((id) => `organisation:${id}` as const)),
          ];
          const participants = [
            ...new Set([
              ...step.with.map((n) => at(candidates, n)!).filter(Boolean),
              ...(step.secretariat ? ['secretariat' as const] : []),
            ]),
          ].filter((ref) => ref !== refOf(openerViewer));
          const answer = await write(openerViewer, 'POST', '/v1/threads', {
            subject: `Thread ${run}-${threads.length}`,
            visibility: step.visibility,
            participants,
          });
          const thread: Thread = {
            id: answer.body.id,
            visibility: step.visibility,
            participants: [refOf(openerViewer)!, ...participants],
            messages: [],
          };
          model.threads.set(thread.id, thread);
          threads.push(thread.id);
          recordThread(thread, 'ThreadOpened', answer);
          break;
        }
        case 'post': {
          const thread = model.threads.get(at(threads, step.thread) ?? '');
          if (!thread) break;
          const authors = thread.participants.map(viewerOfRef).filter(standsNow);
          const author = at(authors, step.by);
          if (!author) break;
          const answer = await write(author, 'POST', `/v1/threads/${thread.id}/messages`, {
            body: `Message ${run}-${thread.messages.length}`,
            handlingCode: 'H2',
          });
          thread.messages.push({ author: refOf(author)!, deliveredTo: [] });
          recordThread(thread, 'MessagePosted', answer);
          break;
        }
        case 'register-cp': {
          const code = at(
            standingStates().filter((code) => ['member', 'observer'].includes(statusNow(code)!)),
            step.state,
          );
          if (!code) break;
          const contactPoint: ContactPoint = {
            id: '',
            state: code,
            fullName: `Person ${run} ${contactPoints.length}`,
            email: `${letters(10)}@${code.toLowerCase()}.example`,
            ...(step.phone ? { phone: `+3${digits(10)}` } : {}),
            formerEmails: [],
            erased: false,
          };
          const answer = await write(
            step.bySecretariat ? secretariat : stateViewer(code),
            'POST',
            '/v1/contact-points',
            {
              state: code,
              fullName: contactPoint.fullName,
              email: contactPoint.email,
              ...(contactPoint.phone ? { phone: contactPoint.phone } : {}),
              role: 'prosecutor',
              authority: `Prosecution ${code}`,
              languages: ['en'],
            },
          );
          contactPoint.id = answer.body.id;
          model.contactPoints.set(contactPoint.id, contactPoint);
          contactPoints.push(contactPoint.id);
          recordDirectory(`contact-point-${contactPoint.id}`, 'ContactPointRegistered', answer);
          break;
        }
        case 'change-cp': {
          const contactPoint = notErased(step.cp);
          if (!contactPoint) break;
          const email = `${letters(10)}@${contactPoint.state.toLowerCase()}.example`;
          const changes = step.closedOnly
            ? { email, phone: `+3${digits(10)}` }
            : { email, authority: `Prosecution ${contactPoint.state} ${letters(4)}` };
          const answer = await write(secretariat, 'PATCH', `/v1/contact-points/${contactPoint.id}`, changes);
          contactPoint.formerEmails.push(contactPoint.email);
          contactPoint.email = email;
          if ('phone' in changes) contactPoint.phone = changes.phone;
          recordDirectory(
            `contact-point-${contactPoint.id}`,
            'ContactPointDetailsChanged',
            answer,
            Object.keys(changes),
          );
          break;
        }
        case 'erase-cp': {
          const contactPoint = notErased(step.cp);
          if (!contactPoint) break;
          const answer = await write(
            secretariat,
            'DELETE',
            `/v1/contact-points/${contactPoint.id}/personal-data`,
          );
          contactPoint.erased = true;
          recordDirectory(`contact-point-${contactPoint.id}`, 'ContactPointPersonalDataErased', answer);
          break;
        }
      }
    }

    // A marker every principal in good standing may see: each path is read up to it.
    const { event: marker, position: markerPosition } = await registerOrganisation(
      `Marker ${run}`,
      `MARK${run}`,
    );
    const readAfter = { 'focal-read-after': markerPosition };

    return {
      run,
      codes,
      organisations,
      meetings,
      threads,
      contactPoints,
      webhooks,
      lives,
      webhookExpected,
      deliveredKeys,
      marker,
      markerPosition,
      readAfter,
      stateViewer,
      organisationViewer,
      wrongRole,
    };
  }

  type Ran = Awaited<ReturnType<typeof runHistory>>;

  const summary = (events: (ModelEvent | Delivered)[]) =>
    events.map((event) => `${keyOf(event)} ${event.type}`).sort();
  /** Every closed field the histories wrote (current or changed since): what must never reach some. */
  const closedValues = () => [
    ...[...model.contactPoints.values()].flatMap((cp) => [
      cp.email,
      ...cp.formerEmails,
      ...(cp.phone ? [cp.phone] : []),
    ]),
    ...[...model.organisations.values()].flatMap((organisation) => organisation.reasons),
  ];

  /** Reads every stored event's version into `versionAt`. */
  async function learnVersions() {
    for (const event of await system.persistence.store.readAll()) {
      versionAt.set(event.globalPosition, event.streamVersion);
    }
  }

  /**
   * What a path delivered (SSE frames' data, webhook bodies) compared with `expected`, the oracle's events
   * from `fromSeq` on: each event of the histories, in global order, nothing closed in the payloads of those
   * who may not see closed fields. A path that starts "now" starts at the present the gateway knows, which can
   * lag the last write by a moment: the last few events before `fromSeq` are allowed if the principal may see
   * them (on PostgreSQL the readable head stays behind a transaction still open; starting there loses nothing).
   */
  function compareDelivered(
    who: string,
    viewer: Viewer,
    payloads: string[],
    expected: ModelEvent[],
    fromSeq = 0,
  ) {
    const deliveredEvents = payloads.map(delivered);
    // A position counts what stands before it, the events this viewer may not see included (SPEC §1).
    agree(
      { who, what: 'positions shown to who may not see every event' },
      viewer.role === 'secretariat' || viewer.role === 'auditor'
        ? []
        : payloads.map((payload) => parseCloudEvent(payload).id).filter((id) => /^\d+$/.test(id)),
      [],
    );
    agree(
      { who, what: 'stream versions that count closed events' },
      seesClosedFields(viewer)
        ? []
        : deliveredEvents
            .filter((event) => VERSIONS_COUNT_CLOSED.test(event.streamId) && event.shownVersion !== undefined)
            .map((event) => `${event.streamId}@${event.shownVersion}`),
      [],
    );
    const unknown = deliveredEvents.filter(
      (event) => !model.byKey.has(keyOf(event)) && !SYSTEM_STREAM.test(event.streamId),
    );
    agree({ who, what: 'events not of the histories' }, unknown, []);
    const events = deliveredEvents.map((event) => model.byKey.get(keyOf(event))).filter((event) => !!event);
    agree(
      { who, what: 'in global order' },
      events.filter((event, i) => i > 0 && event.seq < events[i - 1]!.seq),
      [],
    );
    const early = events.filter((event) => event.seq < fromSeq);
    agree(
      { who, what: 'earlier events it may not see, or from before a moment ago' },
      early.filter((event) => !sees(viewer, event.visibility) || event.seq < fromSeq - 5),
      [],
    );
    const unique = [...new Set(events.filter((event) => event.seq >= fromSeq))];
    agree({ who }, summary(unique), summary(expected));
    if (!seesClosedFields(viewer)) {
      const text = payloads.join('\n');
      agree(
        { who, what: 'closed fields' },
        closedValues().filter((value) => text.includes(value)),
        [],
      );
    }
  }

  /** Waits for a stream's frames to meet `condition`; a timeout names the stream and what it received. */
  const waitFrames = async (
    client: SseClient,
    who: string,
    condition: (frames: SseFrame[]) => boolean,
    timeoutMs?: number,
  ) => {
    try {
      await client.waitFor(condition, timeoutMs);
    } catch (error) {
      const received = client.frames.map((frame) => `${frame.id} ${typeOf(frame)}`).join(', ');
      throw new Error(`${who}: ${(error as Error).message}: ${received}`, { cause: error });
    }
  };

  /** The frames of a stream up to the marker (the data of events, control frames left out). */
  const framesUpTo = (frames: SseFrame[], position: string) => {
    const end = frames.findIndex((frame) => frame.id !== undefined && positionOf(frame.id) === position);
    return frames
      .slice(0, end < 0 ? frames.length : end + 1)
      .filter((frame) => frame.id && frame.data && frame.event !== 'closed' && frame.event !== 'overflow');
  };

  /** Live streams opened during the history: what each received up to the marker, or until it was ended. */
  async function checkLive(ran: Ran) {
    for (const live of ran.lives) {
      const who = `live SSE of ${describeViewer(live.viewer)}`;
      const lost = standingLost(live.viewer, model, TODAY, live.fromSeq);
      await waitFrames(live.client, who, (frames) =>
        frames.some((frame) =>
          lost > ran.marker.seq
            ? frame.id !== undefined && positionOf(frame.id) === ran.markerPosition
            : frame.event === 'closed',
        ),
      );
      live.client.close();
      const frames = framesUpTo(live.client.frames, ran.markerPosition);
      agree(
        { who, what: 'sent twice' },
        frames.filter((frame, i) => frames.findIndex((f) => f.id === frame.id) !== i),
        [],
      );
      const expected = visibleEvents(live.viewer, model, live.fromSeq).filter(
        (event) => event.seq < lost && event.seq <= ran.marker.seq,
      );
      compareDelivered(
        who,
        live.viewer,
        frames.map((frame) => frame.data!),
        expected,
        live.fromSeq,
      );
    }
  }

  /** Webhooks created before the history: each got what its owner may see while it stood (at least once). */
  async function checkWebhooks(ran: Ran) {
    for (const hook of ran.webhooks) {
      const who = `webhook of ${describeViewer(hook.viewer)}`;
      const expected = ran.webhookExpected(hook, ran.marker.seq + 1);
      try {
        await until(
          () => expected.every((event) => ran.deliveredKeys(hook.key).has(keyOf(event))),
          `${who} to deliver ${expected.length} events`,
        );
      } catch (error) {
        // Say what is missing and how the subscription stands, so that a timeout tells stuck from lost.
        const missing = expected.filter((event) => !ran.deliveredKeys(hook.key).has(keyOf(event)));
        const subscriptions = await system.sql(
          `SELECT id, status, cursor, failures, last_error, held_reason, paused_reason,
                  next_attempt_at - now() AS due_in, lease_until - now() AS lease_left
             FROM focal_webhooks ORDER BY next_attempt_at`,
        );
        (error as Error).message +=
          `\nmissing: ${missing.map((event) => `#${event.seq} ${event.type} ${event.stream}`).join(', ')}` +
          `\ndelivered: ${hooks.received(hook.key).length}; subscription ${hook.id}; all, in claim order:\n` +
          subscriptions.map((row) => JSON.stringify(row)).join('\n');
        throw error;
      }
      const deliveries = hooks.received(hook.key);
      const marker = deliveries.findIndex((delivery) => positionOf(delivery.position) === ran.markerPosition);
      const upToMarker = marker < 0 ? deliveries : deliveries.slice(0, marker + 1);
      compareDelivered(
        who,
        hook.viewer,
        upToMarker.map((delivery) => delivery.data),
        expected,
        hook.fromSeq,
      );
      if (standing(hook.viewer, model, TODAY).ok) {
        await system.ok('DELETE', `/v1/webhooks/${hook.id}`, await tokenOf(hook.viewer));
      }
    }
  }

  /** SSE from `Last-Event-ID: 0`: the whole log as the principal may see it, up to the marker. */
  async function checkReplay(ran: Ran, viewer: Viewer) {
    const who = `SSE replay of ${describeViewer(viewer)}`;
    const client = await subscribe(`${system.url}/v1/updates`, await tokenOf(viewer), {
      'last-event-id': '0',
    });
    await waitFrames(
      client,
      who,
      (frames) =>
        frames.some((frame) => frame.id !== undefined && positionOf(frame.id) === ran.markerPosition),
      60_000,
    );
    client.close();
    const frames = framesUpTo(client.frames, ran.markerPosition);
    const expected = visibleEvents(viewer, model).filter((event) => event.seq <= ran.marker.seq);
    compareDelivered(
      who,
      viewer,
      frames.map((frame) => frame.data!),
      expected,
    );
  }

  /** Who is checked: each state with the token its status calls for, some with a wrong one, organisations. */
  function viewersOf(ran: Ran) {
    const viewers: Viewer[] = [
      ...ran.codes.map(ran.stateViewer),
      ...ran.organisations.map(ran.organisationViewer),
      secretariat,
      auditor,
    ];
    ran.codes.forEach((code, i) => {
      const right = ran.stateViewer(code).role;
      // A status recorded for later admits nothing yet: the token of that status is always tried.
      const pending = model.states
        .get(code)!
        .entries.find((entry) => entry.from > TODAY && entry.status !== 'former');
      if (!pending && !ran.wrongRole[i]) return;
      const wrong = pending
        ? ROLE_OF_STATUS[pending.status as Exclude<Status, 'former'>]
        : Object.values(ROLE_OF_STATUS).find((role) => role !== right)!;
      if (wrong !== right) viewers.push({ role: wrong, state: code });
    });
    return viewers;
  }

  /** REST reads: lists, details, inbox, the directory with its closed fields, search and counts. */
  async function checkReads(ran: Ran, viewer: Viewer) {
    const token = await tokenOf(viewer);
    const who = describeViewer(viewer);
    const get = (path: string) => system.call('GET', path, { token, headers: ran.readAfter });
    const ids = (answer: { body: { items?: { id: string }[] } }) =>
      (answer.body.items ?? []).map((item) => item.id).sort();

    agree(
      { who, path: 'GET /v1/meeting-requests' },
      ids(await get('/v1/meeting-requests')),
      meetingsSeen(viewer, model)
        .map((meeting) => meeting.id)
        .sort(),
    );
    for (const id of ran.meetings) {
      const seen = sees(viewer, meetingVisibility(model.meetings.get(id)!));
      agree(
        { who, path: `GET /v1/meeting-requests/${id}` },
        (await get(`/v1/meeting-requests/${id}`)).status,
        seen ? 200 : 404,
      );
    }
    for (const id of ran.threads) {
      const thread = model.threads.get(id)!;
      const path = `GET /v1/threads/${id}`;
      const read = await get(`/v1/threads/${id}`);
      agree({ who, path }, read.status, sees(viewer, threadVisibility(thread)) ? 200 : 404);
      if (read.status !== 200) continue;
      // §2: delivery receipts are events, recorded for participants only.
      const self = refOf(viewer);
      for (const message of self && thread.participants.includes(self) ? thread.messages : []) {
        if (message.author === self || message.deliveredTo.includes(self!)) continue;
        message.deliveredTo.push(self!);
        recordThread(thread, 'MessageDelivered');
      }
      const version = model.events.filter((event) => event.stream === `thread-${id}`).length;
      agree({ who, path, what: 'version after receipts' }, read.headers.get('etag'), `"${version}"`);
    }
    agree(
      { who, path: 'GET /v1/inbox' },
      ids(await get('/v1/inbox')),
      inboxOf(viewer, model)
        .map((thread) => thread.id)
        .sort(),
    );

    // §1: name and authority open, e-mail and phone closed; §2: erased fields read as erased, for everyone.
    const closedSeen = seesClosedFields(viewer);
    const shown = (cp: ContactPoint) => ({
      fullName: cp.erased ? null : cp.fullName,
      email: closedSeen && !cp.erased ? cp.email : undefined,
      phone: closedSeen && !cp.erased ? cp.phone : undefined,
    });
    const asShown = (item: { fullName?: string | null; email?: string; phone?: string }) => ({
      fullName: item.fullName ?? null,
      email: item.email,
      phone: item.phone,
    });
    const directory = await get('/v1/contact-points?limit=200');
    agree(
      { who, path: 'GET /v1/contact-points', what: 'total' },
      directory.body.total,
      model.contactPoints.size,
    );
    agree(
      { who, path: 'GET /v1/contact-points' },
      (directory.body.items as ({ id: string } & Parameters<typeof asShown>[0])[])
        .map((item) => ({ id: item.id, ...asShown(item) }))
        .sort((a, b) => a.id.localeCompare(b.id)),
      [...model.contactPoints.values()]
        .map((cp) => ({ id: cp.id, ...shown(cp) }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    );
    for (const id of ran.contactPoints) {
      const cp = model.contactPoints.get(id)!;
      agree(
        { who, path: `GET /v1/contact-points/${id}` },
        asShown((await get(`/v1/contact-points/${id}`)).body),
        shown(cp),
      );
      // Searching by an e-mail finds the entry only for those who may see e-mails, and only by its current one.
      for (const email of [cp.email, ...cp.formerEmails]) {
        const found = await get(`/v1/contact-points?q=${encodeURIComponent(email)}`);
        const findable = closedSeen && !cp.erased && email === cp.email;
        agree(
          { who, path: `GET /v1/contact-points?q=${email}` },
          { total: found.body.total, ids: ids(found) },
          { total: findable ? 1 : 0, ids: findable ? [id] : [] },
        );
      }
    }
  }

  /** Writes on everything of the history, by every principal: 404 exactly where the oracle hides the item. */
  async function checkWrites(ran: Ran, viewer: Viewer) {
    const token = await tokenOf(viewer);
    const who = describeViewer(viewer);
    for (const action of ['co-sponsor', 'withdraw'] as const) {
      for (const id of ran.meetings) {
        const meeting = model.meetings.get(id)!;
        const answer = await system.call('POST', `/v1/meeting-requests/${id}/${action}`, { token });
        agree(
          { who, path: `POST /v1/meeting-requests/${id}/${action}`, what: `404 (answered ${answer.status})` },
          answer.status === 404,
          !sees(viewer, meetingVisibility(meeting)),
        );
        if (answer.status >= 300) continue;
        if (action === 'co-sponsor') meeting.coSponsors.push(viewer.state!);
        else meeting.status = 'withdrawn';
        const type = action === 'co-sponsor' ? 'AdHocMeetingCoSponsored' : 'AdHocMeetingWithdrawn';
        recordMeeting(meeting, type, answer);
      }
    }
    for (const id of ran.threads) {
      const thread = model.threads.get(id)!;
      const answer = await system.call('POST', `/v1/threads/${id}/messages`, {
        token,
        body: { body: `From ${who}`, handlingCode: 'H0' },
      });
      agree(
        { who, path: `POST /v1/threads/${id}/messages`, what: `404 (answered ${answer.status})` },
        answer.status === 404,
        !sees(viewer, threadVisibility(thread)),
      );
      if (answer.status >= 300) continue;
      thread.messages.push({ author: refOf(viewer)!, deliveredTo: [] });
      recordThread(thread, 'MessagePosted', answer);
    }
  }

  /** A principal that does not stand is refused everywhere with the reason: REST, SSE, writes. */
  async function checkRefused(ran: Ran, viewer: Viewer, reason: string) {
    const token = await tokenOf(viewer);
    const who = describeViewer(viewer);
    const refusal = (answer: { status: number; body: { reason?: string } }) => ({
      status: answer.status,
      reason: answer.body.reason,
    });
    agree(
      { who, path: 'GET /v1/meeting-requests' },
      refusal(await system.call('GET', '/v1/meeting-requests', { token })),
      {
        status: 403,
        reason,
      },
    );
    const stream = await subscribe(`${system.url}/v1/updates`, token, { 'last-event-id': '0' });
    stream.close();
    agree({ who, path: 'GET /v1/updates' }, stream.status, 403);
    for (const id of ran.threads.slice(0, 1)) {
      const answer = await system.call('POST', `/v1/threads/${id}/messages`, {
        token,
        body: { body: 'x', handlingCode: 'H0' },
      });
      agree({ who, path: `POST /v1/threads/${id}/messages` }, refusal(answer), { status: 403, reason });
    }
  }

  it('every path answers for every principal as SPEC §1–§2 say', async () => {
    const seed = Number(process.env.FOCAL_ORACLE_SEED ?? 20261122);
    const numRuns = Number(process.env.FOCAL_ORACLE_RUNS ?? 8);
    await fc.assert(
      fc.asyncProperty(historyArb, async (history) => {
        const journal: string[] = [];
        try {
          const ran = await runHistory(history, journal);
          await learnVersions();
          await checkLive(ran);
          await checkWebhooks(ran);
          const viewers = viewersOf(ran);
          const standingOf = (viewer: Viewer) => standing(viewer, model, TODAY);
          for (const viewer of viewers.filter((viewer) => standingOf(viewer).ok))
            await checkReplay(ran, viewer);
          for (const viewer of viewers) {
            const stands = standingOf(viewer);
            if (stands.ok) await checkReads(ran, viewer);
            else await checkRefused(ran, viewer, stands.reason);
          }
          for (const viewer of viewers.filter((viewer) => standingOf(viewer).ok))
            await checkWrites(ran, viewer);
        } catch (error) {
          (error as Error).message += `\n\nhistory (store ${store}, seed ${seed}):\n${journal.join('\n')}`;
          throw error;
        }
      }),
      { seed, numRuns, endOnFailure: true },
    );
  }, 600_000);
});
