// The messaging service's public entry, for the composition root.
export { MessagingModule } from './messaging.module.js';
