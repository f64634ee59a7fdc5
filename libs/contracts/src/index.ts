export * from './envelope.js';
export * from './commands.js';
export * from './events.js';
export * from './client.js';
export * from './fields.js';
