// Figures of one bench run: collected while the nodes still run (end-of-run scrape of every node, Prometheus
// time series when Prometheus runs), completed from the run summary.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Run, RunSummary } from '../orchestrator.js';
import { type Sample, scrape, sumOf } from '../prom-text.js';
import { queryRange } from '../prometheus.js';
import { cdf, type Histogram, histogramsFrom, quantile } from './histogram.js';

export interface LatencyFigures {
  count: number;
  meanSeconds: number;
  p50Seconds: number;
  p95Seconds: number;
  p99Seconds: number;
  /** CDF at the histogram bounds: [seconds, fraction]. */
  cdf: [number, number][];
}

export interface RunFigures {
  ues: number;
  runId: string;
  runDir: string;
  ok: boolean;
  problems: string[];
  startupSeconds: number;
  trafficSeconds: number;
  /** Key: `key_setup:<procedure>/<method>` (prosec_key_setup_seconds, result ok), `pc3_registration`, `enrollment`. */
  latency: Record<string, LatencyFigures>;
  pc5: {
    sentFrames: number;
    receivedFrames: number;
    droppedFrames: number;
    sentBytes: number;
    receivedBytes: number;
    receivedBytesPerSecond: number;
    receivedFramesPerSecond: number;
  };
  pc3: { sentFrames: number; receivedFrames: number; sentBytes: number; receivedBytes: number };
  /** UE-to-network relay user-data octets by direction (scenarios with a relay part). */
  relay?: { uplinkBytes: number; downlinkBytes: number };
  cost: {
    processes: number;
    /** Node processes whose metrics were collected (the figures cover these). */
    scrapedNodes: number;
    cpuSecondsByRole: Record<string, number>;
    cpuSecondsPerUe: number;
    rssMiBByRole: Record<string, number>;
    rssMiBPerUe: number;
  };
  /** Seconds since the traffic phase started -> rate; from Prometheus (absent without it). */
  series?: { pc5ReceivedBytesPerSecond: [number, number][]; pc5SentBytesPerSecond: [number, number][] };
}

export interface Collected {
  samples: Map<string, { role: string; pid: number; samples: Sample[] }>;
  series?: RunFigures['series'];
}

function latency(h: Histogram): LatencyFigures {
  return {
    count: h.count,
    meanSeconds: h.sum / h.count,
    p50Seconds: quantile(h, 0.5),
    p95Seconds: quantile(h, 0.95),
    p99Seconds: quantile(h, 0.99),
    cdf: cdf(h),
  };
}

/** CPU seconds (user + system) of a live process from /proc (Linux), for nodes without process metrics. */
function procCpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return 0;
  }
}

