// Proximity model for PC5 in network-namespace mode (docs/netns.md): UE positions (static, or a path of waypoints
// walked at a speed), a PC5 range in metres, and a receive policy for the UDP medium that drops frames whose sender
// is out of range (counted as out_of_range) and can hold frames for an emulated link delay when the kernel has no
// netem. Every UE evaluates the same pure geometry against its own clock, started at the traffic phase.
import type { Pc5Address, Pc5DropReason } from './medium.js';

export interface Point {
  x: number;
  y: number;
}

/** A UE's mobility: a fixed point, or waypoints walked at `speed` m/s from the start of the traffic phase. */
export type Mobility =
  | Point
  | {
      path: Point[];
      /** Metres per second. */
      speed: number;
      /** Walk back and forth along the path instead of stopping at its end. */
      loop?: boolean;
    };

/** Position of a UE at `tMs` milliseconds after the start of the traffic phase (t < 0 counts as 0). */
export function positionAt(m: Mobility, tMs: number): Point {
  if (!('path' in m)) return { x: m.x, y: m.y };
  const pts = m.path;
  if (pts.length === 1 || m.speed <= 0) return { ...pts[0]! };
  const legs: number[] = [];
  let total = 0;
  for (let i = 1; i < pts.length; i++) {
    const d = Math.hypot(pts[i]!.x - pts[i - 1]!.x, pts[i]!.y - pts[i - 1]!.y);
    legs.push(d);
    total += d;
  }
  if (total === 0) return { ...pts[0]! };
  let s = (Math.max(0, tMs) / 1000) * m.speed;
  if (m.loop) {
    s %= 2 * total;
    if (s > total) s = 2 * total - s;
  } else if (s >= total) return { ...pts[pts.length - 1]! };
  for (let i = 0; i < legs.length; i++) {
    const leg = legs[i]!;
    if (s <= leg || i === legs.length - 1) {
      const f = leg === 0 ? 0 : Math.min(1, s / leg);
      const a = pts[i]!;
      const b = pts[i + 1]!;
      return { x: a.x + f * (b.x - a.x), y: a.y + f * (b.y - a.y) };
    }
    s -= leg;
  }
  return { ...pts[pts.length - 1]! };
}

export function distanceAt(a: Mobility, b: Mobility, tMs: number): number {
  const p = positionAt(a, tMs);
  const q = positionAt(b, tMs);
  return Math.hypot(p.x - q.x, p.y - q.y);
}

/** Whether a and b stay within `range` (or, with want=false, beyond it) over [fromMs, toMs], sampled every stepMs. */
export function rangeThroughout(
  a: Mobility,
  b: Mobility,
  range: number,
  fromMs: number,
  toMs: number,
  want: boolean,
  stepMs = 50,
): boolean {
  for (let t = fromMs; t <= toMs; t += stepMs) {
    if (distanceAt(a, b, t) <= range !== want) return false;
  }
  return distanceAt(a, b, toMs) <= range === want;
}

/** What the medium does with one received datagram. */
export type Pc5Admission = { drop: Pc5DropReason } | { delayMs: number };

/** Consulted by the UDP medium for every received datagram, before decoding (docs/netns.md). */
export interface Pc5ReceivePolicy {
  admit(from: Pc5Address): Pc5Admission;
}

/** A link's emulated delay (used only when the kernel has no netem; otherwise the kernel delays). */
export interface LinkDelay {
  delayMs: number;
  jitterMs: number;
}

/** Proximity configuration a UE receives from the orchestrator (roleConfig.proximity). */
export interface ProximityConfig {
  /** This UE's id. */
  self: string;
  /** PC5 range in metres; absent: no range limit (only the link delay applies). */
  rangeM?: number;
  /** Summary window length (ms). */
  windowMs: number;
  /** Every UE of the run: its bridge address, mobility, and (without netem) its link delay. */
  peers: { id: string; address: string; mobility: Mobility; delay?: LinkDelay }[];
}

interface WindowCounts {
  /** Frames accepted, by sender id. */
  heard: Map<string, number>;
  /** Frames dropped as out of range, by sender id. */
  outOfRange: Map<string, number>;
  /** Discovery matches, by discovered ALUID. */
  discovered: Map<string, number>;
}

