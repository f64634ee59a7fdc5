import type { DomainEvent } from '@focal/domain';

import type { RecordedEvent } from '../envelope.js';

/** A stored event typed by the domain's own union: what a projection folds (personal fields decoded). */
export type RecordedAs<E extends DomainEvent> = E extends DomainEvent
  ? Omit<RecordedEvent, 'type' | 'data' | 'visibility'> & E
  : never;

/**
 * What a projection does with each event type of `E`: a handler, or `'ignored'`, said. A type added to the
 * domain's union that a projection does not say what to do with fails to compile.
 */
export type EventHandlers<E extends DomainEvent, Fold> = {
  [T in E['type']]: 'ignored' | ((event: RecordedAs<Extract<E, { type: T }>>, fold: Fold) => void);
};

/** Hands a stored event to its handler. A type this build does not know (a newer writer's) is passed over. */
export function foldEvent<E extends DomainEvent, Fold>(
  handlers: EventHandlers<E, Fold>,
  event: RecordedEvent,
  fold: Fold,
): void {
  const handler = (handlers as Record<string, unknown>)[event.type];
  if (typeof handler === 'function') (handler as (event: RecordedEvent, fold: Fold) => void)(event, fold);
}
