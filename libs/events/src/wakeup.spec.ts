import { Wakeup, type WaitCancel } from './wakeup.js';

const settled = async (promise: Promise<void>) => {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('Wakeup', () => {
  it('wakes a waiter of the current generation, and does not make one wait who missed a wake-up', async () => {
    const wakeup = new Wakeup();
    const seen = wakeup.current;
    const waiting = wakeup.wait(seen);
    expect(await settled(waiting)).toBe(false);
    wakeup.notify();
    expect(await settled(waiting)).toBe(true);
    expect(await settled(wakeup.wait(seen))).toBe(true);
  });

  it('ends a wait when its signal aborts', async () => {
    const wakeup = new Wakeup();
    const abort = new AbortController();
    const waiting = wakeup.wait(wakeup.current, undefined, abort.signal);
    abort.abort();
    expect(await settled(waiting)).toBe(true);
  });

  it('puts the ending of a wait in its WaitCancel, and takes it back when the wait ends', async () => {
    const wakeup = new Wakeup();
    const cancel: WaitCancel = {};
    const first = wakeup.wait(wakeup.current, undefined, cancel);
    expect(cancel.cancel).toBeDefined();
    cancel.cancel!();
    expect(await settled(first)).toBe(true);
    expect(cancel.cancel).toBeUndefined();

    const second = wakeup.wait(wakeup.current, undefined, cancel);
    wakeup.notify();
    expect(await settled(second)).toBe(true);
    expect(cancel.cancel).toBeUndefined();
  });
});
