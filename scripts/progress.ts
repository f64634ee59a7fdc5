/** A one-line progress bar on stderr, redrawn in place: `[#####-----] 50% 500/1000 events`. */
export function progressBar(label: string): { update(done: number, total?: number): void; end(): void } {
  const width = 30;
  let last = 0;
  return {
    update(done, total) {
      const now = performance.now();
      if (now - last < 100 && done !== total) return;
      last = now;
      const bar =
        total && total > 0
          ? `[${'#'.repeat(Math.round((Math.min(done, total) / total) * width)).padEnd(width, '-')}] ${Math.floor((Math.min(done, total) / total) * 100)}% ${done}/${total}`
          : `${done}`;
      process.stderr.write(`\r${bar} ${label}  `);
    },
    end() {
      process.stderr.write('\n');
    },
  };
}
