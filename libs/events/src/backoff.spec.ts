import { getEventListeners } from 'node:events';

import { Backoff, pause } from './backoff.js';

describe('Backoff', () => {
  it('doubles from the base up to the cap, each delay in the upper half of its ceiling', () => {
    const lowest = new Backoff(100, 1_000, () => 0);
    expect(Array.from({ length: 6 }, () => lowest.next())).toEqual([50, 100, 200, 400, 500, 500]);
    const highest = new Backoff(100, 1_000, () => 0.999_999);
    const delays = Array.from({ length: 6 }, () => highest.next());
    [100, 200, 400, 800, 1_000, 1_000].forEach((ceiling, i) => expect(delays[i]).toBeCloseTo(ceiling, 2));
  });

  it('draws different delays for processes that failed at the same instant', () => {
    const delays = new Set(Array.from({ length: 20 }, () => new Backoff(1_000).next()));
    expect(delays.size).toBeGreaterThan(1);
  });

  it('starts again from the base after a success', () => {
    const backoff = new Backoff(100, 10_000, () => 0);
    backoff.next();
    backoff.next();
    expect(backoff.attempts).toBe(2);
    backoff.succeeded();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(50);
  });
});

describe('pause', () => {
  it('leaves no listener on the signal it waited on, however many times it ran', async () => {
    const stopping = new AbortController();
    for (let i = 0; i < 20; i++) await pause(1, stopping.signal);
    expect(getEventListeners(stopping.signal, 'abort')).toHaveLength(0);
  });

  it('ends at once when the signal aborts', async () => {
    const stopping = new AbortController();
    const paused = pause(3_600_000, stopping.signal);
    stopping.abort();
    await expect(paused).resolves.toBeUndefined();
    expect(getEventListeners(stopping.signal, 'abort')).toHaveLength(0);
  });
});
