import { EventStoreDbEventStore } from '../src/index.js';
import { eventStoreContract } from './contract.js';

// No EventStoreDB server can be installed on the machines this project is built on; the suite runs
// wherever EVENTSTOREDB_URL points at one (for example esdb://localhost:2113?tls=false).
const url = process.env.EVENTSTOREDB_URL;

if (url) {
  eventStoreContract('EventStoreDB', {
    withoutHeldAppend: 'EventStoreDB has no client-held transactions',
    withoutTampering: 'EventStoreDB is append-only: stored events cannot be rewritten from a client',
    open: async (options) => ({ store: EventStoreDbEventStore.open({ connectionString: url, ...options }) }),
  });
} else {
  describe('EventStore contract: EventStoreDB', () => {
    it.skip('skipped: EVENTSTOREDB_URL is not set (point it at an EventStoreDB or KurrentDB server to run this suite)', () => {});
  });
}
