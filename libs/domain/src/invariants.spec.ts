/**
 * Property-based tests: any sequence of commands, accepted or refused, keeps the invariants.
 */
import fc from 'fast-check';

import {
  contactPointDecider,
  DomainError,
  fold,
  meetingRequestDecider,
  primaryByState,
  threadDecider,
  type Actor,
  type ContactPointCommand,
  type ContactPointEvent,
  type ContactPointState,
  type Decider,
  type DomainEvent,
  type MeetingRequestCommand,
  type MeetingRequestEvent,
  type ThreadCommand,
  type ThreadEvent,
  stateDecider,
  liaisonOrganisationDecider,
} from './index.js';
import {
  auditor,
  ICC,
  IRMCT,
  memberState,
  NOW,
  observerState,
  organisation,
  secretariat,
} from '../test/decider-spec.js';

const actors: Actor[] = [
  secretariat,
  auditor,
  memberState('DE'),
  memberState('FR'),
  observerState('NO'),
  organisation(ICC),
];
const actor = fc.constantFrom(...actors);
const at = fc.constantFrom(NOW, '2027-06-01T08:00:00Z', '2028-01-01T08:00:00Z');

/** Runs commands against one stream, keeping the accepted events; returns them with the refusals. */
function run<C, S, E extends DomainEvent>(decider: Decider<C, S, E>, commands: C[]) {
  let state = decider.initialState;
  const events: E[] = [];
  const outcomes: (readonly E[] | DomainError)[] = [];
  for (const command of commands) {
    const result = decider.decide(command, state);
    outcomes.push(result);
    if (result instanceof DomainError) continue;
    for (const event of result) {
      state = decider.evolve(state, event);
      events.push(event);
    }
  }
  return { state, events, outcomes };
}

