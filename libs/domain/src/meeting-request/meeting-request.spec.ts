import { meetingRequestDecider, type MeetingRequestCommand, type MeetingRequestEvent } from '../index.js';
import {
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

const { given } = specify(meetingRequestDecider);
const ID = '2b7e9d1a-3c4f-4a6b-9e8d-5f1a2b3c4d5e';
const member = { actorStateStatus: 'member', actorStateStatusSince: '2002-06-13' } as const;
const details = {
  subjectKind: 'situation',
  title: 'Crimes against the Yazidi',
  summary: 'Coordination of structural investigations',
  confidentiality: 'closed',
  proposedDates: ['2027-02-10', '2027-02-11'],
  invitedStates: ['NL'],
  invitedOrganisations: [],
} as const;
const request = {
  type: 'RequestAdHocMeeting',
  actor: memberState('DE'),
  at: NOW,
  requestId: ID,
  facts: { ...member, suspendedOrganisations: [IRMCT], guestStates: [] },
  ...details,
  proposedDates: [...details.proposedDates],
  invitedStates: [...details.invitedStates],
  invitedOrganisations: [],
} satisfies MeetingRequestCommand;
// A closed request's events are restricted to its states and say that it is closed.
const restricted = (...participants: string[]) =>
  ({ level: 'restricted', participants: participants.sort(), closed: true }) as never;
const requested: MeetingRequestEvent = {
  type: 'AdHocMeetingRequested',
  data: {
    requestId: ID,
    requestedBy: 'DE',
    ...details,
    proposedDates: [...details.proposedDates],
    invitedStates: ['NL'],
    invitedOrganisations: [],
  },
  visibility: restricted('state:DE', 'state:NL'),
};
const accepted: MeetingRequestEvent = {
  type: 'AdHocMeetingAccepted',
  data: { scheduledFor: '2027-02-10', venue: 'Eurojust, The Hague' },
  visibility: restricted('state:DE', 'state:NL'),
};
const base = { at: NOW, requestId: ID } as const;

describe('AdHocMeetingRequest', () => {
  describe('RequestAdHocMeeting', () => {
    it('a member state requests; a closed request is restricted to its states', () =>
      given([]).when(request).then([requested]));
    it('an open request is open', () =>
      given([])
        .when({ ...request, confidentiality: 'open', invitedOrganisations: [ICC] })
        .then([
          {
            ...requested,
            data: { ...requested.data, confidentiality: 'open', invitedOrganisations: [ICC] },
            visibility: { level: 'open' },
          },
        ]));
    it('refuses an observer, saying since when', () =>
      given([])
        .when({
          ...request,
          actor: memberState('FR'),
          facts: {
            actorStateStatus: 'observer',
            actorStateStatusSince: '2025-01-01',
            suspendedOrganisations: [],
            guestStates: [],
          },
        })
        .thenError(
          'Forbidden',
          'meeting-request/member-states-only',
          /only member states may request an ad hoc meeting; FR is an observer since 2025-01-01/,
        ));
    it('refuses observer-state and liaison-organisation principals', () => {
      given([])
        .when({ ...request, actor: observerState('NO') })
        .thenError('Forbidden', 'meeting-request/member-states-only');
      given([])
        .when({ ...request, actor: organisation(ICC) })
        .thenError('Forbidden', 'meeting-request/member-states-only');
    });
    it('refuses dates that are not in the future, and bad invitations', () =>
      given([])
        .when({
          ...request,
          proposedDates: ['2026-11-01'],
          invitedStates: ['EL'],
          invitedOrganisations: ['icc'],
        })
        .thenInvalid({
          proposedDates: /not in the future/,
          invitedStates: /use GR/,
          invitedOrganisations: /UUID/,
        }));
    it('a closed meeting cannot invite guest states', () =>
      given([])
        .when({ ...request, invitedStates: ['NL', 'GM'], facts: { ...request.facts, guestStates: ['GM'] } })
        .thenError('RuleViolated', 'meeting-request/closed-no-guests', /GM is a guest state/));
    it('a closed meeting cannot invite liaison organisations', () =>
      given([])
        .when({ ...request, invitedOrganisations: [ICC] })
        .thenError('RuleViolated', 'meeting-request/closed-no-organisations'));
    it('invites only liaison organisations of the directory (a state, even before it is admitted)', () =>
      given([])
        .when({
          ...request,
          confidentiality: 'open',
          invitedStates: ['NL', 'CH'],
          invitedOrganisations: [ICC, '11111111-2222-4333-8444-555555555555'],
          facts: { ...request.facts, unknownOrganisations: ['11111111-2222-4333-8444-555555555555'] },
        })
        .thenError(
          'RuleViolated',
          'meeting-request/unknown-organisation',
          /11111111-2222-4333-8444-555555555555: no liaison organisation of the directory has this id/,
        ));
    it('a suspended liaison organisation cannot be invited', () =>
      given([])
        .when({ ...request, confidentiality: 'open', invitedOrganisations: [IRMCT] })
        .thenError('RuleViolated', 'meeting-request/organisation-suspended'));
    it('is requested once', () =>
      given([requested]).when(request).thenError('Conflict', 'meeting-request/exists'));
  });

  describe('CoSponsorAdHocMeeting', () => {
    const coSponsor = {
      ...base,
      type: 'CoSponsorAdHocMeeting',
      actor: memberState('NL'),
      facts: member,
    } as const;
    const openRequest: MeetingRequestEvent = {
      ...requested,
      data: { ...requested.data, confidentiality: 'open' },
      visibility: { level: 'open' },
    };
    it('a state the closed request invites co-sponsors it', () =>
      given([requested])
        .when(coSponsor)
        .then([
          {
            type: 'AdHocMeetingCoSponsored',
            data: { state: 'NL' },
            visibility: restricted('state:DE', 'state:NL'),
          },
        ]));
    it('any member state co-sponsors an open request', () =>
      given([openRequest])
        .when({ ...coSponsor, actor: memberState('FR') })
        .then([{ type: 'AdHocMeetingCoSponsored', data: { state: 'FR' }, visibility: { level: 'open' } }]));
    it('to a state it does not invite, a closed request does not exist: 404 as for an unknown id', () => {
      for (const actor of [memberState('IT'), observerState('NO'), organisation(ICC)]) {
        given([requested])
          .when({ ...coSponsor, actor })
          .thenError('NotFound', 'meeting-request/not-found', new RegExp(`no ad hoc meeting request ${ID}`));
      }
    });
    it('to an invited state that became a guest, a closed request does not exist: 404, not 403', () => {
      given([requested])
        .when({ ...coSponsor, actor: guestState('NL') })
        .thenError('NotFound', 'meeting-request/not-found');
      given([openRequest])
        .when({ ...coSponsor, actor: guestState('NL') })
        .thenError('Forbidden', 'meeting-request/member-states-only');
    });
    it('once per state, and not by the requester', () => {
      given([
        requested,
        {
          type: 'AdHocMeetingCoSponsored',
          data: { state: 'NL' },
          visibility: restricted('state:DE', 'state:NL'),
        },
      ])
        .when(coSponsor)
        .thenError('Conflict', 'meeting-request/already-sponsor');
      given([requested])
        .when({ ...coSponsor, actor: memberState('DE') })
        .thenError('Conflict', 'meeting-request/already-sponsor');
    });
    it('only member states', () =>
      given([requested])
        .when({ ...coSponsor, facts: { actorStateStatus: 'former' } })
        .thenError('Forbidden', 'meeting-request/member-states-only', /NL is a former member/));
    it('only while requested', () =>
      given([requested, accepted]).when(coSponsor).thenError('RuleViolated', 'meeting-request/lifecycle'));
  });

  describe('WithdrawAdHocMeeting', () => {
    const withdraw = { ...base, type: 'WithdrawAdHocMeeting', actor: memberState('DE') } as const;
    it('the requesting state withdraws before acceptance', () =>
      given([requested])
        .when(withdraw)
        .then([
          {
            type: 'AdHocMeetingWithdrawn',
            data: { by: 'DE' },
            visibility: restricted('state:DE', 'state:NL'),
          },
        ]));
    it('no other state withdraws: 403 for a state that sees the request, 404 for one that does not', () => {
      given([requested])
        .when({ ...withdraw, actor: memberState('NL') })
        .thenError('Forbidden', 'meeting-request/requesters-only');
      given([requested])
        .when({ ...withdraw, actor: memberState('IT') })
        .thenError('NotFound', 'meeting-request/not-found');
    });
    it('not after acceptance', () =>
      given([requested, accepted])
        .when(withdraw)
        .thenError('RuleViolated', 'meeting-request/lifecycle', /accepted/));
  });

  describe('secretariat steps', () => {
    const accept = {
      ...base,
      actor: secretariat,
      type: 'AcceptAdHocMeeting',
      scheduledFor: '2027-02-10',
      venue: 'Eurojust, The Hague',
    } as const;
    it('accepts a requested meeting for a future date', () => {
      given([requested]).when(accept).then([accepted]);
      given([requested])
        .when({ ...accept, scheduledFor: '2026-01-01' })
        .thenInvalid({ scheduledFor: /not in the future/ });
    });
    it('only the secretariat accepts, declines, cancels and concludes', () => {
      for (const command of [
        accept,
        { ...base, actor: secretariat, type: 'DeclineAdHocMeeting', reason: 'x' },
        { ...base, actor: secretariat, type: 'CancelAdHocMeeting', reason: 'x' },
        { ...base, actor: secretariat, type: 'ConcludeAdHocMeeting', conclusions: 'x' },
      ] as const) {
        given([requested])
          .when({ ...command, actor: memberState('DE') })
          .thenError('Forbidden', 'meeting-request/secretariat-only');
      }
    });
    it('declines only a requested meeting', () => {
      given([requested])
        .when({ ...base, actor: secretariat, type: 'DeclineAdHocMeeting', reason: 'out of scope' })
        .then([
          {
            type: 'AdHocMeetingDeclined',
            data: { reason: 'out of scope' },
            visibility: restricted('state:DE', 'state:NL'),
          },
        ]);
      given([requested, accepted])
        .when({ ...base, actor: secretariat, type: 'DeclineAdHocMeeting', reason: 'x' })
        .thenError('RuleViolated', 'meeting-request/lifecycle');
    });
    it('cancels and concludes only an accepted meeting', () => {
      given([requested])
        .when({ ...base, actor: secretariat, type: 'CancelAdHocMeeting', reason: 'x' })
        .thenError(
          'RuleViolated',
          'meeting-request/lifecycle',
          /the request is requested; only an accepted request can be cancelled/,
        );
      given([requested, accepted])
        .when({ ...base, actor: secretariat, type: 'CancelAdHocMeeting', reason: 'venue unavailable' })
        .then([
          {
            type: 'AdHocMeetingCancelled',
            data: { reason: 'venue unavailable' },
            visibility: restricted('state:DE', 'state:NL'),
          },
        ]);
      given([requested, accepted])
        .when({
          ...base,
          at: '2027-02-10T16:00:00Z',
          actor: secretariat,
          type: 'ConcludeAdHocMeeting',
          conclusions: 'JIT to be explored',
        })
        .then([
          {
            type: 'AdHocMeetingConcluded',
            data: { conclusions: 'JIT to be explored' },
            visibility: restricted('state:DE', 'state:NL'),
          },
        ]);
      given([requested])
        .when({ ...base, actor: secretariat, type: 'ConcludeAdHocMeeting', conclusions: 'x' })
        .thenError('RuleViolated', 'meeting-request/lifecycle');
    });
    it('needs a request', () => given([]).when(accept).thenError('NotFound', 'meeting-request/not-found'));
  });

  describe('ConcludeAdHocMeeting: on or after the scheduled date, never before', () => {
    // Scheduled for 2027-02-10 (accepted above); NOW is 2026-11-22.
    const conclude = {
      ...base,
      actor: secretariat,
      type: 'ConcludeAdHocMeeting',
      conclusions: 'JIT to be explored',
    } as const;
    const concluded: MeetingRequestEvent = {
      type: 'AdHocMeetingConcluded',
      data: { conclusions: 'JIT to be explored' },
      visibility: restricted('state:DE', 'state:NL'),
    };

    it('refuses to conclude a meeting right after accepting it, saying when it can be', () =>
      given([requested, accepted])
        .when(conclude)
        .thenError(
          'RuleViolated',
          'meeting-request/not-yet-held',
          /scheduled for 2027-02-10 and today is 2026-11-22: conclude it on or after 2027-02-10.*or cancel it/,
        ));
    it('refuses on the day before, up to its last instant', () =>
      given([requested, accepted])
        .when({ ...conclude, at: '2027-02-09T23:59:59.999Z' })
        .thenError('RuleViolated', 'meeting-request/not-yet-held'));
    it('concludes from the first instant of the scheduled day', () =>
      given([requested, accepted])
        .when({ ...conclude, at: '2027-02-10T00:00:00Z' })
        .then([concluded]));
    it('concludes after the scheduled date', () =>
      given([requested, accepted])
        .when({ ...conclude, at: '2027-03-01T09:00:00Z' })
        .then([concluded]));
    it('dates a meeting scheduled at an instant by its day in UTC', () => {
      const atNine: MeetingRequestEvent = {
        ...accepted,
        data: { scheduledFor: '2027-02-10T09:00:00+01:00', venue: 'Eurojust, The Hague' },
      };
      given([requested, atNine])
        .when({ ...conclude, at: '2027-02-09T12:00:00Z' })
        .thenError('RuleViolated', 'meeting-request/not-yet-held', /on or after 2027-02-10/);
      // The same day, before the hour: concluded (a date rule, not a clock rule).
      given([requested, atNine])
        .when({ ...conclude, at: '2027-02-10T07:00:00Z' })
        .then([concluded]);
    });
    it('checks the lifecycle first: a concluded meeting is not concluded again', () =>
      given([requested, accepted, concluded])
        .when({ ...conclude, at: '2027-03-01T09:00:00Z' })
        .thenError('RuleViolated', 'meeting-request/lifecycle', /the request is concluded/));
  });
});
