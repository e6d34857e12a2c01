// Packed-mode scale sweep (issue #10/#6): for each N, `prosec up scenarios/scale.yaml --ues N --pack K` in this
// process; records RSS of the UE processes (total, per UE), CPU-seconds per UE (start-up + run), group call
// set-up latency (initiator's first packet -> member's key installed, p50/p99), start-up time, KMS/PF CPU.
// Writes report.json, report.md and SVG charts to --out (default docs/scale).
// Usage: npm run bench:scale -- [--ues 10,100,500,1000,2000] [--pack 250] [--out docs/scale] [--media-rate R]
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { lineChart } from '../deploy/bench/svg.js';
import { Run } from '../deploy/orchestrator.js';
import type { NodeHandle } from '../deploy/pack.js';
import { loadScenario } from '../deploy/scenario.js';
import { REPO_ROOT } from '../tests/helpers/paths.js';

const CLK_TCK = 100; // Linux USER_HZ

function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (fields 14, 15)
  } catch {
    return 0;
  }
}

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

interface Point {
  ues: number;
  packHosts: number;
  ok: boolean;
  problems: string[];
  startupSeconds: number;
  ueRssMiB: number;
  ueRssKiBPerUe: number;
  ueCpuSeconds: number;
  ueCpuMsPerUe: number;
  kmsCpuSeconds: number;
  pfCpuSeconds: number;
  callSetupMs: { n: number; p50: number; p99: number } | undefined;
  gmkInstalls: number;
  udpSocketDrops: number;
  loadAvg1m: number;
}

const { values } = parseArgs({
  options: {
    ues: { type: 'string', default: '10,100,500,1000,2000' },
    pack: { type: 'string', default: '250' },
    out: { type: 'string', default: join(REPO_ROOT, 'docs', 'scale') },
    /** Override of the call's media rate (packets/s per sender; 0: call set-up only, no media load). */
    'media-rate': { type: 'string' },
  },
});
const mediaRate = values['media-rate'] === undefined ? undefined : Number(values['media-rate']);
const sizes = values.ues.split(',').map(Number);
const pack = Number(values.pack);
const out = resolve(values.out);
mkdirSync(out, { recursive: true });
const file = join(REPO_ROOT, 'scenarios', 'scale.yaml');
const points: Point[] = [];

for (const n of sizes) {
  const scenario = loadScenario(file, { ues: n });
  if (mediaRate !== undefined && scenario.groupSecurity) scenario.groupSecurity.media.rate = mediaRate;
  let nodes: NodeHandle[] = [];
  const sample = { ueCpu: 0, ueRss: 0, kmsCpu: 0, pfCpu: 0, hosts: 0 };
  const run = new Run({
    scenario,
    scenarioFile: file,
    runsDir: mkdtempSync(join(tmpdir(), 'prosec-scale-')),
    progress: (l) => process.stderr.write(`[N=${n}] ${l}\n`),
    pack,
    onReady: (ns) => {
      nodes = [...ns];
    },
    onCollected: async () => {
      const uePids = new Set(nodes.filter((x) => x.role === 'ue').map((x) => x.pid));
      sample.hosts = uePids.size;
      for (const pid of uePids) {
        sample.ueCpu += cpuSeconds(pid);
        sample.ueRss += rssBytes(pid);
      }
      for (const x of nodes) {
        if (x.role === 'kms') sample.kmsCpu += cpuSeconds(x.pid);
        if (x.role === 'prose-function') sample.pfCpu += cpuSeconds(x.pid);
      }
    },
  });
  const s = await run.execute();
  const g = s.groupSecurity?.groups[0];
  const ue = s.roles.find((r) => r.role === 'ue');
  const p: Point = {
    ues: n,
    packHosts: sample.hosts,
    ok: s.ok,
    problems: s.problems.slice(0, 5),
    startupSeconds: s.startupSeconds,
    ueRssMiB: Math.round((sample.ueRss / 1048576) * 10) / 10,
    ueRssKiBPerUe: Math.round(sample.ueRss / 1024 / n),
    ueCpuSeconds: Math.round(sample.ueCpu * 100) / 100,
    ueCpuMsPerUe: Math.round((sample.ueCpu * 1000) / n),
    kmsCpuSeconds: sample.kmsCpu,
    pfCpuSeconds: sample.pfCpu,
    callSetupMs: g?.callSetupMs,
    gmkInstalls: g?.gmkInstalls ?? 0,
    udpSocketDrops: ue?.pc5FramesDropped ?? 0,
    loadAvg1m: Math.round(loadavg()[0]! * 100) / 100,
  };
  points.push(p);
  process.stderr.write(`${JSON.stringify(p)}\n`);
  writeReport();
}

function writeReport(): void {
  writeFileSync(join(out, 'report.json'), `${JSON.stringify({ pack, points }, null, 2)}\n`);
  const rows = points.map(
    (p) =>
      `| ${p.ues} | ${p.packHosts} | ${p.ok ? 'yes' : 'no'} | ${p.startupSeconds} | ${p.ueRssMiB} | ${p.ueRssKiBPerUe} | ${p.ueCpuMsPerUe} | ${p.kmsCpuSeconds} | ${p.pfCpuSeconds} | ${p.callSetupMs ? `${p.callSetupMs.p50} / ${p.callSetupMs.p99} (n=${p.callSetupMs.n})` : '-'} | ${p.udpSocketDrops} | ${p.loadAvg1m} |`,
  );
  const md = [
    `# Packed-mode scale sweep (--pack ${pack}, scenarios/scale.yaml)`,
    '',
    'Generated by `npm run bench:scale`. RSS and CPU are of the pack host processes only (KMS and ProSe Function',
    'CPU listed separately); CPU covers start-up (enrollment, PC3 registration) and the run. Call set-up: from the',
    "initiator's first packet to each member's key installed, over all members.",
    '',
    '| N UEs | processes | ok | start-up s | UE RSS MiB | KiB/UE | CPU ms/UE | KMS CPU s | PF CPU s | call set-up ms p50 / p99 | PC5 drops | load 1m |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    '![memory](memory.svg) ![cpu](cpu.svg) ![call set-up](call-setup.svg) ![start-up](startup.svg)',
    '',
  ].join('\n');
  writeFileSync(join(out, 'report.md'), md);
  const chart = (name: string, title: string, yLabel: string, pts: [number, number][]) =>
    writeFileSync(
      join(out, name),
      lineChart([{ name: title, points: pts }], { title, xLabel: 'UEs (N)', yLabel, logX: true, yMin: 0 }),
    );
  chart(
    'memory.svg',
    'RSS per UE (KiB)',
    'KiB',
    points.map((p) => [p.ues, p.ueRssKiBPerUe]),
  );
  chart(
    'cpu.svg',
    'CPU per UE (ms, start-up + run)',
    'ms',
    points.map((p) => [p.ues, p.ueCpuMsPerUe]),
  );
  chart(
    'startup.svg',
    'Start-up time (s)',
    's',
    points.map((p) => [p.ues, p.startupSeconds]),
  );
  const withCalls = points.filter((p) => p.callSetupMs);
  writeFileSync(
    join(out, 'call-setup.svg'),
    lineChart(
      [
        { name: 'p50', points: withCalls.map((p) => [p.ues, p.callSetupMs!.p50]) },
        { name: 'p99', points: withCalls.map((p) => [p.ues, p.callSetupMs!.p99]) },
      ],
      {
        title: 'Group call set-up to every member (ms)',
        xLabel: 'UEs (N)',
        yLabel: 'ms',
        logX: true,
        yMin: 0,
      },
    ),
  );
}
