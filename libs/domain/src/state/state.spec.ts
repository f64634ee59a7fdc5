import { fold, stateDecider, standingOn, statusOn, statusSince, type StateEvent } from '../index.js';
import { memberState, NOW, secretariat, specify } from '../../test/decider-spec.js';

const { given } = specify(stateDecider);
const admitted: StateEvent = {
  type: 'StateAdmitted',
  data: { code: 'GB', name: 'United Kingdom', status: 'observer', effectiveFrom: '2002-06-13' },
  visibility: { level: 'open' },
};
const admit = { type: 'AdmitState', actor: secretariat, at: NOW, ...admitted.data } as const;
const change = { type: 'ChangeStateStatus', actor: secretariat, at: NOW, code: 'GB' } as const;
const leaving: StateEvent = {
  type: 'StateStatusChanged',
  data: { code: 'GB', from: 'observer', to: 'former', effectiveFrom: '2020-01-31' },
  visibility: { level: 'open' },
};

describe('State', () => {
  describe('AdmitState', () => {
    it('admits a state', () => given([]).when(admit).then([admitted]));
    it('is for the secretariat only', () =>
      given([])
        .when({ ...admit, actor: memberState('FR') })
        .thenError('Forbidden', 'state/secretariat-only'));
    it('refuses a code that is not ISO 3166-1, naming the one to use', () =>
      given([])
        .when({ ...admit, code: 'UK' })
        .thenInvalid({ code: '"UK" is not an ISO 3166-1 code; use GB' }));
    it('refuses an unknown status and a malformed date', () =>
      given([])
        .when({ ...admit, status: 'friend' as never, effectiveFrom: '13/06/2002' })
        .thenInvalid({ status: /not one of member, observer, guest/, effectiveFrom: /YYYY-MM-DD/ }));
    it('admits a state once', () =>
      given([admitted])
        .when(admit)
        .thenError('Conflict', 'state/already-admitted', /change its status/));
  });

  describe('ChangeStateStatus', () => {
    it('records the change, with the status it leaves', () =>
      given([admitted])
        .when({ ...change, to: 'former', effectiveFrom: '2020-01-31' })
        .then([
          {
            type: 'StateStatusChanged',
            data: { code: 'GB', from: 'observer', to: 'former', effectiveFrom: '2020-01-31' },
            visibility: { level: 'open' },
          },
        ]));
    it('needs an admitted state', () =>
      given([])
        .when({ ...change, to: 'former', effectiveFrom: '2020-01-31' })
        .thenError('NotFound', 'state/not-admitted'));
    it('refuses the status the state already has', () =>
      given([admitted])
        .when({ ...change, to: 'observer', effectiveFrom: '2020-01-31' })
        .thenError('RuleViolated', 'state/same-status', /already observer since 2002-06-13/));
    it('refuses a change dated before the current status took effect', () =>
      given([admitted])
        .when({ ...change, to: 'member', effectiveFrom: '2001-01-01' })
        .thenError('RuleViolated', 'state/status-before-latest'));
    it('is for the secretariat only', () =>
      given([admitted])
        .when({ ...change, actor: memberState('GB'), to: 'former', effectiveFrom: '2020-01-31' })
        .thenError('Forbidden', 'state/secretariat-only'));
    it('records a change effective after the day it is recorded, to take effect on its date', () =>
      given([admitted])
        .when({ ...change, at: NOW, to: 'former', effectiveFrom: '2026-12-01' })
        .then([{ ...leaving, data: { ...leaving.data, effectiveFrom: '2026-12-01' } }]));
  });

  describe('PutState', () => {
    const put = { type: 'PutState', actor: secretariat, at: NOW, code: 'GB' } as const;
    it('admits a state that is not admitted', () =>
      given([])
        .when({ ...put, name: 'United Kingdom', status: 'observer', effectiveFrom: '2002-06-13' })
        .then([admitted]));
    it('changes the status of a state already admitted, whatever name it is given', () =>
      given([admitted])
        .when({ ...put, name: 'Great Britain', status: 'former', effectiveFrom: '2020-01-31' })
        .then([leaving]));
    it('needs a name to admit', () =>
      given([])
        .when({ ...put, status: 'member', effectiveFrom: '2002-06-13' })
        .thenInvalid({ name: 'required to admit a state' }));
    it('does not admit a state as former', () =>
      given([])
        .when({ ...put, name: 'United Kingdom', status: 'former', effectiveFrom: '2002-06-13' })
        .thenInvalid({ status: 'admit as member, observer or guest' }));
    it('refuses the status the state already has', () =>
      given([admitted])
        .when({ ...put, status: 'observer', effectiveFrom: '2020-01-31' })
        .thenError('RuleViolated', 'state/same-status'));
    it('is for the secretariat only', () =>
      given([])
        .when({ ...put, actor: memberState('GB'), name: 'UK', status: 'member', effectiveFrom: '2002-06-13' })
        .thenError('Forbidden', 'state/secretariat-only'));
  });

  describe('a status takes effect on its effectiveFrom date, not before', () => {
    // Recorded on 2026-11-22 (NOW), effective on 2026-12-01.
    const pendingChange: StateEvent = { ...leaving, data: { ...leaving.data, effectiveFrom: '2026-12-01' } };
    const state = fold(stateDecider, [admitted, pendingChange]);

    it('leaves the status as it was until the day before', () => {
      expect(statusOn(state, '2026-11-22')).toBe('observer');
      expect(statusOn(state, '2026-11-30')).toBe('observer');
      expect(statusSince(state, '2026-11-30')).toBe('2002-06-13');
    });
    it('holds the new status from that day on, with no other event', () => {
      expect(statusOn(state, '2026-12-01')).toBe('former');
      expect(statusSince(state, '2027-06-01')).toBe('2026-12-01');
    });
    it('shows the change as pending until then', () => {
      const history = state.admitted ? state.history : [];
      expect(standingOn(history, '2026-11-22')).toEqual({
        current: { status: 'observer', from: '2002-06-13' },
        pending: [{ status: 'former', from: '2026-12-01' }],
      });
      expect(standingOn(history, '2026-12-01')).toEqual({
        current: { status: 'former', from: '2026-12-01' },
        pending: [],
      });
    });
    it('gives no status before an admission takes effect', () => {
      const later = fold(stateDecider, [
        { ...admitted, data: { ...admitted.data, status: 'member', effectiveFrom: '2027-01-01' } },
      ]);
      expect(statusOn(later, '2026-12-31')).toBeUndefined();
      expect(standingOn(later.admitted ? later.history : [], '2026-12-31')).toEqual({
        pending: [{ status: 'member', from: '2027-01-01' }],
      });
      expect(statusOn(later, '2027-01-01')).toBe('member');
    });
    it('takes the change recorded last when two take effect on the same day', () => {
      const twice = fold(stateDecider, [
        admitted,
        {
          ...pendingChange,
          data: { code: 'GB', from: 'observer', to: 'member', effectiveFrom: '2026-12-01' },
        },
        { ...pendingChange, data: { code: 'GB', from: 'member', to: 'former', effectiveFrom: '2026-12-01' } },
      ]);
      expect(statusOn(twice, '2026-12-01')).toBe('former');
    });
  });

  it('answers what status a state had on a date', () => {
    const state = fold(stateDecider, [
      admitted,
      {
        type: 'StateStatusChanged',
        data: { code: 'GB', from: 'observer', to: 'former', effectiveFrom: '2020-01-31' },
        visibility: { level: 'open' },
      },
    ]);
    expect(statusOn(state, '2001-01-01')).toBeUndefined();
    expect(statusOn(state, '2019-12-31')).toBe('observer');
    expect(statusOn(state, '2020-01-31')).toBe('former');
    expect(statusSince(state, '2026-11-22')).toBe('2020-01-31');
  });
});
