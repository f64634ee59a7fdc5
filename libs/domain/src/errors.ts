/**
 * The five coded domain errors. `code` is the family the gateway and the NATS layer map (once each) to
 * HTTP statuses and RPC errors; `reason` is a stable, more precise code for clients; `message` says what
 * went wrong and what to do.
 */
export type DomainErrorCode = 'NotFound' | 'Forbidden' | 'Conflict' | 'RuleViolated' | 'Invalid';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    readonly reason: string,
    message: string,
    /** For Invalid: the message for each field at fault. */
    readonly fields: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (reason: string, message: string) => new DomainError('NotFound', reason, message);
export const forbidden = (reason: string, message: string) => new DomainError('Forbidden', reason, message);
export const conflict = (reason: string, message: string) => new DomainError('Conflict', reason, message);
export const ruleViolated = (reason: string, message: string) =>
  new DomainError('RuleViolated', reason, message);

/** An Invalid error naming every field at fault. */
export function invalid(fields: Record<string, string>): DomainError {
  const list = Object.entries(fields).map(([field, problem]) => `${field}: ${problem}`);
  return new DomainError('Invalid', 'invalid-input', list.join('; '), fields);
}
