import { exhaustive, unknownEvent, type Decider, type DomainEvent } from '../decider.js';
import { conflict, forbidden, invalid, notFound, ruleViolated, type DomainError } from '../errors.js';
import { isStateRole, type Actor } from '../principal.js';
import {
  checkCountry,
  checkEmail,
  checkInstant,
  checkLanguage,
  checkOneOf,
  checkPhone,
  checkText,
  checkUuid,
  dateOf,
  problems,
} from '../values.js';
import { closed, contactPointFieldVisibility, open, type ContactPointField } from '../visibility.js';
import { streamIdOf } from '../streams.js';

export const CONTACT_POINT_ROLES = [
  'prosecutor',
  'investigator',
  'mla-officer',
  'judge',
  'analyst',
  'other',
] as const;
export type ContactPointRole = (typeof CONTACT_POINT_ROLES)[number];

export const contactPointStreamId = (id: string) => streamIdOf('contact-point', id);

/**
 * The personal fields, kept apart in every event so that an adapter can encrypt them with a key of this
 * contact point's own, and erase them by destroying the key.
 */
export interface PersonalData {
  fullName: string;
  email: string;
  phone?: string;
  notes?: string;
}

/** The fields that describe the post rather than the person. */
export interface PostDetails {
  role: ContactPointRole;
  authority: string;
  languages: string[];
  expertise: string[];
}

/** Whose contact point this is: a state's, or a liaison organisation's. */
export type Holder = { state: string; organisation?: never } | { organisation: string; state?: never };

export type ContactPointEvent =
  | DomainEvent<
      'ContactPointRegistered',
      {
        contactPointId: string;
        /** YYYY-MM-DD: counts as the first confirmation for the stale-entry report. */
        registeredOn: string;
        personal: PersonalData;
        primary: boolean;
        /** The state's primary until now, no longer primary. */
        replacesPrimary?: string;
      } & Holder &
        PostDetails
    >
  | DomainEvent<
      'ContactPointDetailsChanged',
      { changes: Partial<PostDetails>; personalChanges: Partial<PersonalData> }
    >
  | DomainEvent<'ContactPointDesignatedPrimary', { state: string; replacesPrimary?: string }>
  | DomainEvent<'ContactPointRetired', { reason: string; wasPrimary: boolean }>
  | DomainEvent<'ContactPointReinstated', Record<string, never>>
  | DomainEvent<'ContactPointConfirmed', { on: string }>
  | DomainEvent<'ContactPointPersonalDataErased', { on: string }>;

/** Facts from other aggregates, prepared by the caller. */
export interface PrimaryFacts {
  /** The state's primary contact point now, if any. */
  currentPrimary?: string;
}

type Base = { actor: Actor; at: string; contactPointId: string };
export type ContactPointCommand =
  | (Base & {
      type: 'RegisterContactPoint';
      personal: PersonalData;
      primary: boolean;
      facts: PrimaryFacts;
    } & Holder &
      PostDetails)
  | (Base & {
      type: 'ChangeContactPointDetails';
      changes: Partial<PostDetails>;
      personalChanges: Partial<PersonalData>;
    })
  | (Base & { type: 'DesignatePrimaryContactPoint'; facts: PrimaryFacts })
  | (Base & { type: 'RetireContactPoint'; reason: string })
  | (Base & { type: 'ReinstateContactPoint' })
  | (Base & { type: 'ConfirmContactPoint' })
  | (Base & { type: 'EraseContactPointPersonalData' });

/** What reads back once the key is destroyed: clearly redacted, never the old values. */
export interface ErasedPersonalData {
  erased: true;
  erasedOn: string;
}

export type ContactPointState =
  | { registered: false }
  | ({
      registered: true;
      contactPointId: string;
      personal: PersonalData | ErasedPersonalData;
      primary: boolean;
      status: 'active' | 'retired';
      /** For the stale-entry report: the latest confirmation, the registration counting as the first. */
      lastConfirmedOn: string;
      /** The day of the latest ContactPointConfirmed, if any: a second confirmation that day adds nothing. */
      confirmedOn?: string;
    } & Holder &
      PostDetails);

export const isErased = (personal: PersonalData | ErasedPersonalData): personal is ErasedPersonalData =>
  typeof personal === 'object' && personal !== null && 'erased' in personal;

