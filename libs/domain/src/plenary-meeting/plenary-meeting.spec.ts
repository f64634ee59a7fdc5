import fc from 'fast-check';

import {
  DomainError,
  maySee,
  mayAttendClosedSession,
  plenaryMeetingDecider,
  type Actor,
  type DelegateFacts,
  type PlenaryMeetingCommand,
  type PlenaryMeetingEvent,
} from '../index.js';
import {
  auditor,
  guestState,
  ICC,
  IRMCT,
  memberState,
  NOW,
  observerState,
  organisation,
  secretariat,
  specify,
} from '../../test/decider-spec.js';

const { given } = specify(plenaryMeetingDecider);
const MEETING = '5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6';
const ITEM = '6e2f3a4b-5c6d-4e7f-9081-92a3b4c5d6e7';
const DELEGATE = '7f3a4b5c-6d7e-4f80-a192-a3b4c5d6e7f8';
const OTHER = '80a4b5c6-7e8f-4091-b2a3-b4c5d6e7f809';
const CP_FR = '91b5c6d7-8f90-41a2-83b4-c5d6e7f8091a';
const CP_DE = 'a2c6d7e8-9001-42b3-94c5-d6e7f8091a2b';
const DURING = '2027-05-12T09:00:00Z';
const AFTER = '2027-05-14T09:00:00Z';

const history = {
  FR: [{ status: 'member', from: '2002-06-13' }],
  DE: [{ status: 'member', from: '2002-06-13' }],
  NO: [{ status: 'observer', from: '2002-06-13' }],
  GM: [{ status: 'guest', from: '2025-01-01' }],
  // Leaves the network on the meeting's second day.
  GB: [
    { status: 'observer', from: '2002-06-13' },
    { status: 'former', from: '2027-05-12' },
  ],
} as const satisfies DelegateFacts['stateHistories'];
const directory = (contactPoint?: DelegateFacts['contactPoint'], organisationSuspended?: boolean) => ({
  stateHistories: history,
  ...(contactPoint ? { contactPoint } : {}),
  ...(organisationSuspended !== undefined ? { organisationSuspended } : {}),
});

const base = { meetingId: MEETING, at: NOW } as const;
const details = {
  number: 39,
  title: '39th plenary meeting of the Genocide Network',
  theme: 'Accountability for crimes against children',
  startsOn: '2027-05-11',
  endsOn: '2027-05-12',
  venue: 'Eurojust, The Hague',
  presidency: 'NL',
} as const;
const convene = { type: 'ConvenePlenaryMeeting', actor: secretariat, ...base, ...details } as const;
const convened: PlenaryMeetingEvent = {
  type: 'PlenaryMeetingConvened',
  data: { meetingId: MEETING, ...details },
  visibility: { level: 'open' },
};
const register = (
  actor: Actor,
  session: 'open' | 'closed',
  fields: Partial<Extract<PlenaryMeetingCommand, { type: 'RegisterPlenaryDelegate' }>> = {},
): PlenaryMeetingCommand => ({
  type: 'RegisterPlenaryDelegate',
  actor,
  ...base,
  delegateId: DELEGATE,
  session,
  name: 'Delegate Alpha',
  facts: directory({ state: 'FR', active: true }, false),
  ...fields,
});
const frDelegate = (session: 'open' | 'closed'): PlenaryMeetingEvent => ({
  type: 'PlenaryDelegateRegistered',
  data: {
    delegateId: DELEGATE,
    session,
    participant: 'state:FR',
    kind: 'member-state',
    country: 'FR',
    contactPointId: CP_FR,
  },
  visibility: { level: session },
});
const attended = (session: 'open' | 'closed'): PlenaryMeetingEvent => ({
  type: 'PlenaryAttendanceRecorded',
  data: { delegateId: DELEGATE, session },
  visibility: { level: session },
});
const cancelled: PlenaryMeetingEvent = {
  type: 'PlenaryMeetingCancelled',
  data: { reason: 'venue unavailable' },
  visibility: { level: 'open' },
};

