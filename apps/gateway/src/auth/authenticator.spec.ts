import type { Actor } from '@focal/domain';
import { SignJWT } from 'jose';

import { Problem } from '../http/problem.js';
import type { StateRow } from '../read-models/read-models.js';
import { Authenticator, signToken } from './authenticator.js';

const SECRET = 'authenticator-spec-secret';

/** Norway, an observer since 2002, recorded on 2026-11-22 to become a member on 2026-12-01. */
const norway: StateRow = {
  code: 'NO',
  name: 'Norway',
  history: [
    { status: 'observer', from: '2002-06-13' },
    { status: 'member', from: '2026-12-01' },
  ],
  version: 2,
};

describe('Authenticator: the role in a token against the status in force on the day', () => {
  let today = new Date('2026-11-22T10:00:00Z');
  const states = new Map([[norway.code, norway]]);
  const authenticator = new Authenticator(
    SECRET,
    {
      findFresh: (lookup) => lookup(),
      state: async (code) => states.get(code),
      organisation: async () => undefined,
    },
    () => today,
  );
  const bearer = async (role: Actor['role']) =>
    `Bearer ${await signToken(SECRET, { sub: `no-${role}`, role, state: 'NO' })}`;
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
        'NO is an observer state: a member-state token does not match; get a token for its status ' +
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
    states.set('GB', {
      code: 'GB',
      name: 'United Kingdom',
      history: [
        { status: 'observer', from: '2002-06-13' },
        { status: 'former', from: '2020-01-31' },
      ],
      version: 2,
    });
    const gb = `Bearer ${await signToken(SECRET, { sub: 'gb', role: 'observer-state', state: 'GB' })}`;
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
    states.set('IS', {
      code: 'IS',
      name: 'Iceland',
      history: [{ status: 'observer', from: '2027-01-01' }],
      version: 1,
    });
    const iceland = `Bearer ${await signToken(SECRET, { sub: 'is', role: 'observer-state', state: 'IS' })}`;
    today = new Date('2026-12-31T12:00:00Z');
    expect(await refusal(authenticator.authenticate(iceland))).toEqual({
      status: 403,
      reason: 'principal/unknown-state',
      detail: 'IS is admitted to the network from 2027-01-01: its principals are refused until then',
    });
    today = new Date('2027-01-01T00:00:00Z');
    await expect(authenticator.authenticate(iceland)).resolves.toMatchObject({ state: 'IS' });
  });
});

describe('Authenticator: claims that name the caller are refused with 401 before any lookup when malformed', () => {
  const lookups: string[] = [];
  const authenticator = new Authenticator(SECRET, {
    findFresh: (lookup) => lookup(),
    state: async (code) => {
      lookups.push(code);
      return undefined;
    },
    organisation: async (id) => {
      lookups.push(id);
      return undefined;
    },
  });
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
});
