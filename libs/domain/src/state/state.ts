import { exhaustive, unknownEvent, type Decider, type DomainEvent } from '../decider.js';
import { conflict, forbidden, invalid, notFound, ruleViolated, type DomainError } from '../errors.js';
import type { Actor } from '../principal.js';
import { checkCountry, checkDate, checkOneOf, checkText, problems } from '../values.js';
import { open } from '../visibility.js';
import { streamIdOf } from '../streams.js';

/** A state's standing in the network; `former` once it has left (as GB left observer status on 2020-01-31). */
export const STATE_STATUSES = ['member', 'observer', 'guest', 'former'] as const;
export type StateStatus = (typeof STATE_STATUSES)[number];

export const stateStreamId = (code: string) => streamIdOf('state', code);

export type StateEvent =
  | DomainEvent<'StateAdmitted', { code: string; name: string; status: StateStatus; effectiveFrom: string }>
  | DomainEvent<
      'StateStatusChanged',
      { code: string; from: StateStatus; to: StateStatus; effectiveFrom: string }
    >;

export type StateCommand =
  | {
      type: 'AdmitState';
      actor: Actor;
      at: string;
      code: string;
      name: string;
      status: StateStatus;
      effectiveFrom: string;
    }
  | {
      type: 'ChangeStateStatus';
      actor: Actor;
      at: string;
      code: string;
      to: StateStatus;
      effectiveFrom: string;
    }
  | {
      /**
       * Admit the state if it is not admitted yet, otherwise change its status: what `PUT /v1/states/{code}`
       * asks. Decided here, on the stream, as one command: a retry of the same request is the same command
       * whatever happened in between, so it gets the original answer instead of becoming a status change.
       */
      type: 'PutState';
      actor: Actor;
      at: string;
      code: string;
      /** Required to admit; ignored for a state already admitted (a state's name does not change here). */
      name?: string;
      status: StateStatus;
      effectiveFrom: string;
    };

/** A status and the date (YYYY-MM-DD) it takes effect. */
export interface StatusEntry {
  status: StateStatus;
  from: string;
}

export type StateState =
  | { admitted: false }
  | {
      admitted: true;
      code: string;
      name: string;
      /** Every status with the date it takes effect, in the order recorded (so by date). */
      history: StatusEntry[];
    };

/**
 * Where a state stands on `date` (YYYY-MM-DD), from its status history in the order recorded: the status in
 * force (the last one recorded to take effect on or before that date; none before its admission takes
 * effect) and the changes recorded to take effect later, which change nothing until their day.
 */
export function standingOn(
  history: readonly StatusEntry[],
  date: string,
): { current?: StatusEntry; pending: StatusEntry[] } {
  let current: StatusEntry | undefined;
  const pending: StatusEntry[] = [];
  for (const entry of history) {
    if (entry.from <= date) current = entry;
    else pending.push(entry);
  }
  return current ? { current, pending } : { pending };
}

/** The state's status on a date (YYYY-MM-DD), or undefined before its admission takes effect. */
export function statusOn(state: StateState, date: string): StateStatus | undefined {
  return state.admitted ? standingOn(state.history, date).current?.status : undefined;
}

/** Since when the state has held its status on `date`. */
export function statusSince(state: StateState, date: string): string | undefined {
  return state.admitted ? standingOn(state.history, date).current?.from : undefined;
}

function decide(command: StateCommand, state: StateState): readonly StateEvent[] | DomainError {
  if (command.actor.role !== 'secretariat') {
    return forbidden('state/secretariat-only', 'only the secretariat admits states or changes their status');
  }
  switch (command.type) {
    case 'AdmitState': {
      const bad = problems({
        code: checkCountry(command.code),
        name: checkText(command.name, 200),
        status: checkOneOf(command.status, ['member', 'observer', 'guest'] as const),
        effectiveFrom: checkDate(command.effectiveFrom),
      });
      if (bad) return invalid(bad);
      if (state.admitted) {
        return conflict(
          'state/already-admitted',
          `${command.code} is already admitted; change its status instead`,
        );
      }
      const { code, name, status, effectiveFrom } = command;
      return [{ type: 'StateAdmitted', data: { code, name, status, effectiveFrom }, visibility: open }];
    }
    case 'ChangeStateStatus': {
      const bad = problems({
        status: checkOneOf(command.to, STATE_STATUSES),
        effectiveFrom: checkDate(command.effectiveFrom),
      });
      if (bad) return invalid(bad);
      if (!state.admitted)
        return notFound('state/not-admitted', `${command.code} is not admitted; admit it first`);
      const latest = state.history[state.history.length - 1]!;
      if (latest.status === command.to) {
        return ruleViolated(
          'state/same-status',
          `${state.code} is already ${command.to} since ${latest.from}`,
        );
      }
      if (command.effectiveFrom < latest.from) {
        return ruleViolated(
          'state/status-before-latest',
          `${state.code} became ${latest.status} on ${latest.from}; a change must take effect on or after that date`,
        );
      }
      return [
        {
          type: 'StateStatusChanged',
          data: {
            code: state.code,
            from: latest.status,
            to: command.to,
            effectiveFrom: command.effectiveFrom,
          },
          visibility: open,
        },
      ];
    }
    case 'PutState': {
      const { actor, at, code, status, effectiveFrom } = command;
      if (state.admitted) {
        return decide({ type: 'ChangeStateStatus', actor, at, code, to: status, effectiveFrom }, state);
      }
      if (command.name === undefined) return invalid({ name: 'required to admit a state' });
      if (status === 'former') return invalid({ status: 'admit as member, observer or guest' });
      return decide(
        { type: 'AdmitState', actor, at, code, name: command.name, status, effectiveFrom },
        state,
      );
    }
    default:
      return exhaustive(command);
  }
}

function evolve(state: StateState, event: StateEvent): StateState {
  switch (event.type) {
    case 'StateAdmitted':
      return {
        admitted: true,
        code: event.data.code,
        name: event.data.name,
        history: [{ status: event.data.status, from: event.data.effectiveFrom }],
      };
    case 'StateStatusChanged':
      return state.admitted
        ? { ...state, history: [...state.history, { status: event.data.to, from: event.data.effectiveFrom }] }
        : state;
    default:
      return unknownEvent(event, state);
  }
}

export const stateDecider: Decider<StateCommand, StateState, StateEvent> = {
  initialState: { admitted: false },
  evolve,
  decide,
};
