import {
  contactPointDecider,
  fold,
  isStale,
  primaryByState,
  staleContactPoints,
  type ContactPointCommand,
  type ContactPointEvent,
} from '../index.js';
import {
  auditor,
  ICC,
  memberState,
  NOW,
  observerState,
  organisation,
  secretariat,
  specify,
} from '../../test/decider-spec.js';

const { given } = specify(contactPointDecider);
const ID = '6f1c2b9e-0d1e-4b4a-9c55-2f8f0e6f4a10';
const OLD_PRIMARY = '7a2d3c0f-1e2f-4c5b-8d66-3a9f1f7a5b21';
const personal = { fullName: 'Anna Beispiel', email: 'anna.beispiel@gba.example', phone: '+4972181910' };
const post = {
  role: 'prosecutor',
  authority: 'Generalbundesanwalt',
  languages: ['de', 'en'],
  expertise: ['VStGB'],
} as const;
const register = {
  type: 'RegisterContactPoint',
  actor: memberState('DE'),
  at: NOW,
  contactPointId: ID,
  state: 'DE',
  personal,
  ...post,
  languages: [...post.languages],
  expertise: [...post.expertise],
  primary: false,
  facts: {},
} satisfies ContactPointCommand;
const registered: ContactPointEvent = {
  type: 'ContactPointRegistered',
  data: {
    contactPointId: ID,
    registeredOn: '2026-11-22',
    state: 'DE',
    personal,
    ...post,
    languages: ['de', 'en'],
    expertise: ['VStGB'],
    primary: false,
  },
  visibility: { level: 'open' },
};
const retired: ContactPointEvent = {
  type: 'ContactPointRetired',
  data: { reason: 'moved to another post', wasPrimary: false },
  visibility: { level: 'open' },
};
const erased: ContactPointEvent = {
  type: 'ContactPointPersonalDataErased',
  data: { on: '2026-11-22' },
  visibility: { level: 'open' },
};
const base = { actor: memberState('DE'), at: NOW, contactPointId: ID } as const;