export interface ProximityWindowReport {
  heard: Record<string, number>;
  outOfRange: Record<string, number>;
  discovered: Record<string, number>;
}

export interface ProximityReport {
  epochMs: number | undefined;
  windowMs: number;
  windows: ProximityWindowReport[];
  /** One-way latency of group test frames (send time in the payload, monotonic clock shared by the host), ms. */
  latencyMs: { samples: number; p50: number; p90: number };
}

const MAX_WINDOWS = 10_000;
const MAX_LATENCY_SAMPLES = 4096;

/** The receive policy of one UE: out-of-range drops, optional emulated delay, per-window counts for the summary. */
export class ProximityPolicy implements Pc5ReceivePolicy {
  private readonly byAddress = new Map<string, ProximityConfig['peers'][number]>();
  private readonly me: ProximityConfig['peers'][number] | undefined;
  private epoch: number | undefined;
  private readonly windows: WindowCounts[] = [];
  private readonly latencies: number[] = [];
  private latencyNext = 0;

  constructor(
    private readonly cfg: ProximityConfig,
    private readonly now: () => number = Date.now,
  ) {
    for (const p of cfg.peers) this.byAddress.set(p.address, p);
    this.me = cfg.peers.find((p) => p.id === cfg.self);
  }

  /** Starts the mobility clock (the traffic phase began). Before it, every UE stands at its t=0 position. */
  startClock(at = this.now()): void {
    this.epoch ??= at;
  }

  private elapsed(): number {
    return this.epoch === undefined ? 0 : this.now() - this.epoch;
  }

  private window(): WindowCounts | undefined {
    if (this.epoch === undefined) return undefined;
    const i = Math.floor(this.elapsed() / this.cfg.windowMs);
    if (i < 0 || i >= MAX_WINDOWS) return undefined;
    while (this.windows.length <= i)
      this.windows.push({ heard: new Map(), outOfRange: new Map(), discovered: new Map() });
    return this.windows[i];
  }

  admit(from: Pc5Address): Pc5Admission {
    const peer = this.byAddress.get(from.host);
    // Senders that are not UEs of the scenario (none in a run's namespaces today) are not range-limited.
    if (!peer || !this.me || peer.id === this.me.id) return { delayMs: 0 };
    const w = this.window();
    if (this.cfg.rangeM !== undefined) {
      const d = distanceAt(this.me.mobility, peer.mobility, this.elapsed());
      if (d > this.cfg.rangeM) {
        if (w) w.outOfRange.set(peer.id, (w.outOfRange.get(peer.id) ?? 0) + 1);
        return { drop: 'out_of_range' };
      }
    }
    if (w) w.heard.set(peer.id, (w.heard.get(peer.id) ?? 0) + 1);
    return { delayMs: sampleDelay(peer.delay) + sampleDelay(this.me.delay) };
  }

  /** A discovery match of `aluid` (any mode) happened now. */
  recordDiscovery(aluid: string): void {
    const w = this.window();
    if (w) w.discovered.set(aluid, (w.discovered.get(aluid) ?? 0) + 1);
  }

  /** One-way latency of a received test frame. */
  recordLatency(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    if (this.latencies.length < MAX_LATENCY_SAMPLES) this.latencies.push(ms);
    else {
      this.latencies[this.latencyNext] = ms;
      this.latencyNext = (this.latencyNext + 1) % MAX_LATENCY_SAMPLES;
    }
  }

  report(): ProximityReport {
    const obj = (m: Map<string, number>) => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const q = (p: number) =>
      sorted.length ? round2(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!) : 0;
    return {
      epochMs: this.epoch,
      windowMs: this.cfg.windowMs,
      windows: this.windows.map((w) => ({
        heard: obj(w.heard),
        outOfRange: obj(w.outOfRange),
        discovered: obj(w.discovered),
      })),
      latencyMs: { samples: sorted.length, p50: q(0.5), p90: q(0.9) },
    };
  }
}

function sampleDelay(d: LinkDelay | undefined): number {
  if (!d || (d.delayMs <= 0 && d.jitterMs <= 0)) return 0;
  return Math.max(0, d.delayMs + (Math.random() * 2 - 1) * d.jitterMs);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
