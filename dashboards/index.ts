// The prosec Grafana dashboards: built from TypeScript, written as JSON to dashboards/json/ (`npm run dashboards`),
// provisioned by deploy/compose/. A test checks the JSON is up to date and that every panel query names real metrics.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { node } from './node.js';
import { overview } from './overview.js';
import { procedures } from './procedures.js';

/** Every dashboard, built. */
export const ALL_DASHBOARDS: Dashboard[] = [overview().build(), procedures().build(), node().build()];

export interface PanelQuery {
  panel: string;
  expr: string;
}

interface PanelLike {
  title?: string;
  targets?: { expr?: string }[];
  panels?: PanelLike[];
}

/** Every PromQL expression of every panel (and of every query variable) of a dashboard. */
export function panelQueries(d: Dashboard): PanelQuery[] {
  const out: PanelQuery[] = [];
  const walk = (ps: PanelLike[] | undefined) => {
    for (const p of ps ?? []) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title ?? '?', expr: t.expr });
      walk(p.panels);
    }
  };
  walk(d.panels as PanelLike[] | undefined);
  return out;
}

/** Query variables of a dashboard as PromQL: label_values(X, l) becomes count by (l) (X). */
export function variableQueries(d: Dashboard): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query' || typeof v.query !== 'string') continue;
    const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(v.query);
    out.push({ panel: `$${v.name}`, expr: m ? `count by (${m[2]}) (${m[1]})` : v.query });
  }
  return out;
}

/** Replaces Grafana's variables by values Prometheus accepts (the test evaluates panels this way). */
export function substituteVariables(
  expr: string,
  vars: { run?: string; rateInterval?: string } = {},
): string {
  return expr
    .replaceAll('$__rate_interval', vars.rateInterval ?? '5s')
    .replaceAll('$run', vars.run ?? '.+')
    .replaceAll('$procedure', '.+')
    .replaceAll('$instance', '.+');
}

export function fileName(d: Dashboard): string {
  return `${d.uid}.json`;
}

export function renderDashboard(d: Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

/** Writes every dashboard as JSON into `dir`. */
export function writeDashboards(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return ALL_DASHBOARDS.map((d) => {
    const f = join(dir, fileName(d));
    writeFileSync(f, renderDashboard(d));
    return f;
  });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1])) {
  for (const f of writeDashboards(process.argv[2] ?? 'dashboards/json')) console.log(`wrote ${f}`);
}
