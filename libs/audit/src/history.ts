import {
  contactPointDecider,
  fold,
  liaisonOrganisationDecider,
  meetingRequestDecider,
  plenaryMeetingDecider,
  stateDecider,
  threadDecider,
  type Decider,
  type DomainEvent,
} from '@focal/domain';
import type { RecordedEvent } from '@focal/events';

/** The decider that folds each stream category, to show what each change did to the entity. */
const DECIDERS: [string, Pick<Decider<unknown, unknown, DomainEvent>, 'initialState' | 'evolve'>][] = [
  ['contact-point-', contactPointDecider as never],
  ['liaison-organisation-', liaisonOrganisationDecider as never],
  ['meeting-request-', meetingRequestDecider as never],
  ['thread-', threadDecider as never],
  ['plenary-meeting-', plenaryMeetingDecider as never],
  ['state-', stateDecider as never],
];

export interface FieldChange {
  field: string;
  from?: unknown;
  to?: unknown;
}

/** Field-level differences between two states, by JSON path (`personal.email`, `history.1`). */
export function diff(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => diff(before[key], after[key], path ? `${path}.${key}` : key));
  }
  return [
    {
      field: path || '(entity)',
      ...(before !== undefined ? { from: before } : {}),
      ...(after !== undefined ? { to: after } : {}),
    },
  ];
}

/** One entity's history: each change with who, when, which command, what it said and what changed. */
export function history(events: readonly RecordedEvent[], decoded: readonly DomainEvent[]) {
  const decider = DECIDERS.find(([prefix]) => events[0]?.streamId.startsWith(prefix))?.[1];
  let state = decider?.initialState;
  return events.map((event, index) => {
    const next = decider ? fold({ ...decider, initialState: state }, [decoded[index]!]) : undefined;
    const changes = decider ? diff(state, next) : [];
    state = next;
    return {
      position: event.globalPosition,
      version: event.streamVersion,
      type: event.type,
      recordedAt: event.recordedAt.toISOString(),
      by: event.metadata.actor,
      command: event.metadata.command ?? null,
      correlationId: event.metadata.correlationId,
      // The event's own words too: what the entity keeps does not hold all of them (a suspension's reason).
      data: decoded[index]!.data,
      changes,
    };
  });
}
