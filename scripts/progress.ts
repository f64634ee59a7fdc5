/** A one-line progress bar on stderr, redrawn in place: `[#####-----] 50% 500/1000 events`. */
export function progressBar(label: string): { update(done: number, total?: number): void; end(): void } {
  const width = 30;
  let last = 0;
  let latest: { done: number; total: number | undefined } | undefined;
  const draw = (done: number, total: number | undefined) => {
    // Work that grew while it was done (the log is written to meanwhile) counts to what was done.
    const whole = total === undefined ? undefined : Math.max(total, done);
    const bar =
      whole && whole > 0
        ? `[${'#'.repeat(Math.round((done / whole) * width)).padEnd(width, '-')}] ${Math.floor((done / whole) * 100)}% ${done}/${whole}`
        : `${done}`;
    process.stderr.write(`\r${bar} ${label}  `);
  };
  return {
    update(done, total) {
      const now = performance.now();
      latest = { done, total };
      if (now - last < 100 && done !== total) return;
      last = now;
      draw(done, total);
    },
    // The last state is drawn whatever the redraw's pace skipped: a finished bar does not end at 98%.
    end() {
      if (latest) draw(latest.done, latest.total);
      process.stderr.write('\n');
    },
  };
}
