import { randomUUID } from 'node:crypto';

import type { Actor, StatusEntry } from '@focal/domain';
import { openPGliteEventStore, type SqlEventStore } from '@focal/events';
import { decodeJwt, SignJWT } from 'jose';

import { Problem } from '../http/problem.js';
import { Authenticator, signToken } from './authenticator.js';

const SECRET = 'authenticator-spec-secret';

/** A state's stream as the directory service writes it: admitted, then its status changes. */
async function recordState(store: SqlEventStore, code: string, name: string, history: StatusEntry[]) {
  const [first, ...changes] = history;
  const metadata = {
    actor: { principal: 'secretariat-1', role: 'secretariat' as const },
    correlationId: 'spec',
  };
  await store.append(
    `state-${code}`,
    [
      {
        eventId: randomUUID(),
        type: 'StateAdmitted',
        data: { code, name, status: first!.status, effectiveFrom: first!.from },
        metadata,
        visibility: { level: 'open' },
      },
      ...changes.map((change, index) => ({
        eventId: randomUUID(),
        type: 'StateStatusChanged',
        data: {
          code,
          from: (history[index] ?? first)!.status,
          to: change.status,
          effectiveFrom: change.from,
        },
        metadata,
        visibility: { level: 'open' as const },
      })),
    ],
    { expectedVersion: 'no-stream' },
  );
}

describe('Authenticator: the role in a token against the status in force on the day', () => {
  let store: SqlEventStore;
  let today = new Date('2026-11-22T10:00:00Z');
  let authenticator: Authenticator;
  beforeAll(async () => {
    store = await openPGliteEventStore();
    authenticator = new Authenticator(SECRET, store, { now: () => today });
    // Norway, an observer since 2002, recorded on 2026-11-22 to become a member on 2026-12-01.
    await recordState(store, 'NO', 'Norway', [
      { status: 'observer', from: '2002-06-13' },
      { status: 'member', from: '2026-12-01' },
    ]);
    await recordState(store, 'GB', 'United Kingdom', [
      { status: 'observer', from: '2002-06-13' },
      { status: 'former', from: '2020-01-31' },
    ]);
    await recordState(store, 'IS', 'Iceland', [{ status: 'observer', from: '2027-01-01' }]);
    await recordState(store, 'GM', 'The Gambia', [{ status: 'guest', from: '2025-11-19' }]);
  });
  afterAll(() => store?.close());

  const bearer = async (role: Actor['role'], state = 'NO') =>
    `Bearer ${await signToken(SECRET, { sub: `${state}-${role}`, role, state })}`;
  const refusal = (work: Promise<unknown>) =>
    work.then(
      () => {
        throw new Error('expected a refusal');
      },
      (error: unknown) => {
        expect(error).toBeInstanceOf(Problem);
        const problem = error as Problem;
        return { status: problem.status, reason: problem.reason, detail: problem.message };
      },
    );

  it('before the change takes effect: the current status is admitted, the coming one refused', async () => {
    today = new Date('2026-11-30T23:59:59Z');
    await expect(authenticator.authenticate(await bearer('observer-state'))).resolves.toMatchObject({
      role: 'observer-state',
      state: 'NO',
    });
    expect(await refusal(authenticator.authenticate(await bearer('member-state')))).toEqual({
      status: 403,
      reason: 'principal/role-mismatch',
      detail:
        'NO is an observer state: a member-state token does not match; get an observer-state token ' +
        '(it becomes a member state on 2026-12-01)',
    });
  });

  it('from its effective date on, with no new event: the other way round', async () => {
    today = new Date('2026-12-01T00:00:00Z');
    await expect(authenticator.authenticate(await bearer('member-state'))).resolves.toMatchObject({
      role: 'member-state',
    });
    expect(await refusal(authenticator.authenticate(await bearer('observer-state')))).toMatchObject({
      status: 403,
      reason: 'principal/role-mismatch',
      detail: expect.stringMatching(/^NO is a member state: an observer-state token does not match/),
    });
  });

  it('a state leaves the network on the date given, not when it is recorded', async () => {
    const gb = await bearer('observer-state', 'GB');
    today = new Date('2020-01-30T12:00:00Z');
    await expect(authenticator.authenticate(gb)).resolves.toMatchObject({ state: 'GB' });
    today = new Date('2020-01-31T00:00:00Z');
    expect(await refusal(authenticator.authenticate(gb))).toEqual({
      status: 403,
      reason: 'principal/former-state',
      detail: 'GB left the network on 2020-01-31: its principals are refused',
    });
  });

  it('a state admitted from a later date has no principals until then', async () => {
    const iceland = await bearer('observer-state', 'IS');
    today = new Date('2026-12-31T12:00:00Z');
    expect(await refusal(authenticator.authenticate(iceland))).toEqual({
      status: 403,
      reason: 'principal/unknown-state',
      detail: 'IS is admitted to the network from 2027-01-01: its principals are refused until then',
    });
    today = new Date('2027-01-01T00:00:00Z');
    await expect(authenticator.authenticate(iceland)).resolves.toMatchObject({ state: 'IS' });
  });

  it('a guest state is served through a guest-state token, never through an observer-state one', async () => {
    today = new Date('2026-11-28T12:00:00Z');
    await expect(authenticator.authenticate(await bearer('guest-state', 'GM'))).resolves.toEqual({
      principal: 'GM-guest-state',
      role: 'guest-state',
      state: 'GM',
    });
    expect(await refusal(authenticator.authenticate(await bearer('observer-state', 'GM')))).toMatchObject({
      status: 403,
      reason: 'principal/role-mismatch',
      detail: expect.stringMatching(
        /^GM is a guest state: an observer-state token does not match; get a guest-state token/,
      ),
    });
  });
});

