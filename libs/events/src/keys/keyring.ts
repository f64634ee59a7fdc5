import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';

/**
 * The key-encryption keys that wrap every data key (envelope encryption). They live outside the database,
 * so a copy of the database alone decrypts nothing. A key management service is one adapter of this port;
 * a local keyring file is another.
 */
export interface KeyEncryptionKeys {
  /** The id of the key new data keys are wrapped under. */
  readonly currentKeyId: string;
  /** Wraps a data key under the current key; `subjectId` is bound to the result (it cannot be moved). */
  wrap(dataKey: Buffer, subjectId: string): Promise<{ keyId: string; wrapped: Buffer }>;
  /** Unwraps with the key named `keyId`, current or retired. @throws when that key is not known here */
  unwrap(keyId: string, wrapped: Buffer, subjectId: string): Promise<Buffer>;
}

export class UnknownKeyEncryptionKeyError extends Error {
  constructor(readonly keyId: string) {
    super(
      `data keys are wrapped under key-encryption key ${keyId}, which this keyring does not hold: add it to ` +
        'FOCAL_MASTER_KEY_FILE (as a retired key, below the current one) and run npm run audit -- keys rotate',
    );
  }
}

const LINE = /^([A-Za-z0-9._-]{1,64})\s+([A-Za-z0-9+/]{43}=)$/;

/**
 * A keyring file: one key per line, `<id> <base64 of 32 bytes>`, the current key first and retired ones after
 * (kept until `npm run audit -- keys rotate` has wrapped every data key under the current one). Blank lines and
 * lines starting with # are comments. AES-256-GCM wraps each data key, with the subject id as associated data.
 */
export class LocalKeyring implements KeyEncryptionKeys {
  private constructor(
    readonly currentKeyId: string,
    private readonly keys: ReadonlyMap<string, Buffer>,
  ) {}

  static async fromFile(path: string): Promise<LocalKeyring> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new Error(`the master key file ${path} cannot be read (${(error as Error).message})`, {
        cause: error,
      });
    }
    return LocalKeyring.parse(text, path);
  }

  static parse(text: string, source = 'the keyring'): LocalKeyring {
    const keys = new Map<string, Buffer>();
    let current: string | undefined;
    for (const [index, raw] of text.split('\n').entries()) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const match = LINE.exec(line);
      if (!match) {
        throw new Error(
          `${source}, line ${index + 1}: write "<id> <base64 of 32 random bytes>" (npm run audit -- keys new prints one)`,
        );
      }
      const [, id, key] = match as unknown as [string, string, string];
      if (keys.has(id)) throw new Error(`${source}, line ${index + 1}: key ${id} appears twice`);
      keys.set(id, Buffer.from(key, 'base64'));
      current ??= id;
    }
    if (!current) throw new Error(`${source} holds no key: npm run audit -- keys new prints one`);
    return new LocalKeyring(current, keys);
  }

  /** A line for a keyring file: a new random key under `id`. */
  static newLine(
    id = `kek-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`,
  ): string {
    return `${id} ${randomBytes(32).toString('base64')}`;
  }

  async wrap(dataKey: Buffer, subjectId: string): Promise<{ keyId: string; wrapped: Buffer }> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentKeyId)!, iv);
    cipher.setAAD(Buffer.from(subjectId));
    const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return { keyId: this.currentKeyId, wrapped: Buffer.concat([iv, cipher.getAuthTag(), body]) };
  }

  async unwrap(keyId: string, wrapped: Buffer, subjectId: string): Promise<Buffer> {
    const key = this.keys.get(keyId);
    if (!key) throw new UnknownKeyEncryptionKeyError(keyId);
    const decipher = createDecipheriv('aes-256-gcm', key, wrapped.subarray(0, 12));
    decipher.setAAD(Buffer.from(subjectId));
    decipher.setAuthTag(wrapped.subarray(12, 28));
    return Buffer.concat([decipher.update(wrapped.subarray(28)), decipher.final()]);
  }
}

/**
 * A keyring file that a running process follows, so that a master key rotation needs no restart: the file is
 * read again when it changed (looked at, at most every `checkEveryMs`, before wrapping a new data key, so new
 * keys go under the new current one) and at once when a data key is wrapped under a key this process does not
 * hold yet (`keys rotate` re-wraps under the new key beside running processes). A file made unreadable or
 * invalid meanwhile is reported and the keys already held are kept.
 */
export class KeyringFile implements KeyEncryptionKeys {
  private checkedAt = Date.now();
  private reading?: Promise<void>;

  private constructor(
    private readonly path: string,
    private keyring: LocalKeyring,
    private modifiedMs: number,
    private readonly options: { checkEveryMs: number; onError?: (error: Error) => void },
  ) {}

  /** Follows `path`, whose content (read by the caller at start) is `text`. */
  static async follow(
    path: string,
    text: string,
    options: { checkEveryMs?: number; onError?: (error: Error) => void } = {},
  ): Promise<KeyringFile> {
    const { mtimeMs } = await stat(path);
    return new KeyringFile(path, LocalKeyring.parse(text, path), mtimeMs, {
      checkEveryMs: options.checkEveryMs ?? 1_000,
      ...(options.onError ? { onError: options.onError } : {}),
    });
  }

  get currentKeyId(): string {
    return this.keyring.currentKeyId;
  }

  async wrap(dataKey: Buffer, subjectId: string): Promise<{ keyId: string; wrapped: Buffer }> {
    if (Date.now() - this.checkedAt >= this.options.checkEveryMs) await this.reread();
    return this.keyring.wrap(dataKey, subjectId);
  }

  async unwrap(keyId: string, wrapped: Buffer, subjectId: string): Promise<Buffer> {
    try {
      return await this.keyring.unwrap(keyId, wrapped, subjectId);
    } catch (error) {
      if (!(error instanceof UnknownKeyEncryptionKeyError)) throw error;
      await this.reread();
      return this.keyring.unwrap(keyId, wrapped, subjectId);
    }
  }

  /** Reads the file again if it changed; callers arriving meanwhile share the read. */
  private reread(): Promise<void> {
    this.reading ??= (async () => {
      try {
        this.checkedAt = Date.now();
        const { mtimeMs } = await stat(this.path);
        if (mtimeMs === this.modifiedMs) return;
        this.keyring = LocalKeyring.parse(await readFile(this.path, 'utf8'), this.path);
        this.modifiedMs = mtimeMs;
      } catch (error) {
        this.options.onError?.(error as Error);
      } finally {
        this.reading = undefined;
      }
    })();
    return this.reading;
  }
}
