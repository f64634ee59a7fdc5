import { getEventListeners } from 'node:events';

import { PGliteDriver, SqlEventStore, SqlKeyStore } from '@focal/events';

import { testKeyring } from '../../../test/support/secrets.js';
import { DirectorySnapshots } from '../src/directory-snapshots.js';

describe('DirectorySnapshots following the log', () => {
  it('polls for as long as the gateway runs without piling listeners onto its stop signal', async () => {
    const sql = await PGliteDriver.open();
    const store = await SqlEventStore.open(sql, { closeDriver: false });
    const keys = await SqlKeyStore.open(sql, testKeyring);
    const snapshots = new DirectorySnapshots(store, sql, keys, { every: 300, pollMs: 1 });
    await snapshots.setUp();
    // Each poll used to leave an 'abort' listener behind: the eleventh made Node warn (MaxListenersExceeded).
    // Jest's sandbox does not pass that warning to the test's `process`, so count the listeners themselves.
    const stopSignal = (snapshots as unknown as { stopping: AbortController }).stopping.signal;
    let polls = 0;
    // Following the log, the snapshots read pages that say how far they scanned.
    const readAllPage = store.readAllPage.bind(store);
    store.readAllPage = (options) => (polls++, readAllPage(options));
    snapshots.start();
    try {
      for (let waited = 0; polls < 15 && waited < 600; waited++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(polls).toBeGreaterThanOrEqual(15);
      expect(getEventListeners(stopSignal, 'abort').length).toBeLessThanOrEqual(1);
    } finally {
      await snapshots.stop();
      await store.close();
      await sql.close();
    }
  });
});
