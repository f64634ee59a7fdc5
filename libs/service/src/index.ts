export * from './config.js';
export * from './command-host.js';
export * from './logger.js';
export * from './nats-server.js';
export * from './persistence.js';
export * from './service-app.js';
export * from './store-health.js';
export * from './secrets.js';
