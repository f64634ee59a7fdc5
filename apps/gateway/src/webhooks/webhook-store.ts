import type { Actor } from '@focal/domain';
import type { SqlDriver, SqlQueryable } from '@focal/events';

export interface WebhookRow {
  id: string;
  owner: string;
  actor: Actor;
  url: string;
  types: string[] | null;
  secret: string;
  /** The secret before the last rotation, signed with too until `previous_secret_until`. */
  previous_secret: string | null;
  previous_secret_until: Date | null;
  status: 'active' | 'paused';
  paused_reason: string | null;
  /** Why deliveries wait (the owner is not in good standing now); they go on by themselves when it is. */
  held_reason: string | null;
  cursor: string | null;
  /** The position of the last event delivered: where `cursor` also counts the events skipped as not the owner's. */
  delivered_up_to: string | null;
  /**
   * The log's head when the subscription was last found with nothing to deliver: it is not claimed again
   * until the head moves (or it is held, fails or is resumed), so that caught-up subscriptions take no claim.
   */
  idle_at: string | null;
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
        ALTER TABLE focal_webhooks ADD COLUMN IF NOT EXISTS held_reason text;
        ALTER TABLE focal_webhooks ADD COLUMN IF NOT EXISTS previous_secret text;
        ALTER TABLE focal_webhooks ADD COLUMN IF NOT EXISTS previous_secret_until timestamptz;
        ALTER TABLE focal_webhooks ADD COLUMN IF NOT EXISTS idle_at text;
        ALTER TABLE focal_webhooks ADD COLUMN IF NOT EXISTS delivered_up_to text;`);
      // Secrets from before Standard Webhooks were 64 hex characters used as the HMAC key as they stand: the
      // same key, written the standard way (whsec_ and its base64), so existing receivers only re-encode it.
      await tx.exec(`
        UPDATE focal_webhooks
           SET secret = 'whsec_' || replace(encode(convert_to(secret, 'UTF8'), 'base64'), chr(10), '')
         WHERE left(secret, 6) <> 'whsec_';`);
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

  /**
   * The secrets to sign a delivery with now: the current one, and the previous one while its overlap lasts
   * (judged by the database's clock, as the rotation was). Read at each delivery, so a rotation counts at once.
   */
  async signingSecrets(id: string): Promise<string[]> {
    const [row] = await this.sql.query<{ secret: string; previous: string | null }>(
      `SELECT secret, CASE WHEN previous_secret_until > now() THEN previous_secret END AS previous
         FROM focal_webhooks WHERE id = $1`,
      [id],
    );
    return row ? [row.secret, ...(row.previous ? [row.previous] : [])] : [];
  }

  /**
   * Replaces the secret; the one it replaces is still signed with for `overlapSeconds`, so receivers can move
   * over without losing a delivery. Only one previous secret is kept: rotating again ends the older one's overlap.
   */
  async rotateSecret(
    owner: string,
    id: string,
    secret: string,
    overlapSeconds: number,
  ): Promise<WebhookRow | undefined> {
    return (
      await this.sql.query<WebhookRow>(
        `UPDATE focal_webhooks SET previous_secret = secret, secret = $3,
                previous_secret_until = now() + make_interval(secs => $4::double precision)
          WHERE owner = $1 AND id = $2 RETURNING *`,
        [owner, id, secret, overlapSeconds],
      )
    )[0];
  }

  /**
   * Takes up to `limit` due subscriptions for `leaseMs`, so that two gateways never deliver one at once: those
   * due longest first, leaving out those idle at `head` (the log's head now; '' for an empty log).
   */
  claim(limit: number, leaseMs: number, head: string): Promise<WebhookRow[]> {
    return this.sql.query<WebhookRow>(
      `UPDATE focal_webhooks SET lease_until = now() + make_interval(secs => $2::double precision / 1000)
        WHERE id IN (SELECT id FROM focal_webhooks
                      WHERE status = 'active' AND next_attempt_at <= now()
                        AND (lease_until IS NULL OR lease_until < now())
                        AND (idle_at IS NULL OR idle_at <> $3)
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [limit, leaseMs, head],
    );
  }

  /** The subscription has dealt with the event at `cursor`: delivered it (`sent`), or skipped it as not its owner's. */
  async delivered(id: string, cursor: string, sent: boolean): Promise<void> {
    await this.sql.query(
      `UPDATE focal_webhooks SET cursor = $2, failures = 0, last_error = NULL, held_reason = NULL,
              delivered_up_to = CASE WHEN $3 THEN $2 ELSE delivered_up_to END, next_attempt_at = now()
        WHERE id = $1`,
      [id, cursor, sent],
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
              paused_reason = coalesce($5::text, paused_reason), lease_until = NULL, idle_at = NULL
        WHERE id = $1`,
      [id, failures, error, retryInMs, pause ?? null],
    );
  }

  /** Holds deliveries while the owner is not in good standing: looked at again after `retryInMs`. */
  async hold(id: string, reason: string, retryInMs: number): Promise<void> {
    await this.sql.query(
      `UPDATE focal_webhooks SET held_reason = $2, lease_until = NULL, idle_at = NULL,
              next_attempt_at = now() + make_interval(secs => $3::double precision / 1000)
        WHERE id = $1`,
      [id, reason, retryInMs],
    );
  }

  /** Hands a subscription back to be served again after `retryInMs`, from where it stopped. */
  async retryLater(id: string, retryInMs: number): Promise<void> {
    await this.sql.query(
      `UPDATE focal_webhooks SET lease_until = NULL, idle_at = NULL,
              next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
        WHERE id = $1`,
      [id, retryInMs],
    );
  }

  /** A subscription paused after failures delivers again, from where it stopped; undefined if it is not paused. */
  async resume(owner: string, id: string): Promise<WebhookRow | undefined> {
    return (
      await this.sql.query<WebhookRow>(
        `UPDATE focal_webhooks SET status = 'active', paused_reason = NULL, failures = 0, last_error = NULL,
                idle_at = NULL, next_attempt_at = now()
          WHERE owner = $1 AND id = $2 AND status = 'paused' RETURNING *`,
        [owner, id],
      )
    )[0];
  }

  /**
   * Hands a subscription back, behind those due before it: idle at `idleAt` (the head it was claimed at) when
   * it had nothing left to deliver, or due again at once when it stopped with more to do.
   */
  async release(id: string, idleAt: string | null): Promise<void> {
    await this.sql.query(
      `UPDATE focal_webhooks SET lease_until = NULL, held_reason = NULL, idle_at = $2, next_attempt_at = now()
        WHERE id = $1`,
      [id, idleAt],
    );
  }
}
