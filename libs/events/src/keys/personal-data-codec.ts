import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

import type { DomainEvent } from '@focal/domain';

import type { CodecAttempt, EventCodec } from '../commands/command-handler.js';
import type { JsonObject, JsonValue, RecordedEvent } from '../envelope.js';
import type { KeyStore } from './key-store.js';

/** Which field of which event type holds personal data, and whose key encrypts it. */
export interface PersonalFields {
  /** Event type → the name of its field that holds personal data. */
  fields: Readonly<Record<string, string>>;
  /** The subject (key owner) of a stream, e.g. the contact point id of `contact-point-<id>`. */
  subjectOf(streamId: string): string | undefined;
}

const PREFIX = 'aes-256-gcm:v1:';

/** What a field reads as once its key is gone. */
export const ERASED = { erased: true } as const;

/**
 * Encrypts the personal field of each event with its subject's key (AES-256-GCM, the stream id as associated
 * data, so ciphertext cannot be moved to another stream), and decrypts on read. A destroyed key reads as
 * `{ erased: true }`. Everything else in the event stays readable for projections and audit.
 */
export class PersonalDataCodec implements EventCodec {
  constructor(
    private readonly keys: KeyStore,
    private readonly personal: PersonalFields,
  ) {}

  async encode(
    streamId: string,
    events: readonly DomainEvent[],
    attempt?: CodecAttempt,
  ): Promise<JsonObject[]> {
    const subject = this.personal.subjectOf(streamId);
    const needsKey = subject !== undefined && events.some((event) => this.personal.fields[event.type]);
    const key = needsKey
      ? (attempt?.keys.get(subject) ?? (await this.keys.keyFor(subject, { fresh: attempt?.newStream })))
      : undefined;
    // The command's fingerprint is sealed with it too (commands/command-handler.ts).
    if (key && attempt) attempt.keys.set(subject!, key);
    return events.map((event) => {
      const data = event.data as JsonObject;
      const field = this.personal.fields[event.type];
      if (!field || !key || data[field] === undefined) return data;
      return { ...data, [field]: encrypt(key, streamId, data[field]) };
    });
  }

  async decode(
    streamId: string,
    events: readonly RecordedEvent[],
    attempt?: CodecAttempt,
  ): Promise<DomainEvent[]> {
    const subject = this.personal.subjectOf(streamId);
    const hasPersonal = subject !== undefined && events.some((event) => this.personal.fields[event.type]);
    const key = hasPersonal ? await this.keys.find(subject) : undefined;
    // A destroyed key is not remembered: the encode asks again and is refused (the subject was erased).
    if (key && attempt) attempt.keys.set(subject!, key);
    return events.map((event) => ({
      type: event.type,
      visibility: event.visibility,
      data: this.decodeData(event, key),
    })) as DomainEvent[];
  }

  /** One stored event's data with its personal field readable, or erased. */
  decodeData(event: Pick<RecordedEvent, 'type' | 'data' | 'streamId'>, key: Buffer | undefined): JsonObject {
    const field = this.personal.fields[event.type];
    const value = field ? event.data[field] : undefined;
    if (!field || typeof value !== 'string' || !value.startsWith(PREFIX)) return event.data;
    return { ...event.data, [field]: key ? decrypt(key, event.streamId, value) : ERASED };
  }
}

/**
 * The length in bytes of what a stored personal field encrypts, read without the key (AES-GCM keeps the
 * plaintext's length); undefined when the value is not ciphertext. Lets a replay skip changes that are `{}`.
 */
export function plaintextLength(stored: unknown): number | undefined {
  if (typeof stored !== 'string' || !stored.startsWith(PREFIX)) return undefined;
  return Buffer.from(stored.slice(PREFIX.length), 'base64').length - 28;
}

/**
 * A value sealed with a subject's key, `context` bound to it (AES-256-GCM): what a read model keeps of personal
 * data, so that it reads as erased from the moment the key is destroyed.
 */
export const sealWith = (key: Buffer, context: string, value: JsonValue): string =>
  encrypt(key, context, value);

/** What `sealWith` sealed; throws when the key or the context is not the one it was sealed with. */
export const openWith = (key: Buffer, context: string, sealed: string): JsonValue =>
  decrypt(key, context, sealed);

function encrypt(key: Buffer, streamId: string, value: JsonValue): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(streamId));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return `${PREFIX}${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
}

function decrypt(key: Buffer, streamId: string, stored: string): JsonValue {
  const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(streamId));
  decipher.setAuthTag(raw.subarray(12, 28));
  const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  return JSON.parse(text) as JsonValue;
}
