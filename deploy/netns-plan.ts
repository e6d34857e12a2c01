// Network-namespace mode, the scenario side (docs/netns.md): the `netns` section (per-link impairments, proximity
// model), each UE's proximity configuration, and the summary section (per UE and time window: peers heard, peers in
// range, peers dropped as out of range, users discovered) with its checks. deploy/netns.ts does the plumbing.
import { z } from 'zod';
import type { NodeStatus } from '../nodes/runtime/protocol.js';
import {
  type Mobility,
  type ProximityConfig,
  type ProximityReport,
  rangeThroughout,
} from '../transport/pc5/proximity.js';

const durationMs = z
  .union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?(ms|s)$/, 'a duration like 20ms or 1.5s')])
  .transform((v) => {
    if (typeof v === 'number') return Math.round(v * 1000);
    const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(v)!;
    return Math.round(Number(m[1]) * (m[2] === 's' ? 1000 : 1));
  })
  .refine((v) => v <= 10_000, 'at most 10 s');

const RATE_UNITS = { bit: 1 / 1000, kbit: 1, mbit: 1000, gbit: 1_000_000 } as const;

/** One link's impairments (the node's veth to the bridge, both directions; docs/netns.md). */
const linkSchema = z
  .object({
    /** One-way delay added in each direction of the link. */
    delay: durationMs.optional(),
    /** Uniform jitter (+/-) around the delay. */
    jitter: durationMs.optional(),
    /** Loss per frame and direction: a percentage (2 or "2%"). */
    loss: z
      .union([
        z.number().min(0).max(100),
        z
          .string()
          .regex(/^\d+(\.\d+)?%$/, 'a percentage like 2%')
          .transform((s) => Number(s.slice(0, -1))),
      ])
      .refine((v) => v >= 0 && v <= 100, 'between 0% and 100%')
      .optional(),
    /** Rate limit: "10mbit", "500kbit" (or a number of kbit/s). */
    rate: z
      .preprocess(
        (v) => (typeof v === 'number' ? `${v}kbit` : v),
        z
          .string()
          .regex(/^\d+(\.\d+)?(bit|kbit|mbit|gbit)$/, 'a rate like 500kbit or 10mbit')
          .transform((s) => {
            const m = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)$/.exec(s)!;
            return Number(m[1]) * RATE_UNITS[m[2] as keyof typeof RATE_UNITS];
          }),
      )
      .refine((v) => v >= 8 && v <= 10_000_000, 'between 8kbit and 10gbit')
      .optional(),
  })
  .strict();

const point = z.object({ x: z.number().finite(), y: z.number().finite() }).strict();
const mobilitySchema = z.union([
  point,
  z
    .object({
      path: z.array(point).min(1).max(100),
      /** Metres per second along the path, from the start of the traffic phase. */
      speed: z.number().nonnegative().max(1000),
      loop: z.boolean().default(false),
    })
    .strict(),
]);

/** Scenario field `netns` (used with `prosec up --netns`). */
export const netnsScenarioSchema = z
  .object({
    /** Per-link impairments: `default` for every node, then per node id. */
    links: z.record(z.string(), linkSchema).default({}),
    /** Proximity model: UE positions and the PC5 range; receivers drop frames from senders out of range. */
    proximity: z
      .object({
        /** PC5 range in metres. */
        range: z.number().positive().max(1_000_000),
        /** Summary window length. */
        window: durationMs.default(2000),
        /** Per UE id; UEs not listed stand at (0, 0). */
        positions: z.record(z.string(), mobilitySchema).default({}),
      })
      .strict()
      .optional(),
  })
  .strict();
export type NetnsScenario = z.output<typeof netnsScenarioSchema>;

export interface LinkParams {
  delayMs: number;
  jitterMs: number;
  lossPct: number;
  rateKbit?: number;
}

/** Cross-field checks (scenario superRefine): link and position keys name nodes of the scenario. */
export function checkNetnsScenario(
  n: NetnsScenario,
  ueIds: Set<string>,
  otherNodeIds: Set<string>,
  duration: number,
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  for (const [k, l] of Object.entries(n.links)) {
    if (k !== 'default' && !ueIds.has(k) && !otherNodeIds.has(k))
      issues.push({ path: ['links', k], message: `no node named ${k} (use default or a node id)` });
    if (l.jitter !== undefined && l.jitter > 0 && (l.delay ?? 0) === 0)
      issues.push({ path: ['links', k, 'jitter'], message: 'jitter needs a delay' });
  }
  if (n.proximity) {
    for (const k of Object.keys(n.proximity.positions))
      if (!ueIds.has(k)) issues.push({ path: ['proximity', 'positions', k], message: `no UE named ${k}` });
    if (n.proximity.window > duration)
      issues.push({ path: ['proximity', 'window'], message: 'longer than the traffic phase' });
  }
  return issues;
}