/** Runs while every node is still up (UpOptions.onCollected). */
export async function collect(
  run: Run,
  window: { trafficStart: number; trafficEnd: number },
): Promise<Collected> {
  const state = JSON.parse(readFileSync(join(run.runDir, 'run.json'), 'utf8')) as {
    nodes: { id: string; role: string; pid: number; metricsPort: number }[];
  };
  const samples = new Map<string, { role: string; pid: number; samples: Sample[] }>();
  // A loaded machine answers slowly: a few scrapes at a time, a generous timeout, one retry.
  const queue = [...state.nodes];
  const worker = async () => {
    for (let n = queue.shift(); n; n = queue.shift()) {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const s = await scrape(`http://127.0.0.1:${n.metricsPort}/metrics`, 15_000);
          if (!s.some((x) => x.name === 'process_cpu_seconds_total'))
            s.push({ name: 'process_cpu_seconds_total', labels: {}, value: procCpuSeconds(n.pid) });
          samples.set(n.id, { role: n.role, pid: n.pid, samples: s });
          break;
        } catch {
          /* retried once; a node that still cannot be scraped is counted in scrapedNodes */
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  let series: RunFigures['series'];
  const prom = run.prometheusServer;
  if (prom) {
    const sel = `run="${run.runId}"`;
    const t0 = Math.floor(window.trafficStart) - 3;
    const t1 = Math.ceil(window.trafficEnd) + 1;
    // The summed counter at every second, differentiated here: per-second rates without a PromQL rate window.
    const perSecond = async (metric: string) => {
      const r = await queryRange(prom.url, `sum(${metric}{${sel}})`, t0, t1, 1);
      const v = (r[0]?.values ?? []).map(([t, x]) => [t, Number(x)] as [number, number]);
      const out: [number, number][] = [];
      for (let i = 1; i < v.length; i++) {
        const [ta, a] = v[i - 1]!;
        const [tb, b] = v[i]!;
        if (Number.isFinite(a) && Number.isFinite(b) && b >= a)
          out.push([round(tb - window.trafficStart, 3), round((b - a) / (tb - ta), 1)]);
      }
      return out;
    };
    series = {
      pc5ReceivedBytesPerSecond: await perSecond('prosec_pc5_received_bytes_total'),
      pc5SentBytesPerSecond: await perSecond('prosec_pc5_sent_bytes_total'),
    };
  }
  return { samples, series };
}

/** Turns what was collected and the run summary into the figures of the report. */
export function figures(ues: number, c: Collected | undefined, s: RunSummary): RunFigures {
  const all = [...(c?.samples.values() ?? [])].flatMap((x) => x.samples);
  const total = (name: string) => sumOf(all, name);
  const lat: Record<string, LatencyFigures> = {};
  // Successful key setups: every procedure labels them result="ok" (failures "failed").
  const success = (x: Sample) => x.labels.result === undefined || x.labels.result === 'ok';
  for (const [k, h] of histogramsFrom(all.filter(success), 'prosec_key_setup_seconds', [
    'procedure',
    'method',
  ]))
    lat[`key_setup:${k}`] = latency(h);
  const reg = histogramsFrom(
    all.filter((x) => x.labels.result === undefined || x.labels.result === 'accepted'),
    'prosec_pc3_registration_seconds',
    [],
  ).get('');
  if (reg) lat.pc3_registration = latency(reg);
  const enr = histogramsFrom(
    all.filter((x) => x.labels.result === undefined || x.labels.result === 'ok'),
    'prosec_enrollment_seconds',
    [],
  ).get('');
  if (enr) lat.enrollment = latency(enr);
  const cpu: Record<string, number> = {};
  for (const x of c?.samples.values() ?? [])
    cpu[x.role] = round((cpu[x.role] ?? 0) + sumOf(x.samples, 'process_cpu_seconds_total'), 3);
  const rss: Record<string, number> = {};
  for (const n of s.nodes) rss[n.role] = round((rss[n.role] ?? 0) + n.rssBytes / 1048576, 1);
  const ueCount = s.nodes.filter((n) => n.role === 'ue').length || 1;
  const traffic = s.trafficSeconds || 1;
  const received = total('prosec_pc5_received_bytes_total');
  return {
    ues,
    runId: s.runId,
    runDir: s.runDir,
    ok: s.ok && (c?.samples.size ?? 0) === s.nodes.length,
    problems: [
      ...s.problems,
      ...((c?.samples.size ?? 0) < s.nodes.length
        ? [`bench: metrics of only ${c?.samples.size ?? 0} of ${s.nodes.length} nodes could be collected`]
        : []),
    ],
    startupSeconds: s.startupSeconds,
    trafficSeconds: s.trafficSeconds,
    latency: lat,
    pc5: {
      sentFrames: total('prosec_pc5_frames_sent_total'),
      receivedFrames: total('prosec_pc5_frames_received_total'),
      droppedFrames: total('prosec_pc5_frames_dropped_total'),
      sentBytes: total('prosec_pc5_sent_bytes_total'),
      receivedBytes: received,
      receivedBytesPerSecond: round(received / traffic, 1),
      receivedFramesPerSecond: round(total('prosec_pc5_frames_received_total') / traffic, 1),
    },
    pc3: {
      sentFrames: total('prosec_pc3_frames_sent_total'),
      receivedFrames: total('prosec_pc3_frames_received_total'),
      sentBytes: total('prosec_pc3_sent_bytes_total'),
      receivedBytes: total('prosec_pc3_received_bytes_total'),
    },
    ...(total('prosec_relay_bytes_total') > 0
      ? {
          relay: {
            uplinkBytes: sumOf(all, 'prosec_relay_bytes_total', { direction: 'uplink' }),
            downlinkBytes: sumOf(all, 'prosec_relay_bytes_total', { direction: 'downlink' }),
          },
        }
      : {}),
    cost: {
      processes: s.nodes.length,
      scrapedNodes: c?.samples.size ?? 0,
      cpuSecondsByRole: cpu,
      cpuSecondsPerUe: round((cpu.ue ?? 0) / ueCount, 4),
      rssMiBByRole: rss,
      rssMiBPerUe: round((rss.ue ?? 0) / ueCount, 2),
    },
    ...(c?.series ? { series: c.series } : {}),
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
