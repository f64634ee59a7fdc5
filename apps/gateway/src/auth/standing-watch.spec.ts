import { today } from './standing-watch.js';

describe('today', () => {
  const realNow = Date.now;
  const at = (iso: string) => {
    Date.now = () => Date.parse(iso);
    return today();
  };
  afterEach(() => {
    Date.now = realNow;
  });

  it('is the UTC date, formatted once a day and still right across midnight and when the clock goes back', () => {
    expect(at('2026-12-06T00:00:00.000Z')).toBe('2026-12-06');
    expect(at('2026-12-06T23:59:59.999Z')).toBe('2026-12-06');
    expect(at('2026-12-07T00:00:00.000Z')).toBe('2026-12-07');
    expect(at('2026-12-06T12:00:00.000Z')).toBe('2026-12-06');
    expect(at('2028-02-29T08:00:00.000Z')).toBe('2028-02-29');
  });

  it('answers as the clock does', () => {
    Date.now = realNow;
    expect(today()).toBe(new Date().toISOString().slice(0, 10));
  });
});
