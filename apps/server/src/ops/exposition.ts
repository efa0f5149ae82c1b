/** A small reader of the Prometheus text format, for tests that scrape `/metrics`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Metric family → type (counter, gauge, histogram, summary). */
  types: Record<string, string>;
  help: Record<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Exposition {
  const out: Exposition = { samples: [], types: {}, help: {} };
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (name && type) out.types[name] = type;
    } else if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const space = rest.indexOf(' ');
      out.help[rest.slice(0, space)] = rest.slice(space + 1);
    } else if (line && !line.startsWith('#')) {
      const m = SAMPLE.exec(line);
      if (!m) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, '$1');
      out.samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
    }
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when none matches. */
export function sampleValue(e: Exposition, name: string, labels: Record<string, string>): number | undefined {
  const matches = e.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (matches.length > 1) throw new Error(`${matches.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matches[0]?.value;
}

/** Every series name a scrape can contain: families plus the `_bucket`/`_sum`/`_count` of histograms and summaries. */
export function seriesNames(e: Exposition): Set<string> {
  const names = new Set<string>();
  for (const [family, type] of Object.entries(e.types)) {
    names.add(family);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(family + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(family + s);
  }
  return names;
}
