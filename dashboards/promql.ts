// Metric names referenced by a PromQL expression, checked against what prosec nodes can expose.
import { collectDefaultMetrics, Registry } from 'prom-client';
import { metricCatalogue } from '../deploy/metrics-catalogue.js';
import { NONCONFORMANT_DEFAULT_METRICS } from '../nodes/runtime/metrics.js';

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * Names of the metrics an expression selects: identifiers outside label matchers, strings, ranges and grouping
 * clauses that are not function calls or keywords. Good enough for the expressions prosec's dashboards use.
 */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const out = new Set<string>();
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = m[0];
    const after = s.slice((m.index ?? 0) + name.length).trimStart();
    if (after.startsWith('(')) continue; // a function
    if (KEYWORDS.has(name.toLowerCase())) continue;
    const before = s[(m.index ?? 0) - 1];
    if (before && /[0-9.]/.test(before)) continue; // part of a number such as 1e3
    out.add(name);
  }
  return [...out];
}

/** Every series name a prosec node can expose (catalogue, histogram series, default process metrics) plus `up`. */
export async function knownSeriesNames(): Promise<Set<string>> {
  const names = new Set<string>(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
  for (const m of await metricCatalogue()) {
    if (m.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
    else names.add(m.name);
  }
  const r = new Registry();
  collectDefaultMetrics({ register: r });
  for (const j of await r.getMetricsAsJSON()) {
    if (NONCONFORMANT_DEFAULT_METRICS.includes(j.name)) continue;
    if (String(j.type) === 'histogram')
      for (const s of ['_bucket', '_sum', '_count']) names.add(`${j.name}${s}`);
    else names.add(j.name);
  }
  return names;
}
