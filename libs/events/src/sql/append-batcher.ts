import type { ValidatedEvent } from '../append-validation.js';
import type { ExpectedVersion } from '../errors.js';
import { MAX_EVENTS_PER_APPEND } from '../append-validation.js';
import type { PostgresError, SqlDriver } from './driver.js';

export interface PendingAppend {
  streamId: string;
  expected: ExpectedVersion;
  events: ValidatedEvent[];
}

export interface AppendRow {
  next_version: string;
  first_position: string;
  last_position: string;
}

interface Queued extends PendingAppend {
  resolve(row: AppendRow): void;
  reject(error: PostgresError): void;
}

const SINGLE = `SELECT next_version::text AS next_version, first_position::text AS first_position,
                       last_position::text AS last_position
                  FROM focal_append($1, $2, $3::uuid[], $4::jsonb)`;
const BATCH = `SELECT next_version::text AS next_version, first_position::text AS first_position,
                      last_position::text AS last_position, error_code, error_message, error_detail, error_constraint
                 FROM focal_append_batch($1::jsonb)`;

/**
 * Client-side group commit. At most `maxInFlight` transactions append at a time; appends that arrive
 * meanwhile wait and then go together, to any streams, in one transaction (`focal_append_batch`): one round
 * trip and one WAL flush for all of them, each still succeeding or failing on its own. A lone append goes
 * straight through `focal_append`, so an idle store adds no latency.
 */
export class AppendBatcher {
  private readonly queue: Queued[] = [];
  private inFlight = 0;

  constructor(
    private readonly driver: SqlDriver,
    private readonly maxInFlight: number,
  ) {}

  submit(append: PendingAppend): Promise<AppendRow> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...append, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch: Queued[] = [];
      let events = 0;
      // Positions leave 16 bits for the events of one transaction.
      while (this.queue.length > 0 && events + this.queue[0]!.events.length <= MAX_EVENTS_PER_APPEND) {
        const next = this.queue.shift()!;
        events += next.events.length;
        batch.push(next);
      }
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        // Let the callers just answered append again before the next batch is cut, so that it holds them.
        setImmediate(() => this.pump());
      });
    }
  }

  private async run(batch: Queued[]): Promise<void> {
    try {
      if (batch.length === 1) {
        const [append] = batch as [Queued];
        const [row] = await this.driver.query<AppendRow>(SINGLE, [
          append.streamId,
          String(append.expected),
          append.events.map((event) => event.eventId),
          JSON.stringify(append.events),
        ]);
        append.resolve(row!);
        return;
      }
      const rows = await this.driver.query<
        AppendRow & { error_code: string | null } & Record<string, string | null>
      >(BATCH, [
        JSON.stringify(
          batch.map((append) => ({
            streamId: append.streamId,
            expected: String(append.expected),
            eventIds: append.events.map((event) => event.eventId),
            events: append.events,
          })),
        ),
      ]);
      batch.forEach((append, index) => {
        const row = rows[index]!;
        if (row.error_code === null) append.resolve(row);
        else {
          // The same shape as an error the driver raises for a lone append.
          append.reject(
            Object.assign(new Error(row.error_message ?? ''), {
              code: row.error_code,
              detail: row.error_detail ?? undefined,
              constraint: row.error_constraint ?? undefined,
            }),
          );
        }
      });
    } catch (error) {
      // The transaction did not commit: none of the batch was written.
      for (const append of batch) append.reject(error as PostgresError);
    }
  }
}
