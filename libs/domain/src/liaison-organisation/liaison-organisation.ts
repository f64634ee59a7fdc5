import { exhaustive, unknownEvent, type Decider, type DomainEvent } from '../decider.js';
import { conflict, forbidden, invalid, notFound, ruleViolated, type DomainError } from '../errors.js';
import type { Actor } from '../principal.js';
import { checkOneOf, checkText, checkUuid, problems } from '../values.js';
import { open } from '../visibility.js';
import { streamIdOf } from '../streams.js';

export const ORGANISATION_KINDS = [
  'international-court',
  'un-mechanism',
  'international-organisation',
  'civil-society',
  'other',
] as const;
export type OrganisationKind = (typeof ORGANISATION_KINDS)[number];

export const liaisonOrganisationStreamId = (id: string) => streamIdOf('liaison-organisation', id);

interface Details {
  name: string;
  acronym: string;
  kind: OrganisationKind;
}

export type LiaisonOrganisationEvent =
  | DomainEvent<'LiaisonOrganisationRegistered', { organisationId: string } & Details>
  | DomainEvent<'LiaisonOrganisationDetailsChanged', { changes: Partial<Details> }>
  // Open; its reason may name facts the organisation itself should not read from the feed: a closed field.
  | DomainEvent<'LiaisonOrganisationSuspended', { reason: string }>
  | DomainEvent<'LiaisonOrganisationReinstated', Record<string, never>>;

type Base = { actor: Actor; at: string; organisationId: string };
export type LiaisonOrganisationCommand =
  | (Base & { type: 'RegisterLiaisonOrganisation' } & Details)
  | (Base & { type: 'ChangeLiaisonOrganisationDetails'; changes: Partial<Details> })
  | (Base & { type: 'SuspendLiaisonOrganisation'; reason: string })
  | (Base & { type: 'ReinstateLiaisonOrganisation' });

export type LiaisonOrganisationState =
  { registered: false } | ({ registered: true; organisationId: string; suspended: boolean } & Details);

function checkDetails(details: Partial<Details>, all: boolean) {
  return problems({
    name: all || details.name !== undefined ? checkText(details.name, 200) : undefined,
    acronym: all || details.acronym !== undefined ? checkText(details.acronym, 30) : undefined,
    kind: all || details.kind !== undefined ? checkOneOf(details.kind, ORGANISATION_KINDS) : undefined,
  });
}

function decide(
  command: LiaisonOrganisationCommand,
  state: LiaisonOrganisationState,
): readonly LiaisonOrganisationEvent[] | DomainError {
  if (command.actor.role !== 'secretariat') {
    return forbidden(
      'liaison-organisation/secretariat-only',
      'only the secretariat maintains liaison organisations',
    );
  }
  if (command.type === 'RegisterLiaisonOrganisation') {
    const bad = problems({
      organisationId: checkUuid(command.organisationId),
      ...checkDetails(command, true),
    });
    if (bad) return invalid(bad);
    if (state.registered) {
      return conflict(
        'liaison-organisation/already-registered',
        `organisation ${command.organisationId} exists`,
      );
    }
    const { organisationId, name, acronym, kind } = command;
    return [
      {
        type: 'LiaisonOrganisationRegistered',
        data: { organisationId, name, acronym, kind },
        visibility: open,
      },
    ];
  }
  if (!state.registered) {
    return notFound(
      'liaison-organisation/not-found',
      `no liaison organisation ${command.organisationId}; register it first`,
    );
  }
  switch (command.type) {
    case 'ChangeLiaisonOrganisationDetails': {
      const bad = checkDetails(command.changes, false);
      if (bad) return invalid(bad);
      const changes = Object.fromEntries(
        Object.entries(command.changes).filter(([key, value]) => value !== state[key as keyof Details]),
      ) as Partial<Details>;
      if (Object.keys(changes).length === 0) return [];
      return [{ type: 'LiaisonOrganisationDetailsChanged', data: { changes }, visibility: open }];
    }
    case 'SuspendLiaisonOrganisation': {
      const bad = problems({ reason: checkText(command.reason, 2_000) });
      if (bad) return invalid(bad);
      if (state.suspended)
        return ruleViolated('liaison-organisation/suspended', `${state.acronym} is already suspended`);
      // That it is suspended is open, as the directory lists it and its reinstatement is open; why is closed
      // (closedFieldsOfOpenEvents), as a contact point's retirement and its reason.
      return [{ type: 'LiaisonOrganisationSuspended', data: { reason: command.reason }, visibility: open }];
    }
    case 'ReinstateLiaisonOrganisation':
      if (!state.suspended) {
        return ruleViolated('liaison-organisation/not-suspended', `${state.acronym} is not suspended`);
      }
      return [{ type: 'LiaisonOrganisationReinstated', data: {}, visibility: open }];
    default:
      return exhaustive(command);
  }
}

function evolve(state: LiaisonOrganisationState, event: LiaisonOrganisationEvent): LiaisonOrganisationState {
  switch (event.type) {
    case 'LiaisonOrganisationRegistered':
      return { registered: true, suspended: false, ...event.data };
    case 'LiaisonOrganisationDetailsChanged':
      return state.registered ? { ...state, ...event.data.changes } : state;
    case 'LiaisonOrganisationSuspended':
      return state.registered ? { ...state, suspended: true } : state;
    case 'LiaisonOrganisationReinstated':
      return state.registered ? { ...state, suspended: false } : state;
    default:
      return unknownEvent(event, state);
  }
}

export const liaisonOrganisationDecider: Decider<
  LiaisonOrganisationCommand,
  LiaisonOrganisationState,
  LiaisonOrganisationEvent
> = {
  initialState: { registered: false },
  evolve,
  decide,
  opensStream: (command) => command.type === 'RegisterLiaisonOrganisation',
};
