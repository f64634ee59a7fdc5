/**
 * Reads by key that callers arriving together share, each caller answered by a read that started after it
 * asked: as fresh as a read of its own (a caller's standing counts every event committed before its request
 * came), while a burst of requests from one principal costs one read at a time, not one each. While a key's
 * read is under way, the callers that ask wait for the next one, which starts as soon as it is over.
 */
export class FreshReads<T> {
  private readonly keys = new Map<string, { next?: Deferred<T> }>();

  constructor(private readonly read: (key: string) => Promise<T>) {}

  get(key: string): Promise<T> {
    const reading = this.keys.get(key);
    if (!reading) {
      const started = {};
      this.keys.set(key, started);
      return this.start(key, started);
    }
    reading.next ??= deferred<T>();
    return reading.next.promise;
  }

  private start(key: string, reading: { next?: Deferred<T> }): Promise<T> {
    const answer = Promise.resolve().then(() => this.read(key));
    const over = () => {
      const next = reading.next;
      if (!next) {
        this.keys.delete(key);
        return;
      }
      reading.next = undefined;
      this.start(key, reading).then(next.resolve, next.reject);
    };
    answer.then(over, over);
    return answer;
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}