/** The link parameters of one node: its entry over `default`. */
export function linkFor(n: NetnsScenario | undefined, id: string): LinkParams {
  const d = n?.links.default ?? {};
  const o = n?.links[id] ?? {};
  const rate = o.rate ?? d.rate;
  return {
    delayMs: o.delay ?? d.delay ?? 0,
    jitterMs: o.jitter ?? d.jitter ?? 0,
    lossPct: o.loss ?? d.loss ?? 0,
    ...(rate !== undefined ? { rateKbit: rate } : {}),
  };
}

export function mobilityOf(n: NetnsScenario | undefined, ue: string): Mobility {
  return n?.proximity?.positions[ue] ?? { x: 0, y: 0 };
}

/** A UE's roleConfig.proximity. `emulateDelay`: the kernel has no netem, so the medium holds frames instead. */
export function ueProximityConfig(
  n: NetnsScenario | undefined,
  self: string,
  ues: { id: string; address: string }[],
  emulateDelay: boolean,
): ProximityConfig {
  return {
    self,
    ...(n?.proximity ? { rangeM: n.proximity.range } : {}),
    windowMs: n?.proximity?.window ?? 2000,
    peers: ues.map((u) => {
      const l = linkFor(n, u.id);
      return {
        id: u.id,
        address: u.address,
        mobility: mobilityOf(n, u.id),
        ...(emulateDelay && (l.delayMs > 0 || l.jitterMs > 0)
          ? { delay: { delayMs: l.delayMs, jitterMs: l.jitterMs } }
          : {}),
      };
    }),
  };
}

export interface NetnsWindowCell {
  /** Distinct peers whose frames this UE accepted in the window. */
  heard: number;
  /** Peers that send to a channel this UE listens on and were within range for the whole window. */
  inRange: number;
  /** Distinct peers whose frames were dropped as out of range. */
  outOfRange: number;
  /** Distinct users discovered (any mode). */
  discovered: number;
}

export interface NetnsSummary {
  subnet: string;
  bridgeNamespace: string;
  namespaces: number;
  setupMs: number;
  teardownMs?: number;
  /** 'netem' (kernel), or 'tbf+nft+medium' (kernel without netem: rate by tbf, loss by nftables, delay in the medium). */
  impairment: string;
  links: Record<string, LinkParams>;
  /** Bridge port counters at collection: packets forwarded to and received from each node (kernel). */
  ports?: Record<string, { toNode: number; fromNode: number; dropped: number }>;
  proximity?: {
    rangeM: number;
    windowMs: number;
    ues: {
      id: string;
      windows: NetnsWindowCell[];
      heardFrom: string[];
      neverHeard: string[];
      outOfRangeDropped: number;
      latencyMs: { samples: number; p50: number; p90: number };
    }[];
  };
  problems: string[];
}

/** Builds the proximity part of the summary and its checks from the UEs' reports. */
export function summariseProximity(
  n: NetnsScenario | undefined,
  statuses: NodeStatus[],
  trafficMs: number,
  /** For each UE: the peers whose frames it would hear without the range limit (shared channels with traffic). */
  senders: Map<string, string[]>,
): { proximity: NetnsSummary['proximity']; problems: string[] } {
  const problems: string[] = [];
  if (!n?.proximity) return { proximity: undefined, problems };
  const range = n.proximity.range;
  const windowMs = n.proximity.window;
  // Windows fully inside the traffic phase; a margin at each edge absorbs the UEs' clock start skew and the delay.
  const nWindows = Math.max(0, Math.floor(trafficMs / windowMs));
  const margin = Math.min(500, windowMs / 4);
  const ues: NonNullable<NetnsSummary['proximity']>['ues'] = [];
  for (const st of statuses) {
    if (st.role !== 'ue') continue;
    const rep = (st.details as { proximity?: ProximityReport }).proximity;
    if (!rep) continue;
    const me = mobilityOf(n, st.id);
    const cand = senders.get(st.id) ?? [];
    const windows: NetnsWindowCell[] = [];
    const heardAll = new Set<string>();
    let dropped = 0;
    for (const w of rep.windows) {
      for (const k of Object.keys(w.heard)) heardAll.add(k);
      for (const v of Object.values(w.outOfRange)) dropped += v;
    }
    for (let i = 0; i < nWindows; i++) {
      const w = rep.windows[i] ?? { heard: {}, outOfRange: {}, discovered: {} };
      const from = i * windowMs + margin;
      const to = (i + 1) * windowMs - margin;
      const inside = cand.filter((p) => rangeThroughout(me, mobilityOf(n, p), range, from, to, true));
      // Out of range over the whole window and its margins: not one frame may be heard.
      const outside = cand.filter((p) =>
        rangeThroughout(
          me,
          mobilityOf(n, p),
          range,
          Math.max(0, i * windowMs - margin),
          (i + 1) * windowMs + margin,
          false,
        ),
      );
      windows.push({
        heard: Object.keys(w.heard).length,
        inRange: inside.length,
        outOfRange: Object.keys(w.outOfRange).length,
        discovered: Object.keys(w.discovered).length,
      });
      const missed = inside.filter((p) => !(p in w.heard));
      if (missed.length)
        problems.push(
          `netns: ${st.id} heard nothing from ${missed} in window ${i} although they were in range`,
        );
      const leaked = outside.filter((p) => p in w.heard);
      if (leaked.length)
        problems.push(`netns: ${st.id} heard ${leaked} in window ${i} although they were out of range`);
    }
    ues.push({
      id: st.id,
      windows,
      heardFrom: [...heardAll].sort(),
      neverHeard: cand.filter((p) => !heardAll.has(p)).sort(),
      outOfRangeDropped: dropped,
      latencyMs: rep.latencyMs,
    });
  }
  ues.sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
  return { proximity: { rangeM: range, windowMs, ues }, problems };
}

