import {
  principalKey,
  principalRecordOf,
  principalStanding,
  standingStreamOf,
  type PrincipalRecord,
  type StatusEntry,
} from './index.js';
import {
  auditor,
  guestState,
  ICC,
  memberState,
  observerState,
  organisation,
  secretariat,
} from '../test/decider-spec.js';

const state = (code: string, ...history: StatusEntry[]): PrincipalRecord => ({ state: { code, history } });
const TODAY = '2026-11-28';

describe('a principal’s standing', () => {
  it('a state role needs its state admitted, in force today, with the status the role names', () => {
    expect(
      principalStanding(memberState('FR'), state('FR', { status: 'member', from: '2002-06-13' }), TODAY),
    ).toEqual({ inGoodStanding: true });
    expect(
      principalStanding(observerState('NO'), state('NO', { status: 'observer', from: '2002-06-13' }), TODAY),
    ).toEqual({ inGoodStanding: true });
    expect(
      principalStanding(guestState('GM'), state('GM', { status: 'guest', from: '2025-11-19' }), TODAY),
    ).toEqual({ inGoodStanding: true });
  });

  it('a guest state is not served through an observer-state token, nor an observer through a guest token', () => {
    expect(
      principalStanding(observerState('GM'), state('GM', { status: 'guest', from: '2025-11-19' }), TODAY),
    ).toMatchObject({
      inGoodStanding: false,
      reason: 'principal/role-mismatch',
      message: /GM is a guest state.*get a guest-state token/,
    });
    expect(
      principalStanding(guestState('NO'), state('NO', { status: 'observer', from: '2002-06-13' }), TODAY),
    ).toMatchObject({ inGoodStanding: false, reason: 'principal/role-mismatch' });
  });

  it('takes a change on its effective date: before it, the old status; from it, the new one', () => {
    const leaving = state(
      'GB',
      { status: 'observer', from: '2002-06-13' },
      { status: 'former', from: '2026-12-01' },
    );
    expect(principalStanding(observerState('GB'), leaving, '2026-11-30')).toEqual({ inGoodStanding: true });
    expect(principalStanding(observerState('GB'), leaving, '2026-12-01')).toMatchObject({
      inGoodStanding: false,
      reason: 'principal/former-state',
      message: /GB left the network on 2026-12-01/,
    });
    expect(
      principalStanding(memberState('XK'), state('XK', { status: 'member', from: '2027-01-01' }), TODAY),
    ).toMatchObject({
      reason: 'principal/unknown-state',
      message: /admitted to the network from 2027-01-01/,
    });
    expect(principalStanding(memberState('PT'), {}, TODAY)).toMatchObject({
      reason: 'principal/unknown-state',
    });
  });

  it('an organisation must be in the directory and not suspended; a reinstated one stands again', () => {
    const record = (suspended: boolean): PrincipalRecord => ({
      organisation: { id: ICC, acronym: 'ICC', suspended },
    });
    expect(principalStanding(organisation(ICC), record(false), TODAY)).toEqual({ inGoodStanding: true });
    expect(principalStanding(organisation(ICC), record(true), TODAY)).toMatchObject({
      reason: 'principal/organisation-suspended',
      message: /ICC is suspended/,
    });
    expect(principalStanding(organisation(ICC), {}, TODAY)).toMatchObject({
      reason: 'principal/unknown-organisation',
    });
  });

  it('the secretariat and auditors stand by their role', () => {
    expect(principalStanding(secretariat, {}, TODAY)).toEqual({ inGoodStanding: true });
    expect(principalStanding(auditor, {}, TODAY)).toEqual({ inGoodStanding: true });
  });

  it('is folded from the principal’s own stream by the domain’s deciders', () => {
    expect(standingStreamOf(guestState('SN'))).toBe('state-SN');
    expect(standingStreamOf(organisation(ICC))).toBe(`liaison-organisation-${ICC}`);
    expect(standingStreamOf(secretariat)).toBeUndefined();
    const open = { level: 'open' } as const;
    expect(
      principalRecordOf(organisation(ICC), [
        {
          type: 'LiaisonOrganisationRegistered',
          data: {
            organisationId: ICC,
            name: 'International Criminal Court',
            acronym: 'ICC',
            kind: 'international-court',
          },
          visibility: open,
        },
        { type: 'LiaisonOrganisationSuspended', data: { reason: 'review' }, visibility: { level: 'closed' } },
        { type: 'LiaisonOrganisationReinstated', data: {}, visibility: open },
      ]),
    ).toEqual({ organisation: { id: ICC, acronym: 'ICC', suspended: false } });
    expect(
      principalRecordOf(observerState('GB'), [
        {
          type: 'StateAdmitted',
          data: { code: 'GB', name: 'United Kingdom', status: 'observer', effectiveFrom: '2002-06-13' },
          visibility: open,
        },
        {
          type: 'StateStatusChanged',
          data: { code: 'GB', from: 'observer', to: 'former', effectiveFrom: '2020-01-31' },
          visibility: open,
        },
      ]),
    ).toEqual({
      state: {
        code: 'GB',
        history: [
          { status: 'observer', from: '2002-06-13' },
          { status: 'former', from: '2020-01-31' },
        ],
      },
    });
  });

  it('names a principal whole: two tokens sharing a sub are two principals', () => {
    const fr = { principal: 'desk-1', role: 'member-state', state: 'FR' } as const;
    const italy = { principal: 'desk-1', role: 'member-state', state: 'IT' } as const;
    expect(principalKey(fr)).not.toBe(principalKey(italy));
    expect(principalKey(fr)).toBe('member-state/FR/desk-1');
  });
});
