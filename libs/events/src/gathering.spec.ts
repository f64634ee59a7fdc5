import { Gathering } from './gathering.js';

/** A batch run whose outcome the test decides: each batch's requests, in the order the batches started. */
function controlledBatches() {
  const started: { requests: string[]; finish(): void; fail(error: Error): void }[] = [];
  const gathering = new Gathering<string, string>(
    (requests) =>
      new Promise((resolve, reject) => {
        started.push({
          requests,
          finish: () => resolve((request) => `${request} done`),
          fail: reject,
        });
      }),
    3,
  );
  return { gathering, started };
}

describe('Gathering: requests made while a batch is under way go together in the next', () => {
  it('a lone request goes at once; those asked meanwhile wait, then go in one batch', async () => {
    const { gathering, started } = controlledBatches();
    const first = gathering.ask('a');
    const rest = [gathering.ask('b'), gathering.ask('c')];
    expect(started.map((batch) => batch.requests)).toEqual([['a']]);
    started[0]!.finish();
    await expect(first).resolves.toBe('a done');
    await new Promise((resolve) => setImmediate(resolve));
    expect(started.map((batch) => batch.requests)).toEqual([['a'], ['b', 'c']]);
    started[1]!.finish();
    await expect(Promise.all(rest)).resolves.toEqual(['b done', 'c done']);
  });

  it('a batch takes at most its bound; a failed batch fails its own requests only', async () => {
    const { gathering, started } = controlledBatches();
    const first = gathering.ask('a');
    const waiting = ['b', 'c', 'd', 'e'].map((request) =>
      gathering.ask(request).then(
        (answer) => answer,
        (error: Error) => error.message,
      ),
    );
    started[0]!.fail(new Error('the database is away'));
    await expect(first).rejects.toThrow('the database is away');
    await new Promise((resolve) => setImmediate(resolve));
    expect(started[1]!.requests).toEqual(['b', 'c', 'd']);
    started[1]!.fail(new Error('still away'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(started[2]!.requests).toEqual(['e']);
    started[2]!.finish();
    await expect(Promise.all(waiting)).resolves.toEqual(['still away', 'still away', 'still away', 'e done']);
  });

  it('an answer that throws fails its own request only', async () => {
    const gathering = new Gathering<string, string>(async () => (request) => {
      if (request === 'unreadable') throw new Error(`${request} cannot be read`);
      return `${request} done`;
    });
    const first = gathering.ask('a');
    const rest = [gathering.ask('b'), gathering.ask('unreadable'), gathering.ask('c')].map((answer) =>
      answer.catch((error: Error) => error.message),
    );
    await expect(first).resolves.toBe('a done');
    await expect(Promise.all(rest)).resolves.toEqual(['b done', 'unreadable cannot be read', 'c done']);
  });
});
