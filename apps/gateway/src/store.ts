/** The event store every reader of the log is given, provided by the composition (gateway-app.ts). */
export const STORE = Symbol('EventStore');
