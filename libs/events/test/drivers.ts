import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.js';
import { PgDriver, PGliteDriver, type SqlDriver } from '../src/index.js';

/** Both drivers, each on a fresh database: PGlite in memory, and a new database on the test server. */
export const drivers: [string, () => Promise<{ driver: SqlDriver; done(): Promise<void> }>][] = [
  [
    'PGlite',
    async () => {
      const driver = await PGliteDriver.open();
      return { driver, done: () => driver.close() };
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const database: TestDatabase = await createTestDatabase('driver');
      const driver = new PgDriver({ connectionString: database.url });
      return {
        driver,
        done: async () => {
          await driver.close();
          await database.drop();
        },
      };
    },
  ],
];

/** `driver` as it is, but keeping the text of every statement that `pattern` matches in `seen`. */
export function countingStatements(
  driver: SqlDriver,
  pattern: RegExp,
): { driver: SqlDriver; seen: string[] } {
  const seen: string[] = [];
  const counting = Object.assign(Object.create(driver) as SqlDriver, {
    query: (text: string, params?: readonly unknown[]) => {
      if (pattern.test(text)) seen.push(text);
      return driver.query(text, params);
    },
  });
  return { driver: counting, seen };
}