describe('ContactPoint', () => {
  describe('RegisterContactPoint', () => {
    it("a state's national authorities register its contact points, personal fields apart", () =>
      given([]).when(register).then([registered]));
    it('the secretariat registers any', () =>
      given([])
        .when({ ...register, actor: secretariat })
        .then([registered]));
    it("a state may not register another state's contact point", () =>
      given([])
        .when({ ...register, actor: observerState('NO') })
        .thenError('Forbidden', 'contact-point/other-state', /NO may maintain only its own/));
    it('liaison organisations and auditors may not register', () => {
      given([])
        .when({ ...register, actor: organisation(ICC) })
        .thenError('Forbidden', 'contact-point/not-maintainer');
      given([])
        .when({ ...register, actor: auditor })
        .thenError('Forbidden', 'contact-point/not-maintainer');
    });
    it("only the secretariat registers a liaison organisation's contact point", () => {
      const forOrganisation = {
        ...register,
        state: undefined,
        organisation: ICC,
      } as unknown as ContactPointCommand;
      given([])
        .when(forOrganisation)
        .thenError('Forbidden', 'contact-point/not-maintainer', /secretariat/);
      expect(
        contactPointDecider.decide({ ...forOrganisation, actor: secretariat }, { registered: false }),
      ).toMatchObject([{ type: 'ContactPointRegistered', data: { organisation: ICC } }]);
    });
    it('names every invalid field', () =>
      given([])
        .when({
          ...register,
          personal: { fullName: '', email: 'anna@', phone: '0721 81910' },
          role: 'spy' as never,
          languages: ['german'],
        })
        .thenInvalid({
          fullName: /non-empty/,
          email: /e-mail/,
          phone: /E\.164/,
          role: /not one of/,
          languages: /ISO 639-1/,
        }));
    it('refuses both a state and an organisation', () =>
      given([])
        .when({ ...register, organisation: ICC } as never)
        .thenInvalid({ organisation: /not both/ }));
    it('registers once', () =>
      given([registered]).when(register).thenError('Conflict', 'contact-point/already-registered'));
    it('a new primary names the primary it replaces', () =>
      given([])
        .when({ ...register, primary: true, facts: { currentPrimary: OLD_PRIMARY } })
        .then([
          { ...registered, data: { ...registered.data, primary: true, replacesPrimary: OLD_PRIMARY } },
        ]));
  });

  describe('ChangeContactPointDetails', () => {
    const change = { ...base, type: 'ChangeContactPointDetails' } as const;
    it('records only what changed, personal fields apart', () =>
      given([registered])
        .when({
          ...change,
          changes: { authority: 'Generalbundesanwalt', role: 'judge' },
          personalChanges: { phone: '+4972181911' },
        })
        .then([
          {
            type: 'ContactPointDetailsChanged',
            data: { changes: { role: 'judge' }, personalChanges: { phone: '+4972181911' } },
            visibility: { level: 'open' },
          },
        ]));
    it('records nothing when nothing changed', () =>
      given([registered])
        .when({ ...change, changes: { role: 'prosecutor' }, personalChanges: {} })
        .then([]));
    it('a change of closed fields alone is closed: an open feed must not learn that an e-mail changed', () => {
      given([registered])
        .when({ ...change, changes: {}, personalChanges: { email: 'a.beispiel@gba.example', notes: 'x' } })
        .then([
          {
            type: 'ContactPointDetailsChanged',
            data: { changes: {}, personalChanges: { email: 'a.beispiel@gba.example', notes: 'x' } },
            visibility: { level: 'closed' },
          },
        ]);
      given([registered])
        .when({ ...change, changes: {}, personalChanges: { fullName: 'Anna Muster', phone: '+4972181911' } })
        .then([
          {
            type: 'ContactPointDetailsChanged',
            data: { changes: {}, personalChanges: { fullName: 'Anna Muster', phone: '+4972181911' } },
            visibility: { level: 'open' },
          },
        ]);
    });
    it('refuses invalid values', () =>
      given([registered])
        .when({ ...change, changes: {}, personalChanges: { email: 'x' } })
        .thenInvalid({ email: /e-mail/ }));
    it('is frozen while retired', () =>
      given([registered, retired])
        .when({ ...change, changes: { role: 'judge' }, personalChanges: {} })
        .thenError('RuleViolated', 'contact-point/retired', /reinstate it/));
    it('another state may not change it', () =>
      given([registered])
        .when({ ...change, actor: memberState('FR'), changes: { role: 'judge' }, personalChanges: {} })
        .thenError('Forbidden', 'contact-point/other-state'));
    it('needs a registered contact point', () =>
      given([])
        .when({ ...change, changes: {}, personalChanges: {} })
        .thenError('NotFound', 'contact-point/not-found'));
  });

  describe('DesignatePrimaryContactPoint', () => {
    const designate = { ...base, type: 'DesignatePrimaryContactPoint' } as const;
    it('designates, un-designating the current primary', () =>
      given([registered])
        .when({ ...designate, facts: { currentPrimary: OLD_PRIMARY } })
        .then([
          {
            type: 'ContactPointDesignatedPrimary',
            data: { state: 'DE', replacesPrimary: OLD_PRIMARY },
            visibility: { level: 'open' },
          },
        ]));
    it('refuses a contact point that is primary already', () =>
      given([{ ...registered, data: { ...registered.data, primary: true } }])
        .when({ ...designate, facts: { currentPrimary: ID } })
        .thenError('RuleViolated', 'contact-point/already-primary'));
    it('designates again a contact point whose primary role another one took over', () =>
      given([{ ...registered, data: { ...registered.data, primary: true } }])
        .when({ ...designate, facts: { currentPrimary: OLD_PRIMARY } })
        .then([
          {
            type: 'ContactPointDesignatedPrimary',
            data: { state: 'DE', replacesPrimary: OLD_PRIMARY },
            visibility: { level: 'open' },
          },
        ]));
    it('refuses a retired contact point', () =>
      given([registered, retired])
        .when({ ...designate, facts: {} })
        .thenError('RuleViolated', 'contact-point/retired'));
  });

  describe('retire and reinstate', () => {
    it('retires openly, its reason a closed field, once', () => {
      given([registered])
        .when({ ...base, type: 'RetireContactPoint', reason: 'moved to another post' })
        .then([retired]);
      given([registered, retired])
        .when({ ...base, type: 'RetireContactPoint', reason: 'again' })
        .thenError('RuleViolated', 'contact-point/retired');
      given([registered])
        .when({ ...base, type: 'RetireContactPoint', reason: '' })
        .thenInvalid({ reason: /non-empty/ });
    });
    it('reinstates only a retired contact point', () => {
      given([registered, retired])
        .when({ ...base, type: 'ReinstateContactPoint' })
        .then([{ type: 'ContactPointReinstated', data: {}, visibility: { level: 'open' } }]);
      given([registered])
        .when({ ...base, type: 'ReinstateContactPoint' })
        .thenError('RuleViolated', 'contact-point/not-retired');
    });
  });

  describe('ConfirmContactPoint and the stale-entry report', () => {
    it('confirms on the command’s date', () =>
      given([registered])
        .when({ ...base, type: 'ConfirmContactPoint', at: '2027-03-01T09:00:00Z' })
        .then([
          { type: 'ContactPointConfirmed', data: { on: '2027-03-01' }, visibility: { level: 'open' } },
        ]));
    describe('twice on the same day: one event', () => {
      const confirmedOn = (on: string): ContactPointEvent => ({
        type: 'ContactPointConfirmed',
        data: { on },
        visibility: { level: 'open' },
      });
      it('accepts a second confirmation that day and records nothing', () =>
        given([registered, confirmedOn('2027-03-01')])
          .when({ ...base, type: 'ConfirmContactPoint', at: '2027-03-01T17:30:00Z' })
          .then([]));
      it('whoever confirms it the second time', () =>
        given([registered, confirmedOn('2027-03-01')])
          .when({ ...base, actor: secretariat, type: 'ConfirmContactPoint', at: '2027-03-01T23:59:59Z' })
          .then([]));
      it('records the next day’s confirmation', () =>
        given([registered, confirmedOn('2027-03-01')])
          .when({ ...base, type: 'ConfirmContactPoint', at: '2027-03-02T00:00:00Z' })
          .then([confirmedOn('2027-03-02')]));
      it('records a confirmation on the day of registration: a registration is not a confirmation', () =>
        given([registered])
          .when({ ...base, type: 'ConfirmContactPoint', at: '2026-11-22T16:00:00Z' })
          .then([confirmedOn('2026-11-22')]));
      it('still refuses what it refused: a retired entry, someone else’s', () => {
        given([registered, confirmedOn('2026-11-22'), retired])
          .when({ ...base, type: 'ConfirmContactPoint' })
          .thenError('RuleViolated', 'contact-point/retired');
        given([registered, confirmedOn('2026-11-22')])
          .when({ ...base, actor: memberState('FR'), type: 'ConfirmContactPoint' })
          .thenError('Forbidden', 'contact-point/other-state');
      });
    });
    it('refuses to confirm a retired entry', () =>
      given([registered, retired])
        .when({ ...base, type: 'ConfirmContactPoint' })
        .thenError('RuleViolated', 'contact-point/retired'));
    it('reports an entry not confirmed for 12 months as stale', () => {
      const state = fold(contactPointDecider, [registered]);
      expect(isStale(state, '2027-11-21')).toBe(false);
      expect(isStale(state, '2027-11-22')).toBe(true);
      const confirmed = fold(contactPointDecider, [
        registered,
        { type: 'ContactPointConfirmed', data: { on: '2027-06-01' }, visibility: { level: 'open' } },
      ]);
      expect(staleContactPoints([state, confirmed], '2028-01-01')).toEqual([state]);
      expect(isStale(fold(contactPointDecider, [registered, retired]), '2030-01-01')).toBe(false);
    });
  });

  describe('EraseContactPointPersonalData', () => {
    it('is for the secretariat only', () =>
      given([registered])
        .when({ ...base, type: 'EraseContactPointPersonalData' })
        .thenError('Forbidden', 'contact-point/erasure-secretariat-only'));
    it('erases, leaving clearly redacted fields', () => {
      given([registered])
        .when({ ...base, actor: secretariat, type: 'EraseContactPointPersonalData' })
        .then([erased]);
      const state = fold(contactPointDecider, [registered, erased]);
      expect(state).toMatchObject({ personal: { erased: true, erasedOn: '2026-11-22' } });
      expect(JSON.stringify(state)).not.toContain('Anna');
    });
    it('refuses every later command, saying why', () => {
      const later: ContactPointCommand[] = [
        { ...base, type: 'ChangeContactPointDetails', changes: { role: 'judge' }, personalChanges: {} },
        { ...base, type: 'DesignatePrimaryContactPoint', facts: {} },
        { ...base, type: 'RetireContactPoint', reason: 'x' },
        { ...base, type: 'ReinstateContactPoint' },
        { ...base, type: 'ConfirmContactPoint' },
        { ...base, actor: secretariat, type: 'EraseContactPointPersonalData' },
      ];
      for (const command of later) {
        given([registered, erased])
          .when(command)
          .thenError('RuleViolated', 'contact-point/erased', /erased on 2026-11-22/);
      }
    });
  });

  it('keeps one primary per state across contact points', () => {
    const primaries = primaryByState([
      {
        contactPointId: OLD_PRIMARY,
        event: { ...registered, data: { ...registered.data, contactPointId: OLD_PRIMARY, primary: true } },
      },
      { contactPointId: ID, event: registered },
      {
        contactPointId: ID,
        event: {
          type: 'ContactPointDesignatedPrimary',
          data: { state: 'DE', replacesPrimary: OLD_PRIMARY },
          visibility: { level: 'open' },
        },
      },
    ]);
    expect(primaries).toEqual(new Map([['DE', ID]]));
  });
});
