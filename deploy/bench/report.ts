// A bench report folder: report.json (every figure), report.md (summary), SVG charts.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { RunFigures } from './collect.js';
import { fmt, fmtSeconds, lineChart, type Series } from './svg.js';

export interface BenchReport {
  v: 1;
  tool: 'prosec bench';
  createdAt: string;
  scenario: { file: string; name: string; durationSeconds: number };
  host: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  prometheus: boolean;
  runs: RunFigures[];
}

export function hostInfo(): BenchReport['host'] {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

const ms = (s: number) => (Number.isFinite(s) ? `${(s * 1000).toFixed(2)}` : '-');

export function renderMarkdown(r: BenchReport, charts: string[]): string {
  const L: string[] = [];
  L.push(`# prosec bench: ${r.scenario.name}`, '');
  L.push(
    `${r.createdAt}, scenario \`${r.scenario.file}\`, ${r.scenario.durationSeconds} s of traffic per run, ` +
      `${r.host.cpus} CPUs (${r.host.cpuModel}), ${r.host.memoryGiB} GiB, Node ${r.host.node}, ` +
      `Prometheus ${r.prometheus ? 'on (1 s scrapes)' : 'off (no time series)'}. Every figure is in report.json.`,
    '',
  );
  L.push('## Runs', '');
  L.push(
    '| UEs | processes | result | start-up s | PC5 frames sent | PC5 frames received | PC5 received B/s | PC5 dropped | PC3 octets (sent) | CPU s (UEs) | CPU s per UE | RSS MiB per UE |',
  );
  L.push('|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const x of r.runs) {
    L.push(
      `| ${x.ues} | ${x.cost.processes} | ${x.ok ? 'OK' : `FAILED (${x.problems.length} problems)`} | ${x.startupSeconds} | ${x.pc5.sentFrames} | ${x.pc5.receivedFrames} | ${fmt(x.pc5.receivedBytesPerSecond)} | ${x.pc5.droppedFrames} | ${x.pc3.sentBytes} | ${x.cost.cpuSecondsByRole.ue ?? 0} | ${x.cost.cpuSecondsPerUe} | ${x.cost.rssMiBPerUe} |`,
    );
  }
  L.push('', '## Latency (ms; from the histograms, interpolated inside 0.1 ms..10 s buckets)', '');
  L.push('| UEs | procedure | count | mean | p50 | p95 | p99 |', '|---:|---|---:|---:|---:|---:|---:|');
  for (const x of r.runs) {
    for (const [k, l] of Object.entries(x.latency)) {
      L.push(
        `| ${x.ues} | ${k} | ${l.count} | ${ms(l.meanSeconds)} | ${ms(l.p50Seconds)} | ${ms(l.p95Seconds)} | ${ms(l.p99Seconds)} |`,
      );
    }
  }
  const problems = r.runs.flatMap((x) => x.problems.map((p) => `- ${x.ues} UEs: ${p}`));
  if (problems.length) L.push('', '## Problems', '', ...problems);
  L.push('', '## Charts', '', ...charts.map((c) => `![${c}](${c})`), '');
  return L.join('\n');
}

/** Chart files of a report: latency CDF per procedure, throughput over time, cost versus N. */
export function renderCharts(r: BenchReport): Record<string, string> {
  const out: Record<string, string> = {};
  const procs = [...new Set(r.runs.flatMap((x) => Object.keys(x.latency)))].sort();
  for (const p of procs) {
    const series: Series[] = r.runs
      .filter((x) => x.latency[p])
      .map((x) => ({ name: `${x.ues} UEs (n=${x.latency[p]!.count})`, points: x.latency[p]!.cdf }));
    out[`latency-cdf-${p.replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '')}.svg`] = lineChart(series, {
      title: `Latency CDF: ${p}`,
      xLabel: 'latency (log scale; points at the histogram bucket bounds)',
      xFormat: fmtSeconds,
      yLabel: 'fraction of procedures',
      logX: true,
      step: true,
      yMin: 0,
      yMax: 1,
    });
  }
  if (r.runs.some((x) => x.series)) {
    out['throughput-over-time.svg'] = lineChart(
      r.runs
        .filter((x) => x.series)
        .map((x) => ({ name: `${x.ues} UEs: PC5 received`, points: x.series!.pc5ReceivedBytesPerSecond })),
      {
        title: 'PC5 throughput over time (all UEs, received)',
        xLabel: 'seconds since the traffic phase started',
        yLabel: 'bytes per second (1 s steps)',
      },
    );
  }
  const byN = (f: (x: RunFigures) => number) =>
    r.runs.map((x) => [x.ues, f(x)] as [number, number]).sort((a, b) => a[0] - b[0]);
  out['cost-vs-n.svg'] = lineChart(
    [
      { name: 'CPU s per UE (whole run)', points: byN((x) => x.cost.cpuSecondsPerUe) },
      { name: 'start-up s per UE', points: byN((x) => (x.ues ? x.startupSeconds / x.ues : 0)) },
    ],
    { title: 'Cost versus number of UEs', xLabel: 'UEs', yLabel: 'seconds per UE', yMin: 0 },
  );
  out['memory-vs-n.svg'] = lineChart(
    [
      { name: 'RSS MiB, all UEs', points: byN((x) => x.cost.rssMiBByRole.ue ?? 0) },
      {
        name: 'RSS MiB, network elements',
        points: byN((x) => (x.cost.rssMiBByRole.kms ?? 0) + (x.cost.rssMiBByRole['prose-function'] ?? 0)),
      },
    ],
    {
      title: 'Memory versus number of UEs (resident set, one process per node)',
      xLabel: 'UEs',
      yLabel: 'MiB',
    },
  );
  return out;
}

/** Writes report.json, report.md and the charts into `dir`; returns the file names. */
export function writeReport(dir: string, r: BenchReport): string[] {
  mkdirSync(dir, { recursive: true });
  const charts = renderCharts(r);
  for (const [f, svg] of Object.entries(charts)) writeFileSync(join(dir, f), svg);
  writeFileSync(join(dir, 'report.json'), `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(join(dir, 'report.md'), renderMarkdown(r, Object.keys(charts)));
  return ['report.json', 'report.md', ...Object.keys(charts)];
}