/** Whether an entry last confirmed on `lastConfirmedOn` is 12 months or more unconfirmed on `asOf` (YYYY-MM-DD). */
export function confirmationOverdue(lastConfirmedOn: string, asOf: string): boolean {
  const due = new Date(`${lastConfirmedOn}T00:00:00Z`);
  due.setUTCFullYear(due.getUTCFullYear() + 1);
  return due.toISOString().slice(0, 10) <= asOf;
}

/**
 * An entry not confirmed for 12 months as of `asOf` (YYYY-MM-DD) is stale; retired and erased entries are not
 * reported.
 */
export function isStale(state: ContactPointState, asOf: string): boolean {
  if (!state.registered) return false;
  return isStaleEntry(
    { status: state.status, erased: isErased(state.personal), lastConfirmedOn: state.lastConfirmedOn },
    asOf,
  );
}

/** The same rule over what a read model keeps of an entry. */
export function isStaleEntry(
  entry: { status: 'active' | 'retired' | string; erased: boolean; lastConfirmedOn: string },
  asOf: string,
): boolean {
  return entry.status === 'active' && !entry.erased && confirmationOverdue(entry.lastConfirmedOn, asOf);
}

export function staleContactPoints<S extends ContactPointState>(states: readonly S[], asOf: string): S[] {
  return states.filter((state) => isStale(state, asOf));
}

function checkPersonal(personal: Partial<PersonalData>, all: boolean) {
  return problems({
    fullName: all || personal.fullName !== undefined ? checkText(personal.fullName, 200) : undefined,
    email: all || personal.email !== undefined ? checkEmail(personal.email) : undefined,
    phone: personal.phone !== undefined ? checkPhone(personal.phone) : undefined,
    notes: personal.notes !== undefined ? checkText(personal.notes, 4_000) : undefined,
  });
}

function checkPost(post: Partial<PostDetails>, all: boolean) {
  const languages = post.languages;
  const expertise = post.expertise;
  return problems({
    role: all || post.role !== undefined ? checkOneOf(post.role, CONTACT_POINT_ROLES) : undefined,
    authority: all || post.authority !== undefined ? checkText(post.authority, 300) : undefined,
    languages:
      all || languages !== undefined
        ? !Array.isArray(languages) || languages.length === 0
          ? 'list at least one ISO 639-1 language code'
          : languages.map(checkLanguage).find(Boolean)
        : undefined,
    expertise:
      expertise !== undefined
        ? !Array.isArray(expertise)
          ? 'must be a list of texts'
          : expertise.map((item) => checkText(item, 200)).find(Boolean)
        : undefined,
  });
}

/** Only the secretariat, or a state's own national authorities for that state's contact points. */
function mayMaintain(actor: Actor, holder: Holder): DomainError | undefined {
  if (actor.role === 'secretariat') return undefined;
  if (isStateRole(actor) && holder.state !== undefined) {
    return actor.state === holder.state
      ? undefined
      : forbidden(
          'contact-point/other-state',
          `${actor.state ?? 'your state'} may maintain only its own contact points; this one belongs to ${holder.state}`,
        );
  }
  return forbidden(
    'contact-point/not-maintainer',
    holder.organisation !== undefined
      ? "only the secretariat maintains liaison organisations' contact points"
      : "only the secretariat and the state's own national authorities maintain its contact points",
  );
}

