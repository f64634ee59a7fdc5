/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self time by function and by where the code lives
 * (Focal's own folders, or the package under node_modules), the largest first.
 *
 *   npx tsx bench/commands/profile.ts FILE.cpuprofile [--top 40]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

const { values: args, positionals } = parseArgs({
  options: { top: { type: 'string', default: '40' } },
  allowPositionals: true,
});
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
};
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<number, number>();
profile.samples.forEach((id, index) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
const total = [...self.values()].reduce((sum, value) => sum + value, 0);

const place = (url: string) => {
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (module) return module[1]!;
  const own = /wt-[^/]+\/((?:apps|libs)\/[^/]+|bench)/.exec(url);
  if (own) return own[1]!;
  return url.startsWith('node:') ? 'node' : url === '' ? '(native, gc, idle)' : url;
};
const functions = new Map<string, number>();
const places = new Map<string, number>();
for (const [id, micros] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const name = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|wt-[^/]+)\//, '')}:${lineNumber + 1}`;
  functions.set(name, (functions.get(name) ?? 0) + micros);
  places.set(place(url), (places.get(place(url)) ?? 0) + micros);
}
const show = (title: string, entries: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) {
    console.log(`${((micros / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
  }
};
console.log(`${(total / 1e6).toFixed(1)} s sampled`);
show('self time by place', places);
show('self time by function', functions);
