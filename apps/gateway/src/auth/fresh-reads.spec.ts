import { FreshReads } from './fresh-reads.js';

/** A read whose answers the test hands out: each read is numbered in the order it started. */
function controlledReads() {
  const started: { key: string; finish(value: string): void; fail(error: Error): void }[] = [];
  const reads = new FreshReads<string>(
    (key) =>
      new Promise<string>((resolve, reject) => {
        started.push({ key, finish: resolve, fail: reject });
      }),
  );
  return { reads, started };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('FreshReads: every caller answered by a read that started after it asked', () => {
  it('a lone caller starts a read of its own; one asking after it ended starts another', async () => {
    const { reads, started } = controlledReads();
    const first = reads.get('state-FR');
    await settled();
    expect(started).toHaveLength(1);
    started[0]!.finish('first');
    await expect(first).resolves.toBe('first');

    const second = reads.get('state-FR');
    await settled();
    expect(started).toHaveLength(2);
    started[1]!.finish('second');
    await expect(second).resolves.toBe('second');
  });

  it('callers asking while a read is under way share the next one, which starts only when it is over', async () => {
    const { reads, started } = controlledReads();
    const early = reads.get('state-FR');
    await settled();
    const late = [reads.get('state-FR'), reads.get('state-FR'), reads.get('state-FR')];
    await settled();
    expect(started).toHaveLength(1);

    started[0]!.finish('before the late callers asked');
    await expect(early).resolves.toBe('before the late callers asked');
    await settled();
    expect(started).toHaveLength(2);
    started[1]!.finish('after they asked');
    await expect(Promise.all(late)).resolves.toEqual([
      'after they asked',
      'after they asked',
      'after they asked',
    ]);
  });

  it('a failed read fails only the callers it was started for; the waiting ones get the next read', async () => {
    const { reads, started } = controlledReads();
    const early = reads.get('state-FR');
    await settled();
    const late = reads.get('state-FR');
    started[0]!.fail(new Error('the store is away'));
    await expect(early).rejects.toThrow('the store is away');
    await settled();
    started[1]!.finish('back');
    await expect(late).resolves.toBe('back');
  });

  it('keys do not wait on each other', async () => {
    const { reads, started } = controlledReads();
    const france = reads.get('state-FR');
    const germany = reads.get('state-DE');
    await settled();
    expect(started.map((read) => read.key)).toEqual(['state-FR', 'state-DE']);
    started[1]!.finish('DE');
    await expect(germany).resolves.toBe('DE');
    started[0]!.finish('FR');
    await expect(france).resolves.toBe('FR');
  });
});
