// prosec bench [scenario] [--ues 10,100,500] [--duration 10s] [--out DIR]   and   prosec bench --compare a.json b.json
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Run } from '../orchestrator.js';
import { findPrometheus, INSTALL_HINT } from '../prometheus.js';
import { DEFAULT_SCENARIO_FILE, loadScenario } from '../scenario.js';
import { type Collected, collect, figures, type RunFigures } from './collect.js';
import { renderComparison } from './compare.js';
import { ProgressBar, runFraction } from './progress.js';
import { type BenchReport, hostInfo, writeReport } from './report.js';
import { BENCH_USAGE } from './usage.js';

export async function benchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ues: { type: 'string' },
      duration: { type: 'string' },
      out: { type: 'string' },
      'runs-dir': { type: 'string' },
      compare: { type: 'boolean', default: false },
      'no-prometheus': { type: 'boolean', default: false },
    },
  });
  if (values.compare) {
    if (positionals.length !== 2) {
      console.error(`prosec bench --compare: give two report.json files\n${BENCH_USAGE}`);
      return 2;
    }
    const [a, b] = positionals.map((p) => resolve(p)) as [string, string];
    const md = renderComparison(a, b, readReport(a), readReport(b));
    if (values.out) writeFileSync(resolve(values.out), md);
    console.log(md);
    return 0;
  }
  const file = positionals[0] ? resolve(positionals[0]) : DEFAULT_SCENARIO_FILE;
  const sweep = values.ues === undefined ? [undefined] : values.ues.split(',').map((x) => Number(x.trim()));
  if (sweep.some((n) => n !== undefined && !(Number.isInteger(n) && n >= 0))) {
    console.error(`prosec bench: --ues takes whole numbers separated by commas, got '${values.ues}'`);
    return 2;
  }
  const scenarios = sweep.map((n) => loadScenario(file, { ues: n, duration: values.duration }));
  const usePrometheus = !values['no-prometheus'] && findPrometheus() !== undefined;
  if (!values['no-prometheus'] && !usePrometheus)
    console.error(`prosec bench: ${INSTALL_HINT} Continuing without time series.`);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const outDir = resolve(values.out ?? join('bench-reports', stamp));
  const runsDir = resolve(values['runs-dir'] ?? 'runs');
  const bar = new ProgressBar();
  const results: RunFigures[] = [];
  let current: Run | undefined;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    current?.abort('interrupted');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    for (const [i, s] of scenarios.entries()) {
      if (interrupted) break;
      const ues = s.roles.ue;
      let frac = 0;
      const label = (what: string) => `run ${i + 1}/${scenarios.length}: ${ues} UEs, ${what}`;
      let collected: Collected | undefined;
      const run = new Run({
        scenario: s,
        scenarioFile: file,
        runsDir,
        prometheus: usePrometheus,
        progress: (line) => {
          if (line.startsWith('!!') || line.startsWith('network:') || line.startsWith('prometheus:'))
            bar.log(line);
          frac = runFraction(line, s.duration / 1000, frac);
          bar.update((i + frac) / scenarios.length, label(line.trim()));
        },
        onCollected: async (r, window) => {
          bar.update((i + 0.96) / scenarios.length, label('collecting'));
          collected = await collect(r, window);
        },
      });
      current = run;
      bar.update(i / scenarios.length, label('starting'));
      const summary = await run.execute();
      const f = figures(ues, collected, summary);
      results.push(f);
      bar.log(
        `${ues} UEs: ${summary.ok ? 'OK' : 'FAILED'}, start-up ${f.startupSeconds} s, PC5 ${f.pc5.receivedFrames} frames received, ` +
          `${f.cost.cpuSecondsPerUe} CPU s per UE (run ${summary.runId})`,
      );
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    bar.update(1, interrupted ? 'interrupted' : 'done');
    bar.done();
  }
  const report: BenchReport = {
    v: 1,
    tool: 'prosec bench',
    createdAt: new Date().toISOString(),
    scenario: { file, name: scenarios[0]!.name, durationSeconds: scenarios[0]!.duration / 1000 },
    host: hostInfo(),
    prometheus: usePrometheus,
    runs: results,
  };
  const files = writeReport(outDir, report);
  console.log(`prosec bench: report in ${outDir}: ${files.join(', ')}`);
  if (interrupted) return 130;
  return results.every((r) => r.ok) ? 0 : 1;
}

function readReport(f: string): BenchReport {
  const r = JSON.parse(readFileSync(f, 'utf8')) as BenchReport;
  if (r.tool !== 'prosec bench' || !Array.isArray(r.runs))
    throw new Error(`${f} is not a prosec bench report.json`);
  return r;
}