describe('Authenticator: claims that name the caller are refused with 401 before any lookup when malformed', () => {
  const lookups: string[] = [];
  // A store that only counts: a malformed claim must never reach it.
  const authenticator = new Authenticator(SECRET, {
    readStream: async (streamId: string) => {
      lookups.push(streamId);
      return [];
    },
  } as unknown as SqlEventStore);
  const token = (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));

  it.each([
    ['sub a number', { sub: 5, role: 'secretariat' }, /sub claim/],
    ['sub an object', { sub: { id: 'x' }, role: 'secretariat' }, /sub claim/],
    ['sub an array', { sub: ['x'], role: 'auditor' }, /sub claim/],
    ['sub null', { sub: null, role: 'secretariat' }, /sub claim/],
    ['sub empty', { sub: '', role: 'secretariat' }, /sub claim/],
    ['sub with NUL', { sub: 'a\u0000b', role: 'secretariat' }, /sub claim/],
    ['sub with a lone surrogate', { sub: 'a\ud800', role: 'secretariat' }, /sub claim/],
    ['sub too long', { sub: 'x'.repeat(201), role: 'secretariat' }, /sub claim/],
    ['sub missing', { role: 'secretariat' }, /not valid/],
    ['role an array', { sub: 'x', role: ['secretariat'] }, /role/],
    ['role a number', { sub: 'x', role: 1 }, /role/],
    ['state a number', { sub: 'x', role: 'member-state', state: 33 }, /state claim/],
    ['state with NUL', { sub: 'x', role: 'member-state', state: 'F\u0000' }, /state claim/],
    ['state a lone surrogate', { sub: 'x', role: 'observer-state', state: '\ud800' }, /state claim/],
    ['state on a secretariat token, an object', { sub: 'x', role: 'secretariat', state: {} }, /state claim/],
    ['organisation an object', { sub: 'x', role: 'liaison-organisation', organisation: {} }, /organisation/],
    [
      'organisation with NUL',
      { sub: 'x', role: 'liaison-organisation', organisation: 'x\u0000' },
      /organisation/,
    ],
    [
      'organisation not a UUID',
      { sub: 'x', role: 'liaison-organisation', organisation: 'icc' },
      /organisation/,
    ],
  ])('%s', async (_case, claims, detail) => {
    const refused = await authenticator
      .authenticate(`Bearer ${await token(claims)}`)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Problem);
    expect({ status: (refused as Problem).status, reason: (refused as Problem).reason }).toEqual({
      status: 401,
      reason: 'unauthenticated',
    });
    expect((refused as Problem).message).toMatch(detail);
    expect(lookups).toEqual([]);
  });

  it('takes a principal with accents and spaces', async () => {
    const actor = await authenticator.authenticate(
      `Bearer ${await token({ sub: 'Zoë Müller (secrétariat)', role: 'secretariat' })}`,
    );
    expect(actor).toEqual({ principal: 'Zoë Müller (secrétariat)', role: 'secretariat' });
  });

  it('remembers a verified token only until it expires, and a refused one not at all', async () => {
    const shortLived = `Bearer ${await signToken(SECRET, { sub: 'GM-guest', role: 'guest-state', state: 'GM' }, '2s')}`;
    expect(await authenticator.identify(shortLived)).toEqual({
      principal: 'GM-guest',
      role: 'guest-state',
      state: 'GM',
    });
    // Its expiry goes with it, verified or remembered: a stream opened with it ends then.
    const exp = decodeJwt(shortLived.slice('Bearer '.length)).exp! * 1_000;
    for (let i = 0; i < 2; i++)
      expect((await authenticator.identity(shortLived)).expiresAt.getTime()).toBe(exp);
    // Asked again at once: the same caller (and a copy: changing it changes nothing remembered).
    const again = await authenticator.identify(shortLived);
    again.role = 'secretariat';
    expect((await authenticator.identify(shortLived)).role).toBe('guest-state');
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await expect(authenticator.identify(shortLived)).rejects.toMatchObject({ status: 401 });
    const forged = `${shortLived.slice(0, -2)}xx`;
    for (let i = 0; i < 2; i++)
      await expect(authenticator.identify(forged)).rejects.toMatchObject({ status: 401 });
  });
});
