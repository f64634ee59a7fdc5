import { PGlite } from '@electric-sql/pglite';

import { PGliteDriver, SqlEventStore } from '../src/index.js';
import { eventStoreContract } from './contract.js';
import { sqlTampering } from './sql-tampering.js';

// Creating a PGlite database runs initdb (about 3 s); loading a dump of a migrated one is much faster,
// so each test still gets a database of its own.
let template: Blob;
beforeAll(async () => {
  const db = await PGlite.create();
  await SqlEventStore.open(new PGliteDriver(db));
  template = await db.dumpDataDir('none');
  await db.close();
});

eventStoreContract('PGlite', {
  withoutHeldAppend: 'PGlite serves one connection: no transaction can stay open beside another append',
  open: async (options) => {
    const db = await PGlite.create({ loadDataDir: template });
    const store = await SqlEventStore.open(new PGliteDriver(db), options);
    return {
      store,
      tampering: sqlTampering(async (text, params) => (await db.query(text, params)).rows),
    };
  },
});
