import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** The stream that holds the log's checkpoints, one event each, in sealing order. */
export const CHECKPOINT_STREAM = 'log-checkpoints';
export const CHECKPOINT_SEALED = 'LogCheckpointSealed';

/**
 * A signed seal over a range of the global log: the Merkle root of the events after `after` (the previous
 * checkpoint's last position; null for the first) up to and including `lastPosition`, chained to the
 * previous checkpoint by its hash. Exported to a file kept outside the store, it proves later that the log
 * still holds exactly these events.
 */
export interface LogCheckpoint {
  seq: number;
  after: string | null;
  firstPosition: string;
  lastPosition: string;
  eventCount: number;
  /** Hex SHA-256 Merkle root (RFC 6962) over the range's leaves, see merkle.ts. */
  merkleRoot: string;
  /** Hex hash of the previous checkpoint; empty for the first. */
  previousCheckpointHash: string;
  sealedAt: string;
  /** The Ed25519 public key that signed it, base64url (raw 32 bytes). */
  publicKey: string;
  /** Ed25519 signature over `signedText`, base64url. */
  signature: string;
}

export type UnsignedCheckpoint = Omit<LogCheckpoint, 'publicKey' | 'signature'>;

/** What the signature covers: every field but the signature, one per line, in a fixed order. */
export function signedText(checkpoint: Omit<LogCheckpoint, 'signature'>): string {
  return [
    'focal-log-checkpoint/1',
    String(checkpoint.seq),
    checkpoint.after ?? '',
    checkpoint.firstPosition,
    checkpoint.lastPosition,
    String(checkpoint.eventCount),
    checkpoint.merkleRoot,
    checkpoint.previousCheckpointHash,
    checkpoint.sealedAt,
    checkpoint.publicKey,
  ].join('\n');
}

/** The hash the next checkpoint chains to. */
export function checkpointHash(checkpoint: LogCheckpoint): string {
  return createHash('sha256')
    .update(signedText(checkpoint), 'utf8')
    .update(checkpoint.signature)
    .digest('hex');
}

/** An Ed25519 key pair for sealing, from a PKCS#8 PEM private key. */
export class CheckpointSigner {
  readonly publicKey: string;

  private constructor(private readonly privateKey: KeyObject) {
    this.publicKey = publicKeyText(createPublicKey(privateKey));
  }

  /** @throws Error naming what is wrong with the key */
  static fromPem(pem: string): CheckpointSigner {
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch {
      throw new Error('the checkpoint signing key is not a PEM private key (PKCS#8, "BEGIN PRIVATE KEY")');
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new Error(
        `the checkpoint signing key is a ${key.asymmetricKeyType ?? 'symmetric'} key: use an Ed25519 key ` +
          '(npm run audit -- keygen makes one)',
      );
    }
    return new CheckpointSigner(key);
  }

  sign(checkpoint: UnsignedCheckpoint): LogCheckpoint {
    const withKey = { ...checkpoint, publicKey: this.publicKey };
    const signature = sign(null, Buffer.from(signedText(withKey), 'utf8'), this.privateKey);
    return { ...withKey, signature: signature.toString('base64url') };
  }
}

function publicKeyText(key: KeyObject): string {
  return (key.export({ format: 'jwk' }) as { x: string }).x;
}

/** Whether the checkpoint's signature is valid for the key it names. */
export function signatureValid(checkpoint: LogCheckpoint): boolean {
  try {
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: checkpoint.publicKey },
      format: 'jwk',
    });
    return verify(
      null,
      Buffer.from(signedText(checkpoint), 'utf8'),
      key,
      Buffer.from(checkpoint.signature, 'base64url'),
    );
  } catch {
    return false;
  }
}

/** Reads a checkpoint from outside (an exported file, an event's data); throws naming the first bad field. */
export function parseCheckpoint(value: unknown, where: string): LogCheckpoint {
  const object = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const text = (name: string, pattern: RegExp) => {
    const field = object[name];
    if (typeof field !== 'string' || !pattern.test(field)) {
      throw new Error(`${where}: ${name} is missing or malformed; is this a Focal checkpoint?`);
    }
    return field;
  };
  const whole = (name: string) => {
    const field = object[name];
    if (!Number.isSafeInteger(field) || (field as number) < 0) {
      throw new Error(`${where}: ${name} is missing or not a whole number; is this a Focal checkpoint?`);
    }
    return field as number;
  };
  const position = /^[0-9]{1,19}$/;
  return {
    seq: whole('seq'),
    after: object.after === null ? null : text('after', position),
    firstPosition: text('firstPosition', position),
    lastPosition: text('lastPosition', position),
    eventCount: whole('eventCount'),
    merkleRoot: text('merkleRoot', /^[0-9a-f]{64}$/),
    previousCheckpointHash: text('previousCheckpointHash', /^([0-9a-f]{64})?$/),
    sealedAt: text('sealedAt', /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/),
    publicKey: text('publicKey', /^[A-Za-z0-9_-]{43}$/),
    signature: text('signature', /^[A-Za-z0-9_-]{86}$/),
  };
}
