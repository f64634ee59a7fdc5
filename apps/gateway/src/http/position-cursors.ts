import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';

import { maySeeEverything, type Actor } from '@focal/domain';
import type { KeyStore, Position } from '@focal/events';

/** The subject in the key store of the secret positions are sealed with: wrapped by the master key like any. */
const SECRET_SUBJECT = 'position-cursors';

/** Positions are written padded to this many bytes, so that a cursor's length says nothing of its position. */
const PADDED_BYTES = 24;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const CURSOR = /^[A-Za-z0-9_-]{40,400}$/;

export class NotAPositionError extends Error {}

/**
 * The log's positions as clients are shown them: SSE ids, CloudEvent and webhook ids, `Focal-Position`, a
 * subscription's cursor. Two positions' distance counts the events between them, those the viewer may not see
 * included: from two SSE ids a guest state could count the closed writes between two open ones (SPEC §1: no
 * count reveals what one may not see). Who may see every event (the secretariat, auditors) is shown the
 * position itself, as audit shows it; everyone else a cursor: the position sealed (AES-256-GCM under a key
 * derived from a secret of the deployment, its nonce an HMAC of the position). One position is always one
 * cursor, so a webhook's retry keeps its id and an SSE id is the same on every gateway; a cursor cannot be
 * made, altered or ordered by its holder, and any gateway of the deployment opens it.
 */
export class PositionCursors {
  private readonly sealing: Buffer;
  private readonly nonces: Buffer;

  /** The deployment's: every gateway (and a test reading what they show) takes the same secret. */
  static async of(keys: KeyStore): Promise<PositionCursors> {
    return new PositionCursors(await keys.keyFor(SECRET_SUBJECT));
  }

  /** `secret`: 32 random bytes of the deployment, the same for every gateway. */
  constructor(secret: Uint8Array) {
    this.sealing = Buffer.from(hkdfSync('sha256', secret, '', 'focal position cursor: sealing', 32));
    this.nonces = Buffer.from(hkdfSync('sha256', secret, '', 'focal position cursor: nonces', 32));
  }

  /** `position` as `viewer` is shown it; `0` (the start of the log) is shown as it is to everyone. */
  shown(position: Position | string, viewer: Actor): string {
    return position === '0' || maySeeEverything(viewer) ? position : this.cursorOf(position);
  }

  /**
   * The position a client sent back (`Last-Event-ID`, `Focal-Read-After`): a cursor it was shown, or, from
   * whoever may see every event, a position as audit shows it (`parse`, the store's). Only those are taken:
   * anyone else giving positions of their own choosing could find where each event they see stands by
   * bisection, and so count those they do not. @throws NotAPositionError
   */
  read(text: string, viewer: Actor, parse: (text: string) => Position): Position {
    if (maySeeEverything(viewer)) {
      try {
        return parse(text);
      } catch {
        // A cursor, shown to it while it stood otherwise, or by someone else.
      }
    }
    const sealed = CURSOR.test(text) ? Buffer.from(text, 'base64url') : undefined;
    // Only the spelling it was given: base64 leaves bits of the last character unused, which decoders ignore.
    const position = sealed?.toString('base64url') === text ? this.open(sealed) : undefined;
    if (position === undefined) throw new NotAPositionError(`${text} is not a position this deployment gave`);
    return parse(position);
  }

  /** The cursor of `position`, for whoever may not see every event. */
  cursorOf(position: Position | string): string {
    const plain = Buffer.alloc(
      Math.ceil(Math.max(1, Buffer.byteLength(position)) / PADDED_BYTES) * PADDED_BYTES,
    );
    plain.write(position);
    const nonce = createHmac('sha256', this.nonces).update(position).digest().subarray(0, NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.sealing, nonce);
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([nonce, cipher.getAuthTag(), sealed]).toString('base64url');
  }

  private open(cursor: Buffer): string | undefined {
    if (cursor.length <= NONCE_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.sealing, cursor.subarray(0, NONCE_BYTES));
      decipher.setAuthTag(cursor.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(cursor.subarray(NONCE_BYTES + TAG_BYTES)),
        decipher.final(),
      ]);
      const end = plain.indexOf(0);
      return plain.toString('utf8', 0, end === -1 ? plain.length : end);
    } catch {
      return undefined;
    }
  }
}