function decide(
  command: ContactPointCommand,
  state: ContactPointState,
): readonly ContactPointEvent[] | DomainError {
  const atProblem = checkInstant(command.at);
  if (atProblem) return invalid({ at: atProblem });
  if (command.type === 'RegisterContactPoint') return register(command, state);
  if (!state.registered) {
    return notFound(
      'contact-point/not-found',
      `no contact point ${command.contactPointId}; register it first`,
    );
  }
  const refused = mayMaintain(command.actor, state);
  if (command.type === 'EraseContactPointPersonalData') {
    if (command.actor.role !== 'secretariat') {
      return forbidden('contact-point/erasure-secretariat-only', 'only the secretariat erases personal data');
    }
  } else if (refused) {
    return refused;
  }
  if (isErased(state.personal)) {
    return ruleViolated(
      'contact-point/erased',
      `the personal data of contact point ${state.contactPointId} was erased on ${state.personal.erasedOn}; ` +
        'the entry can no longer change: register a new contact point instead',
    );
  }
  const frozen =
    state.status === 'retired'
      ? ruleViolated(
          'contact-point/retired',
          `contact point ${state.contactPointId} is retired; reinstate it before changing it`,
        )
      : undefined;
  switch (command.type) {
    case 'ChangeContactPointDetails': {
      if (frozen) return frozen;
      const bad = problems({
        ...checkPost(command.changes ?? {}, false),
        ...checkPersonal(command.personalChanges ?? {}, false),
      });
      if (bad) return invalid(bad);
      const changes = changed(command.changes ?? {}, state);
      const personalChanges = changed(command.personalChanges ?? {}, state.personal);
      if (Object.keys(changes).length === 0 && Object.keys(personalChanges).length === 0) return [];
      // A change of closed fields alone (e-mail, phone, notes) is closed: that it happened says something too.
      const seenByAll =
        Object.keys(changes).length > 0 ||
        Object.keys(personalChanges).some(
          (field) => contactPointFieldVisibility[field as ContactPointField].level === 'open',
        );
      return [
        {
          type: 'ContactPointDetailsChanged',
          data: { changes, personalChanges },
          visibility: seenByAll ? open : closed,
        },
      ];
    }
    case 'DesignatePrimaryContactPoint': {
      if (frozen) return frozen;
      if (state.state === undefined) {
        return ruleViolated(
          'contact-point/primary-per-state',
          'primary contact points are designated per state',
        );
      }
      // The state's primary is a fact across contact points: this one may have been replaced since it was
      // designated, and then it may be designated again.
      if (command.facts.currentPrimary === state.contactPointId) {
        return ruleViolated(
          'contact-point/already-primary',
          `contact point ${state.contactPointId} is already primary`,
        );
      }
      const replaces = command.facts.currentPrimary;
      return [
        {
          type: 'ContactPointDesignatedPrimary',
          data: {
            state: state.state,
            ...(replaces && replaces !== state.contactPointId ? { replacesPrimary: replaces } : {}),
          },
          visibility: open,
        },
      ];
    }
    case 'RetireContactPoint': {
      const bad = problems({ reason: checkText(command.reason, 2_000) });
      if (bad) return invalid(bad);
      if (state.status === 'retired') {
        return ruleViolated(
          'contact-point/retired',
          `contact point ${state.contactPointId} is already retired`,
        );
      }
      // That it retired is part of the directory everyone reads (its status is open, and so is its
      // reinstatement); the reason may concern the person, a closed field (retirementReason) of an open event.
      return [
        {
          type: 'ContactPointRetired',
          data: { reason: command.reason, wasPrimary: state.primary },
          visibility: open,
        },
      ];
    }
    case 'ReinstateContactPoint':
      if (state.status !== 'retired') {
        return ruleViolated(
          'contact-point/not-retired',
          `contact point ${state.contactPointId} is not retired`,
        );
      }
      return [{ type: 'ContactPointReinstated', data: {}, visibility: open }];
    case 'ConfirmContactPoint': {
      if (frozen) return frozen;
      const on = dateOf(command.at);
      // Confirmed already that day: accepted, and nothing new to record.
      if (state.confirmedOn === on) return [];
      return [{ type: 'ContactPointConfirmed', data: { on }, visibility: open }];
    }
    case 'EraseContactPointPersonalData':
      return [{ type: 'ContactPointPersonalDataErased', data: { on: dateOf(command.at) }, visibility: open }];
    default:
      return exhaustive(command);
  }
}

function register(
  command: Extract<ContactPointCommand, { type: 'RegisterContactPoint' }>,
  state: ContactPointState,
): readonly ContactPointEvent[] | DomainError {
  const holderProblem =
    (command.state === undefined) === (command.organisation === undefined)
      ? 'name either the state or the liaison organisation the contact point belongs to, not both'
      : command.state !== undefined
        ? checkCountry(command.state)
        : checkUuid(command.organisation);
  const bad = problems({
    contactPointId: checkUuid(command.contactPointId),
    [command.organisation !== undefined ? 'organisation' : 'state']: holderProblem,
    ...checkPersonal(command.personal ?? {}, true),
    ...checkPost(command, true),
    primary: typeof command.primary === 'boolean' ? undefined : 'must be true or false',
  });
  if (bad) return invalid(bad);
  const holder: Holder =
    command.state !== undefined ? { state: command.state } : { organisation: command.organisation! };
  const refused = mayMaintain(command.actor, holder);
  if (refused) return refused;
  if (state.registered) {
    return conflict(
      'contact-point/already-registered',
      `contact point ${command.contactPointId} already exists`,
    );
  }
  if (command.primary && holder.state === undefined) {
    return ruleViolated('contact-point/primary-per-state', 'primary contact points are designated per state');
  }
  const { contactPointId, personal, role, authority, languages, expertise, primary } = command;
  const replaces = primary ? command.facts.currentPrimary : undefined;
  return [
    {
      type: 'ContactPointRegistered',
      data: {
        contactPointId,
        registeredOn: dateOf(command.at),
        ...holder,
        personal,
        role,
        authority,
        languages,
        expertise: expertise ?? [],
        primary,
        ...(replaces ? { replacesPrimary: replaces } : {}),
      },
      visibility: open,
    },
  ];
}

