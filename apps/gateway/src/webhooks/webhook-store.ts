import type { Actor } from '@focal/domain';
import type { SqlDriver, SqlQueryable } from '@focal/events';

export interface WebhookRow {
  id: string;
  owner: string;
  actor: Actor;
  url: string;
  types: string[] | null;
  secret: string;
  status: 'active' | 'paused';
  paused_reason: string | null;
  /** Why deliveries wait (the owner is not in good standing now); they go on by themselves when it is. */
  held_reason: string | null;
  cursor: string | null;
  failures: number;
  last_error: string | null;
  next_attempt_at: Date;
  created_at: Date;
}

/** An arbitrary constant: the advisory lock under which the webhook table is created. */
const SET_UP_LOCK = 7_404_517_733;

/** Webhook subscriptions and their delivery state, in the gateway's database: a restart resumes from here. */
export class WebhookStore {
  constructor(private readonly sql: SqlDriver) {}

  async setUp(): Promise<void> {
    await this.sql.transaction(async (tx: SqlQueryable) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [SET_UP_LOCK]);
      await tx.exec(`
        CREATE TABLE IF NOT EXISTS focal_webhooks (
          id uuid PRIMARY KEY, owner text NOT NULL, actor jsonb NOT NULL, url text NOT NULL, types text[],
          secret text NOT NULL, status text NOT NULL, paused_reason text, cursor text,
          failures integer NOT NULL DEFAULT 0, last_error text, next_attempt_at timestamptz NOT NULL DEFAULT now(),
          lease_until timestamptz, created_at timestamptz NOT NULL DEFAULT now());
        CREATE INDEX IF NOT EXISTS focal_webhooks_owner ON focal_webhooks (owner);
        ALTER TABLE focal_webhooks ADD COLUMN IF NOT EXISTS held_reason text;`);
      // Subscriptions are owned by the whole principal (role, state or organisation, sub), no longer by the
      // sub alone; and a suspension now holds deliveries instead of pausing them for good.
      await tx.exec(`
        UPDATE focal_webhooks
           SET owner = (actor->>'role') || '/' || coalesce(actor->>'state', actor->>'organisation', '-') || '/' ||
                       (actor->>'principal')
         WHERE owner = actor->>'principal';
        UPDATE focal_webhooks SET status = 'active', paused_reason = NULL, next_attempt_at = now()
         WHERE status = 'paused' AND paused_reason = 'its liaison organisation is suspended';`);
    });
  }

  async create(
    row: Pick<WebhookRow, 'id' | 'owner' | 'actor' | 'url' | 'types' | 'secret' | 'cursor'>,
  ): Promise<WebhookRow> {
    const [created] = await this.sql.query<WebhookRow>(
      `INSERT INTO focal_webhooks (id, owner, actor, url, types, secret, status, cursor)
       VALUES ($1, $2, $3, $4, $5, $6, 'active', $7) RETURNING *`,
      [row.id, row.owner, JSON.stringify(row.actor), row.url, row.types, row.secret, row.cursor],
    );
    return created!;
  }

  list(owner: string): Promise<WebhookRow[]> {
    return this.sql.query<WebhookRow>(
      'SELECT * FROM focal_webhooks WHERE owner = $1 ORDER BY created_at, id',
      [owner],
    );
  }

  async find(owner: string, id: string): Promise<WebhookRow | undefined> {
    return (
      await this.sql.query<WebhookRow>('SELECT * FROM focal_webhooks WHERE owner = $1 AND id = $2', [
        owner,
        id,
      ])
    )[0];
  }

  async remove(owner: string, id: string): Promise<boolean> {
    return (
      (
        await this.sql.query('DELETE FROM focal_webhooks WHERE owner = $1 AND id = $2 RETURNING id', [
          owner,
          id,
        ])
      ).length > 0
    );
  }

  /** Takes up to `limit` due subscriptions for `leaseMs`, so that two gateways never deliver one at once. */
  claim(limit: number, leaseMs: number): Promise<WebhookRow[]> {
    return this.sql.query<WebhookRow>(
      `UPDATE focal_webhooks SET lease_until = now() + make_interval(secs => $2::double precision / 1000)
        WHERE id IN (SELECT id FROM focal_webhooks
                      WHERE status = 'active' AND next_attempt_at <= now()
                        AND (lease_until IS NULL OR lease_until < now())
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [limit, leaseMs],
    );
  }

  async delivered(id: string, cursor: string): Promise<void> {
    await this.sql.query(
      `UPDATE focal_webhooks SET cursor = $2, failures = 0, last_error = NULL, held_reason = NULL,
              next_attempt_at = now() WHERE id = $1`,
      [id, cursor],
    );
  }

  async failed(
    id: string,
    failures: number,
    error: string,
    retryInMs: number,
    pause?: string,
  ): Promise<void> {
    await this.sql.query(
      `UPDATE focal_webhooks SET failures = $2, last_error = $3,
              next_attempt_at = now() + make_interval(secs => $4::double precision / 1000),
              status = CASE WHEN $5::text IS NULL THEN status ELSE 'paused' END,
              paused_reason = coalesce($5::text, paused_reason), lease_until = NULL
        WHERE id = $1`,
      [id, failures, error, retryInMs, pause ?? null],
    );
  }

  /** Holds deliveries while the owner is not in good standing: looked at again after `retryInMs`. */
  async hold(id: string, reason: string, retryInMs: number): Promise<void> {
    await this.sql.query(
      `UPDATE focal_webhooks SET held_reason = $2, lease_until = NULL,
              next_attempt_at = now() + make_interval(secs => $3::double precision / 1000)
        WHERE id = $1`,
      [id, reason, retryInMs],
    );
  }

  /** A subscription paused after failures delivers again, from where it stopped. */
  async resume(owner: string, id: string): Promise<WebhookRow | undefined> {
    return (
      await this.sql.query<WebhookRow>(
        `UPDATE focal_webhooks SET status = 'active', paused_reason = NULL, failures = 0, last_error = NULL,
                next_attempt_at = now()
          WHERE owner = $1 AND id = $2 RETURNING *`,
        [owner, id],
      )
    )[0];
  }

  async release(id: string): Promise<void> {
    await this.sql.query('UPDATE focal_webhooks SET lease_until = NULL, held_reason = NULL WHERE id = $1', [
      id,
    ]);
  }
}
