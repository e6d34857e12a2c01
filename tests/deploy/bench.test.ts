// prosec bench: histogram maths, the comparison, and a real two-point sweep through the CLI.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareReports } from '../../deploy/bench/compare.js';
import { cdf, histogramsFrom, quantile } from '../../deploy/bench/histogram.js';
import type { BenchReport } from '../../deploy/bench/report.js';
import { lineChart } from '../../deploy/bench/svg.js';
import { parsePrometheusText } from '../../deploy/prom-text.js';
import { findPrometheus } from '../../deploy/prometheus.js';
import { runCli } from '../helpers/processes.js';

const TEXT = `
x_seconds_bucket{procedure="a",le="0.001"} 0
x_seconds_bucket{procedure="a",le="0.01"} 2
x_seconds_bucket{procedure="a",le="0.1"} 10
x_seconds_bucket{procedure="a",le="+Inf"} 10
x_seconds_sum{procedure="a"} 0.3
x_seconds_count{procedure="a"} 10
x_seconds_bucket{procedure="a",le="0.001"} 0
x_seconds_bucket{procedure="a",le="0.01"} 0
x_seconds_bucket{procedure="a",le="0.1"} 0
x_seconds_bucket{procedure="a",le="+Inf"} 10
x_seconds_sum{procedure="a"} 50
x_seconds_count{procedure="a"} 10
`;

test('histograms from several nodes are summed; quantiles interpolate inside buckets like histogram_quantile', () => {
  const h = histogramsFrom(parsePrometheusText(TEXT), 'x_seconds', ['procedure']).get('a')!;
  assert.equal(h.count, 20);
  assert.equal(h.sum, 50.3);
  assert.deepEqual(h.buckets, [
    [0.001, 0],
    [0.01, 2],
    [0.1, 10],
    [Infinity, 20],
  ]);
  // rank 2 of 20 is the top of the 1-10 ms bucket; rank 6 is half-way into 10-100 ms.
  assert.ok(Math.abs(quantile(h, 0.1) - 0.01) < 1e-12);
  assert.ok(Math.abs(quantile(h, 0.3) - 0.055) < 1e-12);
  // In the +Inf bucket: the highest finite bound.
  assert.equal(quantile(h, 0.99), 0.1);
  assert.deepEqual(cdf(h), [
    [0.001, 0],
    [0.01, 0.1],
    [0.1, 0.5],
  ]);
});

test('compare: figures of the same UE count are paired and their relative change computed', () => {
  const base = (cpu: number): BenchReport =>
    ({
      v: 1,
      tool: 'prosec bench',
      createdAt: '',
      runs: [
        { ues: 10, startupSeconds: 2, cost: { cpuSecondsPerUe: cpu }, latency: { p: { cdf: [[1, 1]] } } },
      ],
    }) as unknown as BenchReport;
  const d = compareReports(base(0.5), base(0.75));
  const cpu = d.find((x) => x.figure === 'cost.cpuSecondsPerUe')!;
  assert.equal(cpu.relative, 0.5);
  assert.equal(d.find((x) => x.figure === 'startupSeconds')!.relative, 0);
  assert.ok(!d.some((x) => x.figure.includes('cdf')), 'arrays are not compared');
});

test('lineChart draws one polyline per series, skips non-finite points and says when there is no data', () => {
  const svg = lineChart(
    [
      {
        name: 'a',
        points: [
          [1, 1],
          [2, Number.NaN],
          [3, 2],
        ],
      },
      { name: 'b<c', points: [[0.001, 0.5]] },
    ],
    { title: 't', xLabel: 'x', yLabel: 'y', logX: true },
  );
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal(svg.match(/<polyline /g)?.length, 2);
  assert.match(svg, /data-series="b&lt;c"/);
  assert.doesNotMatch(svg, /NaN|Infinity/);
  assert.match(lineChart([], { title: 't', xLabel: 'x', yLabel: 'y' }), /no data/);
});

const SCENARIO = `name: bench-test
duration: 2s
roles: { ue: 2 }
groups:
  - { id: team, members: all }
traffic: { groupRate: 10, payloadBytes: 100 }
metrics: { processMetrics: false }
`;

test('prosec bench --ues 2,4 writes report.json, report.md and SVG charts; --compare shows the difference', {
  timeout: 150_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-bench-'));
  const scenarioFile = join(dir, 'scenario.yaml');
  writeFileSync(scenarioFile, SCENARIO);
  const out = join(dir, 'report');
  const run = runCli(['bench', scenarioFile, '--ues', '2,4', '--out', out, '--runs-dir', join(dir, 'runs')], {
    timeoutMs: 140_000,
  });
  const { code } = await run.exit;
  assert.equal(code, 0, `${run.stderr()}\n${run.stdout()}`);
  assert.match(run.stderr(), /\[#+-*\]\s+\d+% run 1\/2: 2 UEs/, 'a progress bar');
  const r = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as BenchReport;
  assert.deepEqual(
    r.runs.map((x) => [x.ues, x.ok, x.cost.processes]),
    [
      [2, true, 4],
      [4, true, 6],
    ],
  );
  for (const x of r.runs) {
    const tls = x.latency['key_setup:pc3_tls/tls13_ecdhe_cert'];
    assert.ok(tls, 'key-setup latency of the PC3 TLS handshake');
    assert.equal(tls.count, x.ues);
    assert.ok(tls.p50Seconds > 0 && tls.p50Seconds <= tls.p95Seconds && tls.p95Seconds <= tls.p99Seconds);
    assert.equal(x.latency.pc3_registration?.count, x.ues);
    // Each UE sends 10 frames/s to its group of N; each frame reaches the N-1 others.
    assert.ok(x.pc5.sentFrames >= x.ues * 10, `PC5 frames sent: ${x.pc5.sentFrames}`);
    assert.ok(x.pc5.receivedFrames >= x.pc5.sentFrames * (x.ues - 1) * 0.9);
    assert.ok(x.pc3.sentBytes > 0 && x.pc3.receivedBytes > 0);
    assert.ok((x.cost.cpuSecondsByRole.ue ?? 0) > 0, 'CPU seconds from /proc without process metrics');
    if (r.prometheus)
      assert.ok((x.series?.pc5ReceivedBytesPerSecond.length ?? 0) >= 2, 'a throughput time series');
  }
  assert.equal(r.prometheus, findPrometheus() !== undefined);
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  assert.match(md, /\| 4 \| 6 \| OK \|/);
  for (const f of [
    'latency-cdf-key-setup-pc3-tls-tls13-ecdhe-cert.svg',
    'cost-vs-n.svg',
    'memory-vs-n.svg',
  ]) {
    assert.ok(existsSync(join(out, f)), f);
    assert.match(md, new RegExp(`!\\[${f}\\]`));
  }
  if (r.prometheus) assert.ok(existsSync(join(out, 'throughput-over-time.svg')));

  const b = structuredClone(r);
  b.runs[0]!.startupSeconds = r.runs[0]!.startupSeconds * 2;
  const bFile = join(dir, 'b.json');
  writeFileSync(bFile, JSON.stringify(b));
  const cmp = runCli(['bench', '--compare', join(out, 'report.json'), bFile]);
  assert.equal((await cmp.exit).code, 0, cmp.stderr());
  assert.match(cmp.stdout(), /\| 2 \| startupSeconds \| [\d.]+ \| [\d.]+ \| \+100\.0% \|/);
  assert.match(cmp.stdout(), /\| 4 \| startupSeconds \| [\d.]+ \| [\d.]+ \| \+0\.0% \|/);
});