/** The entries of `changes` that differ from `current`. */
function changed<T extends object>(changes: Partial<T>, current: T | ErasedPersonalData): Partial<T> {
  return Object.fromEntries(
    Object.entries(changes).filter(
      ([key, value]) => JSON.stringify(value) !== JSON.stringify((current as Record<string, unknown>)[key]),
    ),
  ) as Partial<T>;
}

function evolve(state: ContactPointState, event: ContactPointEvent): ContactPointState {
  if (event.type === 'ContactPointRegistered') {
    const { registeredOn, replacesPrimary: _replaces, ...data } = event.data;
    return { registered: true, status: 'active', lastConfirmedOn: registeredOn, ...data };
  }
  if (!state.registered) return state;
  switch (event.type) {
    case 'ContactPointDetailsChanged':
      return {
        ...state,
        ...event.data.changes,
        personal: isErased(state.personal)
          ? state.personal
          : { ...state.personal, ...event.data.personalChanges },
      };
    case 'ContactPointDesignatedPrimary':
      return { ...state, primary: true };
    case 'ContactPointRetired':
      return { ...state, status: 'retired', primary: false };
    case 'ContactPointReinstated':
      return { ...state, status: 'active' };
    case 'ContactPointConfirmed':
      return { ...state, lastConfirmedOn: event.data.on, confirmedOn: event.data.on };
    case 'ContactPointPersonalDataErased':
      return { ...state, personal: { erased: true, erasedOn: event.data.on } };
    default:
      return unknownEvent(event, state);
  }
}

export const contactPointDecider: Decider<ContactPointCommand, ContactPointState, ContactPointEvent> = {
  initialState: { registered: false },
  evolve,
  decide,
  opensStream: (command) => command.type === 'RegisterContactPoint',
};

/** Who is each state's primary, and which state each contact point serves: what `evolvePrimaries` keeps. */
export interface PrimaryFold {
  primaries: Record<string, string>;
  stateOf: Record<string, string>;
}

export const initialPrimaries = (): PrimaryFold => ({ primaries: {}, stateOf: {} });

/**
 * One contact-point event folded into the primaries, in log order: the rule "at most one primary per state"
 * across aggregates. Mutates and returns `fold` (it is replayed over whole logs).
 */
export function evolvePrimaries(
  fold: PrimaryFold,
  contactPointId: string,
  event: ContactPointEvent,
): PrimaryFold {
  switch (event.type) {
    case 'ContactPointRegistered':
      if (event.data.state !== undefined) fold.stateOf[contactPointId] = event.data.state;
      if (event.data.primary && event.data.state !== undefined)
        fold.primaries[event.data.state] = contactPointId;
      break;
    case 'ContactPointDesignatedPrimary':
      fold.primaries[event.data.state] = contactPointId;
      break;
    case 'ContactPointRetired': {
      const state = fold.stateOf[contactPointId];
      if (state !== undefined && fold.primaries[state] === contactPointId) delete fold.primaries[state];
      break;
    }
    default:
      break;
  }
  return fold;
}

/**
 * The primary contact point of each state, from contact-point events in log order, for projections and for
 * the `currentPrimary` fact.
 */
export function primaryByState(
  events: Iterable<{ contactPointId: string; event: ContactPointEvent }>,
): Map<string, string> {
  const fold = initialPrimaries();
  for (const { contactPointId, event } of events) evolvePrimaries(fold, contactPointId, event);
  return new Map(Object.entries(fold.primaries));
}