describe('invariants under any sequence of commands', () => {
  const contactPointIds = [
    '6f1c2b9e-0d1e-4b4a-9c55-2f8f0e6f4a10',
    '7a2d3c0f-1e2f-4c5b-8d66-3a9f1f7a5b21',
    '8b3e4d1a-2f3a-4d6c-9e77-4b0a2a8b6c32',
  ];
  const contactPointCommand = fc.record({
    target: fc.constantFrom(...contactPointIds),
    actor,
    at,
    kind: fc.constantFrom(
      'register',
      'register-primary',
      'designate',
      'retire',
      'reinstate',
      'confirm',
      'erase',
      'change',
    ),
  });

  it('one primary contact point per state, never a retired one', () => {
    fc.assert(
      fc.property(fc.array(contactPointCommand, { maxLength: 40 }), (steps) => {
        const streams = new Map<string, ContactPointState>();
        const log: { contactPointId: string; event: ContactPointEvent }[] = [];
        for (const step of steps) {
          const state = streams.get(step.target) ?? contactPointDecider.initialState;
          const facts = { currentPrimary: primaryByState(log).get('DE') };
          const base = { actor: step.actor, at: step.at, contactPointId: step.target };
          const command: ContactPointCommand =
            step.kind === 'register' || step.kind === 'register-primary'
              ? {
                  ...base,
                  type: 'RegisterContactPoint',
                  state: 'DE',
                  personal: { fullName: 'A. Beispiel', email: 'a@gba.example' },
                  role: 'prosecutor',
                  authority: 'GBA',
                  languages: ['de'],
                  expertise: [],
                  primary: step.kind === 'register-primary',
                  facts,
                }
              : step.kind === 'designate'
                ? { ...base, type: 'DesignatePrimaryContactPoint', facts }
                : step.kind === 'retire'
                  ? { ...base, type: 'RetireContactPoint', reason: 'left' }
                  : step.kind === 'reinstate'
                    ? { ...base, type: 'ReinstateContactPoint' }
                    : step.kind === 'confirm'
                      ? { ...base, type: 'ConfirmContactPoint' }
                      : step.kind === 'erase'
                        ? { ...base, type: 'EraseContactPointPersonalData' }
                        : {
                            ...base,
                            type: 'ChangeContactPointDetails',
                            changes: { role: 'judge' },
                            personalChanges: {},
                          };
          const result = contactPointDecider.decide(command, state);
          if (result instanceof DomainError) continue;
          let next = state;
          for (const event of result) {
            next = contactPointDecider.evolve(next, event);
            log.push({ contactPointId: step.target, event });
          }
          streams.set(step.target, next);
        }
        const primaries = primaryByState(log);
        expect(primaries.size).toBeLessThanOrEqual(1);
        const primary = primaries.get('DE');
        if (primary !== undefined) {
          expect(streams.get(primary)).toMatchObject({ registered: true, status: 'active' });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('nothing but refusals after personal data is erased', () => {
    fc.assert(
      fc.property(fc.array(contactPointCommand, { maxLength: 30 }), (steps) => {
        const target = contactPointIds[0]!;
        const commands: ContactPointCommand[] = [
          {
            type: 'RegisterContactPoint',
            actor: secretariat,
            at: NOW,
            contactPointId: target,
            state: 'DE',
            personal: { fullName: 'A. Beispiel', email: 'a@gba.example' },
            role: 'analyst',
            authority: 'GBA',
            languages: ['de'],
            expertise: [],
            primary: false,
            facts: {},
          },
          { type: 'EraseContactPointPersonalData', actor: secretariat, at: NOW, contactPointId: target },
          ...steps.map((step): ContactPointCommand => {
            const base = { actor: step.actor, at: step.at, contactPointId: target };
            switch (step.kind) {
              case 'retire':
                return { ...base, type: 'RetireContactPoint', reason: 'x' };
              case 'reinstate':
                return { ...base, type: 'ReinstateContactPoint' };
              case 'confirm':
                return { ...base, type: 'ConfirmContactPoint' };
              case 'designate':
                return { ...base, type: 'DesignatePrimaryContactPoint', facts: {} };
              case 'erase':
                return { ...base, type: 'EraseContactPointPersonalData' };
              default:
                return {
                  ...base,
                  type: 'ChangeContactPointDetails',
                  changes: {},
                  personalChanges: { fullName: 'B' },
                };
            }
          }),
        ];
        const { outcomes } = run(contactPointDecider, commands);
        for (const outcome of outcomes.slice(2)) expect(outcome).toBeInstanceOf(DomainError);
      }),
    );
  });

  const meetingId = '2b7e9d1a-3c4f-4a6b-9e8d-5f1a2b3c4d5e';
  const scheduledFor = '2029-02-01';
  const meetingCommand: fc.Arbitrary<MeetingRequestCommand> = fc
    .record({
      actor,
      // Times before the meeting, and one on its scheduled day, from which it may be concluded.
      at: fc.constantFrom(NOW, '2027-06-01T08:00:00Z', '2028-01-01T08:00:00Z', `${scheduledFor}T08:00:00Z`),
      kind: fc.constantFrom('request', 'co-sponsor', 'withdraw', 'accept', 'decline', 'cancel', 'conclude'),
      confidentiality: fc.constantFrom('open', 'closed' as const),
      withOrganisation: fc.boolean(),
      status: fc.constantFrom('member', 'observer' as const),
    })
    .map(({ actor, at, kind, confidentiality, withOrganisation, status }): MeetingRequestCommand => {
      const base = { actor, at, requestId: meetingId };
      const facts = { actorStateStatus: status };
      switch (kind) {
        case 'request':
          return {
            ...base,
            type: 'RequestAdHocMeeting',
            facts: { ...facts, suspendedOrganisations: [], guestStates: [] },
            subjectKind: 'case',
            title: 't',
            summary: 's',
            confidentiality,
            proposedDates: ['2029-01-01'],
            invitedStates: ['NL'],
            invitedOrganisations: withOrganisation ? [ICC] : [],
          };
        case 'co-sponsor':
          return { ...base, type: 'CoSponsorAdHocMeeting', facts };
        case 'withdraw':
          return { ...base, type: 'WithdrawAdHocMeeting' };
        case 'accept':
          return { ...base, type: 'AcceptAdHocMeeting', scheduledFor, venue: 'The Hague' };
        case 'decline':
          return { ...base, type: 'DeclineAdHocMeeting', reason: 'r' };
        case 'cancel':
          return { ...base, type: 'CancelAdHocMeeting', reason: 'r' };
        default:
          return { ...base, type: 'ConcludeAdHocMeeting', conclusions: 'c' };
      }
    });

  it('meeting requests follow requested → accepted → concluded | cancelled, or → declined | withdrawn', () => {
    const lifecycle = /^(Requested(CoSponsored)*(Declined|Withdrawn|Accepted(Cancelled|Concluded)?)?)?$/;
    fc.assert(
      fc.property(fc.array(meetingCommand, { maxLength: 30 }), (commands) => {
        const { events } = run(meetingRequestDecider, commands);
        const path = events
          .map((event: MeetingRequestEvent) => event.type.replace('AdHocMeeting', ''))
          .join('');
        expect(path).toMatch(lifecycle);
        for (const event of events) {
          if (event.type === 'AdHocMeetingRequested' && event.data.confidentiality === 'closed') {
            expect(event.data.invitedOrganisations).toEqual([]);
          }
          if (event.type === 'AdHocMeetingRequested') expect(event.data.requestedBy).not.toBe('NO');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('an accepted meeting is concluded exactly when the command is dated on or after its scheduled day', () => {
    const secretariatAt = (date: Date) => ({
      actor: secretariat,
      at: date.toISOString(),
      requestId: meetingId,
    });
    const requested = meetingRequestDecider.decide(
      {
        actor: memberState('DE'),
        at: NOW,
        requestId: meetingId,
        type: 'RequestAdHocMeeting',
        facts: { actorStateStatus: 'member', suspendedOrganisations: [], guestStates: [] },
        subjectKind: 'case',
        title: 't',
        summary: 's',
        confidentiality: 'open',
        proposedDates: ['2029-01-01'],
        invitedStates: [],
        invitedOrganisations: [],
      },
      meetingRequestDecider.initialState,
    ) as MeetingRequestEvent[];
    const instant = (min: string, max: string) =>
      fc.date({ min: new Date(min), max: new Date(max), noInvalidDate: true });
    fc.assert(
      fc.property(
        instant('2026-11-23T00:00:00Z', '2030-12-31T23:59:59Z'),
        fc.boolean(),
        instant('2026-11-22T10:00:00Z', '2031-12-31T23:59:59Z'),
        (scheduled, asDate, concludedAt) => {
          // Scheduled as a date or as an instant; the rule compares days (UTC) either way.
          const scheduledFor = asDate ? scheduled.toISOString().slice(0, 10) : scheduled.toISOString();
          const accepted = meetingRequestDecider.decide(
            { ...secretariatAt(new Date(NOW)), type: 'AcceptAdHocMeeting', scheduledFor, venue: 'The Hague' },
            fold(meetingRequestDecider, requested),
          ) as MeetingRequestEvent[];
          const result = meetingRequestDecider.decide(
            { ...secretariatAt(concludedAt), type: 'ConcludeAdHocMeeting', conclusions: 'c' },
            fold(meetingRequestDecider, [...requested, ...accepted]),
          );
          const onOrAfter = concludedAt.toISOString().slice(0, 10) >= scheduledFor.slice(0, 10);
          expect(result instanceof DomainError ? result.reason : 'concluded').toBe(
            onOrAfter ? 'concluded' : 'meeting-request/not-yet-held',
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('no liaison organisation in a closed thread', () => {
    const threadId = '3c8f0e2b-4d5a-4b7c-8f9e-6a2b3c4d5e6f';
    const threadCommand: fc.Arbitrary<ThreadCommand> = fc
      .record({
        actor,
        visibility: fc.constantFrom('open', 'closed', 'restricted' as const),
        participants: fc.subarray([
          'state:DE',
          'state:FR',
          `organisation:${ICC}`,
          `organisation:${IRMCT}`,
          'secretariat',
        ] as const),
      })
      .map(({ actor, visibility, participants }) => ({
        type: 'OpenThread',
        actor,
        at: NOW,
        threadId,
        subject: 's',
        visibility,
        participants: [...participants],
        facts: { suspendedOrganisations: [IRMCT], guestStates: [] },
      }));
    fc.assert(
      fc.property(threadCommand, (command) => {
        const { events } = run(threadDecider, [command]);
        for (const event of events as ThreadEvent[]) {
          if (event.type === 'ThreadOpened' && event.data.visibility === 'closed') {
            expect(event.data.participants.some((ref) => ref.startsWith('organisation:'))).toBe(false);
          }
          if (event.type === 'ThreadOpened') {
            expect(event.data.participants).not.toContain(`organisation:${IRMCT}`);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('evolve is total: any event, known or not, with any data, in any order, never throws', () => {
    const anyJson = fc.dictionary(
      fc.constantFrom('state', 'code', 'messageId', 'reason', 'changes', 'personalChanges', 'to', 'on'),
      fc.jsonValue(),
    );
    const deciders = [
      stateDecider,
      contactPointDecider,
      liaisonOrganisationDecider,
      meetingRequestDecider,
      threadDecider,
    ] as const;
    const types = [
      ['StateAdmitted', 'StateStatusChanged'],
      [
        'ContactPointRegistered',
        'ContactPointDetailsChanged',
        'ContactPointDesignatedPrimary',
        'ContactPointRetired',
        'ContactPointReinstated',
        'ContactPointConfirmed',
        'ContactPointPersonalDataErased',
      ],
      [
        'LiaisonOrganisationRegistered',
        'LiaisonOrganisationDetailsChanged',
        'LiaisonOrganisationSuspended',
        'LiaisonOrganisationReinstated',
      ],
      [
        'AdHocMeetingRequested',
        'AdHocMeetingCoSponsored',
        'AdHocMeetingAccepted',
        'AdHocMeetingDeclined',
        'AdHocMeetingWithdrawn',
        'AdHocMeetingCancelled',
        'AdHocMeetingConcluded',
      ],
      ['ThreadOpened', 'MessagePosted', 'MessageDelivered', 'MessageRead'],
    ] as const;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: deciders.length - 1 }).chain((index) =>
          fc.tuple(
            fc.constant(index),
            fc.array(fc.record({ type: fc.constantFrom(...types[index]!), data: anyJson }), {
              maxLength: 12,
            }),
          ),
        ),
        ([index, events]) => {
          const decider = deciders[index]! as unknown as Decider<unknown, unknown, DomainEvent>;
          let state = decider.initialState;
          for (const event of events)
            state = decider.evolve(state, { ...event, visibility: { level: 'open' } });
          expect(state).toBeDefined();
        },
      ),
      { numRuns: 500 },
    );
  });
});
