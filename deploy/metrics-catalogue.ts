// Generates docs/metrics.md from the metric definitions in the code (`npm run docs:metrics`).
import { writeFileSync } from 'node:fs';
import { createNodeMetrics, KEY_SETUP_BUCKETS } from '../nodes/runtime/metrics.js';
import { pc3Sink } from '../nodes/runtime/sinks.js';

interface MetricInfo {
  name: string;
  type: string;
  help: string;
  labelNames: string[];
}

/** Every prosec_ metric a node can expose, sorted by name. */
export async function metricCatalogue(): Promise<MetricInfo[]> {
  const m = createNodeMetrics('catalogue', { processMetrics: false });
  pc3Sink(m);
  const out: MetricInfo[] = [];
  for (const j of await m.registry.getMetricsAsJSON()) {
    const single = m.registry.getSingleMetric(j.name) as unknown as { labelNames?: string[] };
    out.push({ name: j.name, type: String(j.type), help: j.help, labelNames: single.labelNames ?? [] });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function unitOf(name: string): string {
  if (name.endsWith('_seconds')) return 'seconds';
  if (name.endsWith('_bytes_total') || name.endsWith('_bytes')) return 'bytes';
  if (name.endsWith('_total')) return 'count';
  return '-';
}

export async function renderCatalogue(): Promise<string> {
  const rows = (await metricCatalogue()).map(
    (x) =>
      `| \`${x.name}\` | ${x.type} | ${unitOf(x.name)} | ${x.labelNames.map((l) => `\`${l}\``).join(', ') || '-'} | ${x.help} |`,
  );
  return [
    '# Metrics catalogue',
    '',
    'Generated from the metric definitions in the code by `npm run docs:metrics` (a test fails when this file is stale).',
    'Every node process serves them at `http://127.0.0.1:<port>/metrics` in the Prometheus text format; the port of each',
    'node is in the run folder (`runs/<run>/prometheus/targets.json`, a Prometheus file_sd list). With',
    "`processMetrics: true` in the scenario, prom-client's default process metrics (`process_*`, `nodejs_*`) are exposed too.",
    '',
    'Labels are low-cardinality by design: no metric carries a per-UE label; the target (`instance`) identifies the node.',
    `Latency histograms use the buckets ${KEY_SETUP_BUCKETS.map((b) => `${b * 1000} ms`).join(', ')}.`,
    '',
    '| name | type | unit | labels | meaning |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1])) {
  const file = process.argv[2] ?? 'docs/metrics.md';
  writeFileSync(file, await renderCatalogue());
  console.log(`wrote ${file}`);
}
