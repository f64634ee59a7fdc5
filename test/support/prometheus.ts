/** One sample of a Prometheus text exposition: `name{label="value",…} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\.)*"';
// Prometheus reads values with Go's ParseFloat, whose NaN and Inf take any case (prom-client writes `Nan`).
const VALUE = '[-+]?(?:\\d+(?:\\.\\d*)?(?:[eE][-+]?\\d+)?|[Nn][Aa][Nn]|[Ii][Nn][Ff])';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL},?)*)\\})? (${VALUE})(?: -?\\d+)?$`);
const COMMENT = new RegExp(
  `^# (?:HELP ${NAME} .*|TYPE (${NAME}) (?:counter|gauge|histogram|summary|untyped))$`,
);

/**
 * Parses the text format (version 0.0.4) strictly: a line that is neither a sample nor a HELP or TYPE
 * comment, or a sample of a family no TYPE line declared, fails with the line. (prom-client writes this
 * format but does not read it, and a dozen lines here need no new dependency.)
 */
export function parseExposition(text: string): Sample[] {
  const families = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = COMMENT.exec(line);
    if (comment) {
      if (comment[1]) families.add(comment[1]);
      continue;
    }
    const sample = SAMPLE.exec(line);
    if (!sample) throw new Error(`not a line of the Prometheus text format: ${line}`);
    const [, name, labelText = '', value] = sample;
    const family = name!.replace(/_(bucket|sum|count)$/, '');
    if (!families.has(name!) && !families.has(family)) throw new Error(`a sample without a TYPE: ${line}`);
    const labels = Object.fromEntries(
      [...labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, key, text]) => [
        key!,
        text!.replace(/\\(.)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped)),
      ]),
    );
    samples.push({
      name: name!,
      labels,
      value: Number(value!.replace(/^([-+]?)inf$/i, '$1Infinity').replace(/^nan$/i, 'NaN')),
    });
  }
  return samples;
}

/** The value of the one sample named so with these labels (among others), or undefined. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  const found = samples.filter(
    (sample) =>
      sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** GET <url>/metrics, checked as Prometheus' text format and parsed. */
export async function scrape(url: string): Promise<Sample[]> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (response.status !== 200) throw new Error(`GET ${url}/metrics answered ${response.status}`);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await response.text());
}