describe('PlenaryMeeting', () => {
  describe('ConvenePlenaryMeeting', () => {
    it('the secretariat convenes a meeting; it is open to all', () =>
      given([]).when(convene).then([convened]));
    it('only the secretariat convenes', () =>
      given([])
        .when({ ...convene, actor: memberState('FR') })
        .thenError('Forbidden', 'plenary/secretariat-only', /only the secretariat may convene/));
    it('dates lie in the future, and the end not before the start', () =>
      given([])
        .when({ ...convene, startsOn: '2026-11-01', endsOn: '2026-10-31', presidency: 'EL', number: 0 })
        .thenInvalid({
          startsOn: /not in the future/,
          endsOn: /ends before it starts/,
          presidency: /use GR/,
          number: /not a meeting's number/,
        }));
    it('a meeting is convened once', () =>
      given([convened]).when(convene).thenError('Conflict', 'plenary/exists'));
  });

  describe('AddPlenaryAgendaItem', () => {
    const item = {
      type: 'AddPlenaryAgendaItem',
      actor: secretariat,
      ...base,
      itemId: ITEM,
      title: 'Cases',
    } as const;
    it('an open session item is open', () =>
      given([convened])
        .when({ ...item, session: 'open', summary: 'Digital evidence' })
        .then([
          {
            type: 'PlenaryAgendaItemAdded',
            data: { itemId: ITEM, session: 'open', title: 'Cases', summary: 'Digital evidence' },
            visibility: { level: 'open' },
          },
        ]));
    it('a closed session item is closed: no liaison organisation or guest state sees it', () => {
      const result = plenaryMeetingDecider.decide(
        { ...item, session: 'closed' },
        plenaryMeetingDecider.evolve(plenaryMeetingDecider.initialState, convened),
      ) as PlenaryMeetingEvent[];
      expect(result).toEqual([
        {
          type: 'PlenaryAgendaItemAdded',
          data: { itemId: ITEM, session: 'closed', title: 'Cases' },
          visibility: { level: 'closed' },
        },
      ]);
      expect(maySee(organisation(ICC), result[0]!.visibility)).toBe(false);
      expect(maySee(guestState('GM'), result[0]!.visibility)).toBe(false);
      expect(maySee(observerState('NO'), result[0]!.visibility)).toBe(true);
      expect(maySee(auditor, result[0]!.visibility)).toBe(true);
    });
    it('only the secretariat sets the agenda', () =>
      given([convened])
        .when({ ...item, session: 'open', actor: memberState('FR') })
        .thenError('Forbidden', 'plenary/secretariat-only'));
    it('of a meeting that exists', () =>
      given([])
        .when({ ...item, session: 'open' })
        .thenError('NotFound', 'plenary/not-found'));
    it('an item once', () =>
      given([
        convened,
        {
          type: 'PlenaryAgendaItemAdded',
          data: { itemId: ITEM, session: 'open', title: 'Cases' },
          visibility: { level: 'open' },
        },
      ])
        .when({ ...item, session: 'closed' })
        .thenError('Conflict', 'plenary/agenda-item-exists'));
  });

  describe('RegisterPlenaryDelegate', () => {
    it('a member state registers one of its contact points, for either session', () => {
      given([convened])
        .when(register(memberState('FR'), 'closed', { contactPointId: CP_FR }))
        .then([frDelegate('closed')]);
      given([convened])
        .when(register(memberState('FR'), 'open', { contactPointId: CP_FR }))
        .then([frDelegate('open')]);
    });
    it("a state's delegate's name is its contact point's (personal data): never in the event, given or not", () => {
      given([convened])
        .when(register(memberState('FR'), 'open', { contactPointId: CP_FR, name: 'Anne Dupont' }))
        .then([frDelegate('open')]);
      given([convened])
        .when(register(memberState('FR'), 'open', { contactPointId: CP_FR, name: undefined }))
        .then([frDelegate('open')]);
      given([convened])
        .when(register(memberState('FR'), 'open', { contactPointId: CP_FR, name: '' }))
        .then([frDelegate('open')]);
    });
    it("a liaison organisation's or guest state's delegate needs a name", () =>
      given([convened])
        .when(register(guestState('GM'), 'open', { name: undefined }))
        .thenInvalid({ name: /non-empty/ }));
    it('an observer state is an observer-state participant', () =>
      given([convened])
        .when(
          register(observerState('NO'), 'closed', {
            contactPointId: CP_DE,
            facts: directory({ state: 'NO', active: true }),
          }),
        )
        .then([
          {
            type: 'PlenaryDelegateRegistered',
            data: {
              delegateId: DELEGATE,
              session: 'closed',
              participant: 'state:NO',
              kind: 'observer-state',
              country: 'NO',
              contactPointId: CP_DE,
            },
            visibility: { level: 'closed' },
          },
        ]));
    it("a state cannot register another state's contact point", () =>
      given([convened])
        .when(
          register(memberState('FR'), 'open', {
            contactPointId: CP_DE,
            facts: directory({ state: 'DE', active: true }),
          }),
        )
        .thenError('Forbidden', 'plenary/own-contact-points-only', /not one of FR's/));
    it('nor an unknown or retired contact point', () => {
      given([convened])
        .when(register(memberState('FR'), 'open', { contactPointId: CP_FR, facts: directory() }))
        .thenError('RuleViolated', 'plenary/unknown-contact-point');
      given([convened])
        .when(
          register(memberState('FR'), 'open', {
            contactPointId: CP_FR,
            facts: directory({ state: 'FR', active: false }),
          }),
        )
        .thenError('RuleViolated', 'plenary/contact-point-retired', /reinstate/);
    });
    it('a state must be in the network on every day of the meeting', () =>
      given([convened])
        .when(
          register(observerState('GB'), 'open', {
            contactPointId: CP_FR,
            facts: directory({ state: 'GB', active: true }),
          }),
        )
        .thenError('RuleViolated', 'plenary/not-in-network-on-meeting-dates', /2027-05-11 to 2027-05-12/));
    it('a state names its contact point, and only that', () => {
      given([convened])
        .when(register(memberState('FR'), 'open'))
        .thenInvalid({ contactPointId: /name the contact point/ });
      given([convened])
        .when(register(memberState('FR'), 'open', { contactPointId: CP_FR, organisation: ICC }))
        .thenInvalid({ organisation: /its own contact points/ });
    });
    it('a liaison organisation registers itself for the open session', () =>
      given([convened])
        .when(register(organisation(ICC), 'open', { facts: directory(undefined, false) }))
        .then([
          {
            type: 'PlenaryDelegateRegistered',
            data: {
              delegateId: DELEGATE,
              session: 'open',
              participant: `organisation:${ICC}`,
              kind: 'liaison-organisation',
              name: 'Delegate Alpha',
            },
            visibility: { level: 'open' },
          },
        ]));
    it('a guest state registers itself for the open session', () =>
      given([convened])
        .when(register(guestState('GM'), 'open'))
        .then([
          {
            type: 'PlenaryDelegateRegistered',
            data: {
              delegateId: DELEGATE,
              session: 'open',
              participant: 'state:GM',
              kind: 'guest-state',
              country: 'GM',
              name: 'Delegate Alpha',
            },
            visibility: { level: 'open' },
          },
        ]));
    it('a liaison organisation or a guest state is refused the closed session, saying why', () => {
      given([convened])
        .when(register(organisation(ICC), 'closed', { facts: directory(undefined, false) }))
        .thenError(
          'Forbidden',
          'plenary/closed-session-member-and-observer-states-only',
          /a liaison organisation may register for the open session/,
        );
      given([convened])
        .when(register(guestState('GM'), 'closed'))
        .thenError(
          'Forbidden',
          'plenary/closed-session-member-and-observer-states-only',
          /a guest delegation/,
        );
    });
    it('nor may the secretariat register them for it', () => {
      given([convened])
        .when(register(secretariat, 'closed', { organisation: ICC, facts: directory(undefined, false) }))
        .thenError('Forbidden', 'plenary/closed-session-member-and-observer-states-only');
      given([convened])
        .when(register(secretariat, 'closed', { state: 'GM' }))
        .thenError('Forbidden', 'plenary/closed-session-member-and-observer-states-only');
    });
    it('the secretariat registers any state’s contact point, and names exactly one participant', () => {
      given([convened])
        .when(register(secretariat, 'closed', { contactPointId: CP_FR }))
        .then([frDelegate('closed')]);
      given([convened])
        .when(register(secretariat, 'open', { contactPointId: CP_FR, state: 'GM' }))
        .thenInvalid({ contactPointId: /exactly one/ });
      given([convened])
        .when(register(secretariat, 'open', { state: 'FR' }))
        .thenError('RuleViolated', 'plenary/register-contact-points');
    });
    it('a suspended or unknown organisation takes no part', () => {
      given([convened])
        .when(register(secretariat, 'open', { organisation: IRMCT, facts: directory(undefined, true) }))
        .thenError('RuleViolated', 'plenary/organisation-suspended');
      given([convened])
        .when(register(secretariat, 'open', { organisation: IRMCT, facts: directory() }))
        .thenError('RuleViolated', 'plenary/unknown-organisation');
    });
    it('a contact point once per session; a delegate id once', () => {
      given([convened, frDelegate('closed')])
        .when(register(memberState('FR'), 'closed', { contactPointId: CP_FR, delegateId: OTHER }))
        .thenError('Conflict', 'plenary/already-registered');
      given([convened, frDelegate('closed')])
        .when(register(memberState('FR'), 'open', { contactPointId: CP_FR }))
        .thenError('Conflict', 'plenary/delegate-exists');
    });
    it('auditors register nobody', () =>
      given([convened]).when(register(auditor, 'open')).thenError('Forbidden', 'plenary/auditors-read-only'));
  });

  describe('WithdrawPlenaryDelegate', () => {
    const withdraw = (actor: Actor) =>
      ({ type: 'WithdrawPlenaryDelegate', actor, ...base, delegateId: DELEGATE }) as const;
    it('the registering state withdraws its delegate, with the session’s visibility', () =>
      given([convened, frDelegate('closed')])
        .when(withdraw(memberState('FR')))
        .then([
          {
            type: 'PlenaryDelegateWithdrawn',
            data: { delegateId: DELEGATE },
            visibility: { level: 'closed' },
          },
        ]));
    it('another state may not', () =>
      given([convened, frDelegate('open')])
        .when(withdraw(memberState('DE')))
        .thenError('Forbidden', 'plenary/own-delegates-only'));
    it('a closed session’s delegate does not exist for a liaison organisation', () =>
      given([convened, frDelegate('closed')])
        .when(withdraw(organisation(ICC)))
        .thenError('NotFound', 'plenary/delegate-not-found'));
    it('attendance stays on the record', () =>
      given([convened, frDelegate('open'), attended('open')])
        .when(withdraw(secretariat))
        .thenError('RuleViolated', 'plenary/already-attended'));
  });

  describe('RecordPlenaryAttendance', () => {
    const attendance = { type: 'RecordPlenaryAttendance', actor: secretariat, ...base, at: DURING } as const;
    it('the secretariat records a registered delegate on or after the start', () =>
      given([convened, frDelegate('closed')])
        .when({ ...attendance, delegateId: DELEGATE })
        .then([attended('closed')]));
    it('not before the meeting', () =>
      given([convened, frDelegate('closed')])
        .when({ ...attendance, delegateId: DELEGATE, at: NOW })
        .thenError(
          'RuleViolated',
          'plenary/not-yet-started',
          /starts on 2027-05-11 and today is 2026-11-22/,
        ));
    it('not for someone not registered, or withdrawn', () => {
      given([convened])
        .when({ ...attendance, delegateId: DELEGATE })
        .thenError('RuleViolated', 'plenary/not-registered');
      given([
        convened,
        frDelegate('open'),
        { type: 'PlenaryDelegateWithdrawn', data: { delegateId: DELEGATE }, visibility: { level: 'open' } },
      ])
        .when({ ...attendance, delegateId: DELEGATE })
        .thenError('RuleViolated', 'plenary/not-registered');
    });
    it('once', () =>
      given([convened, frDelegate('open'), attended('open')])
        .when({ ...attendance, delegateId: DELEGATE })
        .thenError('Conflict', 'plenary/attendance-recorded'));
    it('only by the secretariat', () =>
      given([convened, frDelegate('open')])
        .when({ ...attendance, delegateId: DELEGATE, actor: memberState('FR') })
        .thenError('Forbidden', 'plenary/secretariat-only'));
  });

  describe('PublishPlenaryConclusions', () => {
    const publish = {
      type: 'PublishPlenaryConclusions',
      actor: secretariat,
      ...base,
      at: AFTER,
      text: 'Digital evidence needs common standards.',
      topics: ['digital evidence', 'digital evidence', 'AI'],
    } as const;
    it('once the meeting has ended: open to all, and the meeting is concluded', () => {
      given([convened])
        .when({ ...publish, topics: [...publish.topics] })
        .then([
          {
            type: 'PlenaryConclusionsPublished',
            data: { text: publish.text, topics: ['digital evidence', 'AI'] },
            visibility: { level: 'open' },
          },
        ]);
      const concluded: PlenaryMeetingEvent = {
        type: 'PlenaryConclusionsPublished',
        data: { text: publish.text, topics: [] },
        visibility: { level: 'open' },
      };
      given([convened, concluded])
        .when({ ...publish, topics: [] })
        .thenError('RuleViolated', 'plenary/lifecycle', /39th plenary meeting is concluded/);
    });
    it('not before it ended', () =>
      given([convened])
        .when({ ...publish, topics: [], at: '2027-05-12T17:00:00Z' })
        .thenError('RuleViolated', 'plenary/not-yet-ended', /ends on 2027-05-12/));
  });

  describe('CancelPlenaryMeeting', () => {
    it('the secretariat cancels, and nothing can be done after', () => {
      given([convened])
        .when({ type: 'CancelPlenaryMeeting', actor: secretariat, ...base, reason: 'venue unavailable' })
        .then([cancelled]);
      const after = [convened, frDelegate('open'), cancelled];
      const refusals: PlenaryMeetingCommand[] = [
        {
          type: 'AddPlenaryAgendaItem',
          actor: secretariat,
          ...base,
          itemId: ITEM,
          session: 'open',
          title: 'x',
        },
        register(memberState('FR'), 'open', { contactPointId: CP_FR, delegateId: OTHER }),
        { type: 'WithdrawPlenaryDelegate', actor: memberState('FR'), ...base, delegateId: DELEGATE },
        { type: 'RecordPlenaryAttendance', actor: secretariat, ...base, at: DURING, delegateId: DELEGATE },
        { type: 'PublishPlenaryConclusions', actor: secretariat, ...base, at: AFTER, text: 'x', topics: [] },
        { type: 'CancelPlenaryMeeting', actor: secretariat, ...base, reason: 'again' },
      ];
      for (const command of refusals) {
        given(after)
          .when(command)
          .thenError('RuleViolated', 'plenary/lifecycle', /is cancelled/);
      }
    });
  });

  describe('properties under any sequence of commands', () => {
    const actors: Actor[] = [
      secretariat,
      auditor,
      memberState('FR'),
      observerState('NO'),
      guestState('GM'),
      organisation(ICC),
    ];
    const delegates = [DELEGATE, OTHER, ITEM];
    const command = fc
      .record({
        kind: fc.constantFrom('register', 'withdraw', 'attend', 'cancel'),
        actor: fc.constantFrom(...actors),
        session: fc.constantFrom('open', 'closed' as const),
        delegateId: fc.constantFrom(...delegates),
        via: fc.constantFrom('own', 'contact-point', 'organisation', 'state'),
        at: fc.constantFrom(NOW, DURING, AFTER),
      })
      .map(({ kind, actor, session, delegateId, via, at }): PlenaryMeetingCommand => {
        switch (kind) {
          case 'register':
            return register(actor, session, {
              delegateId,
              at,
              ...(via === 'contact-point' ? { contactPointId: CP_FR } : {}),
              ...(via === 'organisation' ? { organisation: ICC } : {}),
              ...(via === 'state' ? { state: 'GM' } : {}),
              ...(via === 'own' && actor.state ? { contactPointId: CP_FR } : {}),
              facts: directory({ state: actor.role === 'observer-state' ? 'NO' : 'FR', active: true }, false),
            });
          case 'withdraw':
            return { type: 'WithdrawPlenaryDelegate', actor, ...base, at, delegateId };
          case 'attend':
            return { type: 'RecordPlenaryAttendance', actor, ...base, at, delegateId };
          case 'cancel':
            return { type: 'CancelPlenaryMeeting', actor, ...base, at, reason: 'r' };
        }
      });

    it('no closed-session delegate is a liaison organisation or a guest; attendance ⊆ registrations', () =>
      fc.assert(
        fc.property(fc.array(command, { maxLength: 30 }), (commands) => {
          let state = plenaryMeetingDecider.evolve(plenaryMeetingDecider.initialState, convened);
          for (const next of commands) {
            const result = plenaryMeetingDecider.decide(next, state);
            if (result instanceof DomainError) continue;
            state = result.reduce(plenaryMeetingDecider.evolve, state);
          }
          if (!state.convened) throw new Error('convened above');
          for (const delegate of state.delegates) {
            if (delegate.session === 'closed') expect(mayAttendClosedSession(delegate.kind)).toBe(true);
            expect(delegate.participant.startsWith('organisation:')).toBe(
              delegate.kind === 'liaison-organisation',
            );
          }
          const registered = state.delegates.map((delegate) => delegate.delegateId);
          for (const delegateId of state.attended) expect(registered).toContain(delegateId);
        }),
        { numRuns: 300 },
      ));
  });
});
