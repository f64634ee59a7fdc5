import { stateDecider, statusOn, statusSince, fold, type StateEvent } from '../index.js';
import { memberState, NOW, secretariat, specify } from '../../test/decider-spec.js';

const { given } = specify(stateDecider);
const admitted: StateEvent = {
  type: 'StateAdmitted',
  data: { code: 'GB', name: 'United Kingdom', status: 'observer', effectiveFrom: '2002-06-13' },
  visibility: { level: 'open' },
};
const admit = { type: 'AdmitState', actor: secretariat, at: NOW, ...admitted.data } as const;
const change = { type: 'ChangeStateStatus', actor: secretariat, at: NOW, code: 'GB' } as const;

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
