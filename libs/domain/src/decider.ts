import type { DomainError } from './errors.js';
import type { Visibility } from './visibility.js';

/** A domain event as a decider emits it: its type, its data, and who may see it. */
export interface DomainEvent<Type extends string = string, Data extends object = object> {
  type: Type;
  data: Data;
  visibility: Visibility;
}

/**
 * An aggregate's rules as three pure functions. `decide` returns the events a command causes, or the
 * DomainError that refuses it; it never throws for a business reason and never does I/O.
 */
export interface Decider<Command, State, Event extends DomainEvent> {
  initialState: State;
  evolve(state: State, event: Event): State;
  decide(command: Command, state: State): readonly Event[] | DomainError;
  /**
   * Whether a command opens its stream (a registration under an id minted for it): it is decided on the
   * initial state without reading the stream first, and the store's expected version (no stream yet) proves
   * that it was new. Only a hint for the handler: answering true for a stream that exists costs a failed append.
   */
  opensStream?(command: Command): boolean;
}

/** Folds a stream's events into its state. */
export function fold<State, Event extends DomainEvent>(
  decider: Pick<Decider<unknown, State, Event>, 'initialState' | 'evolve'>,
  events: readonly Event[],
): State {
  return events.reduce(decider.evolve, decider.initialState);
}

/**
 * For `evolve`: compile-time proof that every event type is handled, and at run time an event of a type this
 * build does not know (written by a newer one) leaves the state as it is.
 */
export function unknownEvent<State>(_event: never, state: State): State {
  return state;
}

/** Compile-time proof that a switch handled every case. */
export function exhaustive(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
