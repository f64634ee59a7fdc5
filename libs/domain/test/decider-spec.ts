import { DomainError, fold, type Decider, type DomainEvent } from '../src/index.js';

/** given(events) / when(command) / then(events | error), in the manner of Emmett's DeciderSpecification. */
export function specify<Command, State, Event extends DomainEvent>(decider: Decider<Command, State, Event>) {
  return {
    given: (events: readonly Event[]) => ({
      when: (command: Command) => {
        const result = decider.decide(command, fold(decider, events));
        return {
          then(expected: readonly Event[]): void {
            if (result instanceof DomainError)
              throw new Error(`expected events, got ${result.code}: ${result.message}`);
            expect(result).toEqual(expected);
          },
          thenError(code: DomainError['code'], reason: string, message?: RegExp): void {
            expect(result).toBeInstanceOf(DomainError);
            const error = result as DomainError;
            expect({ code: error.code, reason: error.reason }).toEqual({ code, reason });
            if (message) expect(error.message).toMatch(message);
          },
          /** The Invalid error's message per field. */
          thenInvalid(fields: Record<string, string | RegExp>): void {
            expect(result).toBeInstanceOf(DomainError);
            const error = result as DomainError;
            expect(error.code).toBe('Invalid');
            expect(Object.keys(error.fields).sort()).toEqual(Object.keys(fields).sort());
            for (const [field, message] of Object.entries(fields))
              expect(error.fields[field]).toMatch(message);
          },
          get result() {
            return result;
          },
        };
      },
    }),
  };
}

export const secretariat = { principal: 'sec-1', role: 'secretariat' } as const;
export const auditor = { principal: 'dpo', role: 'auditor' } as const;
export const memberState = (state: string) =>
  ({ principal: `ncp-${state}`, role: 'member-state', state }) as const;
export const observerState = (state: string) =>
  ({ principal: `ncp-${state}`, role: 'observer-state', state }) as const;
export const guestState = (state: string) =>
  ({ principal: `delegation-${state}`, role: 'guest-state', state }) as const;
export const organisation = (id: string) =>
  ({ principal: `org-${id}`, role: 'liaison-organisation', organisation: id }) as const;

export const NOW = '2026-11-22T10:00:00.000Z';
export const ICC = '0b5e3c4e-4e0f-4b47-9a43-6f8f6c5b2a11';
export const IRMCT = '1c6f4d5f-5f10-4c58-8b54-7a9f7d6c3b22';