/**
 * Pairs (monitor UE, announcer UE) that stay in range long enough to discover each other (`solid`), and those that
 * are ever in range (`ever`): discovery must find the first and may find only the second (deploy/discovery-plan.ts).
 */
export function discoveryReach(
  n: NetnsScenario | undefined,
  trafficMs: number,
  needMs: number,
): { solid: (a: string, b: string) => boolean; ever: (a: string, b: string) => boolean } | undefined {
  const p = n?.proximity;
  if (!p) return undefined;
  const step = 100;
  const inRange = (a: string, b: string, t: number) =>
    rangeThroughout(mobilityOf(n, a), mobilityOf(n, b), p.range, t, t, true);
  return {
    solid: (a, b) => {
      let run = 0;
      for (let t = 0; t <= trafficMs; t += step) {
        run = inRange(a, b, t) ? run + step : 0;
        if (run >= needMs) return true;
      }
      return false;
    },
    ever: (a, b) => {
      for (let t = 0; t <= trafficMs + 1000; t += step) if (inRange(a, b, t)) return true;
      return false;
    },
  };
}

export function formatNetns(s: NetnsSummary | undefined): string[] {
  if (!s) return [];
  const lines = [
    '',
    `netns: ${s.namespaces} namespaces on bridge ${s.bridgeNamespace} (${s.subnet}), set up in ${s.setupMs} ms${s.teardownMs !== undefined ? `, torn down in ${s.teardownMs} ms` : ''}; impairments by ${s.impairment}`,
  ];
  const links = Object.entries(s.links).filter(([, l]) => l.delayMs || l.jitterMs || l.lossPct || l.rateKbit);
  const fmt = (l: LinkParams) =>
    [
      l.delayMs ? `delay ${l.delayMs}ms` : '',
      l.jitterMs ? `jitter ${l.jitterMs}ms` : '',
      l.lossPct ? `loss ${l.lossPct}%` : '',
      l.rateKbit ? `rate ${l.rateKbit}kbit` : '',
    ]
      .filter(Boolean)
      .join(' ');
  const byFmt = new Map<string, string[]>();
  for (const [id, l] of links) byFmt.set(fmt(l), [...(byFmt.get(fmt(l)) ?? []), id]);
  for (const [f, ids] of byFmt)
    lines.push(`  links ${f}: ${ids.length > 4 ? `${ids.length} nodes` : ids.join(', ')}`);
  const p = s.proximity;
  if (p) {
    lines.push(
      `  proximity: range ${p.rangeM} m; per ${p.windowMs / 1000} s window: heard/in range (peers), x = dropped out of range, d = users discovered`,
    );
    const nW = Math.max(0, ...p.ues.map((u) => u.windows.length));
    const head = ['UE', ...Array.from({ length: nW }, (_, i) => `t${(i * p.windowMs) / 1000}s`), 'p50 ms'];
    const rows = p.ues.map((u) => [
      u.id,
      ...u.windows.map((w) => `${w.heard}/${w.inRange} x${w.outOfRange} d${w.discovered}`),
      String(u.latencyMs.p50),
    ]);
    const cells = [head, ...rows];
    const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
    for (const r of cells)
      lines.push(
        `  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`,
      );
  }
  return lines;
}
