// PC5 throughput: one sender to 1, 10, 50 receivers, each receiver its own OS process (bench/pc5-receiver.ts),
// 1,200-byte frames through UdpPc5Medium, and plain node:dgram multicast with the same receivers as baseline.
// Bounded: fixed count and time cap per round; every child is killed by PID at the end, even on error.
// Run: npm run bench:pc5   (env PC5_BENCH_FANOUT=1,10,50  PC5_BENCH_ROUNDS=5)
import { type ChildProcess, fork } from 'node:child_process';
import dgram from 'node:dgram';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PC5_HEADER_SIZE } from '../transport/pc5/frame.js';
import type { Pc5Group } from '../transport/pc5/medium.js';
import { prepareLoopbackMulticast } from '../transport/pc5/netenv.js';
import { PC5_SOCKET_BUFFER_SIZE, UdpPc5Medium } from '../transport/pc5/udp-medium.js';
import { bench, median, report } from './harness.js';
import type { ReceiverCommand, ReceiverReport } from './pc5-receiver.js';

const FRAME_BYTES = 1200;
const FANOUTS = (process.env.PC5_BENCH_FANOUT ?? '1,10,50').split(',').map(Number);
const ROUNDS = Number(process.env.PC5_BENCH_ROUNDS ?? 5);
const ROUND_CAP_MS = 5000;
const SETTLE_CAP_MS = 3000;
const BATCH = 64;
const PACE_FRACTIONS = [0.8, 0.6, 0.45, 0.3, 0.2, 0.1, 0.05];
/** Frames per round: fewer with more receivers (the sender's cost grows with the fan-out). */
const countFor = (n: number): number => Math.max(2000, Math.min(60000, Math.round(120000 / n)));

/** 'raw': plain node:dgram (default lookup); 'raw-sync': node:dgram with the medium's synchronous lookup. */
type Mode = 'medium' | 'raw' | 'raw-sync';
const MODES = (process.env.PC5_BENCH_MODES ?? 'medium,raw').split(',') as Mode[];

const children: ChildProcess[] = [];

function killChildren(): void {
  for (const c of children) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {}
    }
  }
}
process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killChildren();
    process.exit(130);
  });
}

class Receiver {
  private waiters: ((m: { ok: string; [k: string]: unknown }) => void)[] = [];
  constructor(readonly child: ChildProcess) {
    child.on('message', (m: { ok: string; error?: string }) => {
      if (m.ok === 'error') console.error(`receiver ${child.pid}: ${m.error}`);
      this.waiters.shift()?.(m);
    });
  }
  static async spawn(): Promise<Receiver> {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'pc5-receiver.js');
    const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    const r = new Receiver(child);
    await r.next(60_000); // 50 node processes starting on 2 cores take a while
    return r;
  }
  private next(timeoutMs: number): Promise<{ ok: string; [k: string]: unknown }> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`receiver ${this.child.pid} did not answer`)), timeoutMs);
      this.waiters.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  }
  /** Asks the child to exit; kills it by PID if it has not within 2 s. */
  async stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.send({ cmd: 'exit' } satisfies ReceiverCommand);
    await Promise.race([exited, sleep(2000)]);
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
  }
  request(cmd: ReceiverCommand, timeoutMs = 30_000): Promise<{ ok: string; [k: string]: unknown }> {
    const p = this.next(timeoutMs);
    this.child.send(cmd);
    return p;
  }
}

interface Sender {
  send(): boolean;
  drain(): Promise<void>;
  close(): Promise<void>;
}

async function mediumSender(group: Pc5Group): Promise<Sender> {
  const m = new UdpPc5Medium({ l2Id: 0xbe0001 });
  await m.start();
  const frame = {
    type: 'test' as const,
    dstL2Id: 0xbe0000,
    payload: new Uint8Array(FRAME_BYTES - PC5_HEADER_SIZE),
  };
  return { send: () => m.sendToGroup(group, frame), drain: () => m.drain(), close: () => m.close() };
}

async function rawSender(group: Pc5Group, syncLookup: boolean): Promise<Sender> {
  const s = dgram.createSocket({
    type: 'udp4',
    sendBufferSize: PC5_SOCKET_BUFFER_SIZE,
    ...(syncLookup
      ? {
          lookup: ((a: string, _o: unknown, cb: (e: null, a: string, f: number) => void) =>
            cb(null, a, 4)) as never,
        }
      : {}),
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  s.setMulticastInterface('127.0.0.1');
  s.setMulticastTTL(0);
  const buf = Buffer.alloc(FRAME_BYTES);
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const done = (): void => {
    inFlight--;
    if (inFlight === 0) wake?.();
  };
  return {
    send: () => {
      inFlight++;
      s.send(buf, group.port, group.address, done);
      return true;
    },
    drain: () =>
      inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((r) => {
            wake = r;
          }),
    close: () => new Promise<void>((r) => s.close(() => r())),
  };
}

interface RoundResult {
  sent: number;
  senderPps: number;
  deliveredPps: number;
  lossPct: number;
  /** Receiver CPU (user + system) per received frame, microseconds, all receivers together. */
  rxCpuUsPerFrame: number;
}

const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let roundNo = 0;

async function runRound(
  rx: Receiver[],
  mode: Mode,
  port: number,
  count: number,
  pacePps?: number,
): Promise<RoundResult> {
  roundNo++;
  const group: Pc5Group = {
    address: `239.77.${(roundNo >> 8) & 0xff}.${1 + ((roundNo & 0xff) % 254)}`,
    port,
  };
  const rxMode = mode === 'medium' ? 'medium' : 'raw';
  await Promise.all(rx.map((r, i) => r.request({ cmd: 'join', mode: rxMode, group, l2Id: 0x100000 + i })));
  await sleep(30);
  const sender = mode === 'medium' ? await mediumSender(group) : await rawSender(group, mode === 'raw-sync');
  let sent = 0;
  const t0 = process.hrtime.bigint();
  const capNs = BigInt(ROUND_CAP_MS) * 1_000_000n;
  try {
    let i = 0;
    while (i < count) {
      const now = process.hrtime.bigint();
      if (now - t0 > capNs) break;
      let burst = BATCH;
      if (pacePps !== undefined) {
        const due = Math.floor((Number(now - t0) / 1e9) * pacePps) - i;
        burst = Math.min(BATCH * 4, due);
      }
      for (let b = 0; b < burst && i < count; b++, i++) if (sender.send()) sent++;
      await immediate();
    }
    await sender.drain();
  } finally {
    await sender.close();
  }
  const t1 = process.hrtime.bigint();
  // Settle: wait until the receivers' counts stop moving (bounded).
  let last = -1;
  const settleEnd = Date.now() + SETTLE_CAP_MS;
  while (Date.now() < settleEnd) {
    const peeks = await Promise.all(rx.map((r) => r.request({ cmd: 'peek' })));
    const total = peeks.reduce((a, p) => a + (p.received as number), 0);
    if (total === last || total === sent * rx.length) break;
    last = total;
    await sleep(100);
  }
  const reports = (await Promise.all(rx.map((r) => r.request({ cmd: 'report' })))).map(
    (m) => m.report as ReceiverReport,
  );
  const received = reports.reduce((a, r) => a + r.received, 0);
  const lastNs = reports.reduce((a, r) => (BigInt(r.lastNs) > a ? BigInt(r.lastNs) : a), t1);
  return {
    sent,
    senderPps: sent / (Number(t1 - t0) / 1e9),
    deliveredPps: received / (Number(lastNs - t0) / 1e9),
    lossPct: sent === 0 ? 100 : 100 * (1 - received / (sent * rx.length)),
    rxCpuUsPerFrame: reports.reduce((a, r) => a + r.cpuUs, 0) / Math.max(1, received),
  };
}

/** Send-path cost alone (a group nobody joined, so no receiver competes for the CPU), via the harness. */
async function sendPathBench(): Promise<void> {
  const group: Pc5Group = { address: '239.77.255.1', port: await freePort() };
  const m = new UdpPc5Medium({ l2Id: 0xbe0002 });
  await m.start();
  const frame = { type: 'test' as const, dstL2Id: 1, payload: new Uint8Array(FRAME_BYTES - PC5_HEADER_SIZE) };
  const raw = dgram.createSocket({
    type: 'udp4',
    sendBufferSize: PC5_SOCKET_BUFFER_SIZE,
    lookup: ((a: string, _o: unknown, cb: (e: null, a: string, f: number) => void) =>
      cb(null, a, 4)) as never,
  });
  await new Promise<void>((r) => raw.bind(0, '127.0.0.1', () => r()));
  raw.setMulticastInterface('127.0.0.1');
  raw.setMulticastTTL(0);
  const buf = Buffer.alloc(FRAME_BYTES);
  const noop = (): void => {};
  const opts = { bytesPerOp: FRAME_BYTES, rounds: 5, minRoundMs: 150, maxOpsPerRound: 100_000 };
  console.log('send path only (group without members, sender alone):');
  const rawRes = bench(
    'raw dgram send (sync lookup)',
    () => raw.send(buf, group.port, group.address, noop),
    opts,
  );
  await m.drain();
  await new Promise((r) => setTimeout(r, 50));
  const medRes = bench('UdpPc5Medium.sendToGroup', () => m.sendToGroup(group, frame), opts);
  await m.drain();
  report(rawRes);
  report(medRes, rawRes);
  await m.close();
  await new Promise<void>((r) => raw.close(() => r()));
}

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const mbps = (pps: number): string => ((pps * FRAME_BYTES) / 1e6).toFixed(1);

interface Summary {
  fanout: number;
  mode: Mode;
  count: number;
  senderPps: number;
  deliveredPps: number;
  lossPct: number;
  rxCpuUsPerFrame: number;
  /** Lowest and highest sender rate over the rounds (the machine is shared: this shows the noise). */
  senderPpsRange: [number, number];
  maxLosslessPps?: number;
}

async function main(): Promise<void> {
  try {
    const prep = await prepareLoopbackMulticast();
    if (prep.changed.length) console.log(`netenv changed: ${prep.changed.join('; ')}`);
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 1;
    return;
  }
  console.log(
    `load average at start: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${availableParallelism()} CPUs`,
  );
  console.log(
    `PC5 throughput, ${FRAME_BYTES}-byte frames, ${ROUNDS} rounds per point (medians), receivers are separate processes`,
  );
  await sendPathBench();
  const summaries: Summary[] = [];
  for (const n of FANOUTS) {
    const rx: Receiver[] = [];
    while (rx.length < n) {
      const k = Math.min(8, n - rx.length); // start at most 8 at once
      rx.push(...(await Promise.all(Array.from({ length: k }, () => Receiver.spawn()))));
    }
    const port = await freePort();
    const count = countFor(n);
    const res = Object.fromEntries(MODES.map((m) => [m, [] as RoundResult[]])) as Record<Mode, RoundResult[]>;
    await runRound(rx, 'medium', port, Math.min(count, 2000)); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of r % 2 ? [...MODES].reverse() : MODES) {
        res[mode].push(await runRound(rx, mode, port, count));
      }
    }
    const sums: Record<Mode, Summary> = {} as Record<Mode, Summary>;
    for (const mode of MODES) {
      const rs = res[mode];
      sums[mode] = {
        fanout: n,
        mode,
        count,
        senderPps: median(rs.map((x) => x.senderPps)),
        deliveredPps: median(rs.map((x) => x.deliveredPps)),
        lossPct: median(rs.map((x) => x.lossPct)),
        rxCpuUsPerFrame: median(rs.map((x) => x.rxCpuUsPerFrame)),
        senderPpsRange: [Math.min(...rs.map((x) => x.senderPps)), Math.max(...rs.map((x) => x.senderPps))],
      };
      // Highest paced rate without loss (one round per step, from the unpaced rate down).
      if (sums[mode].lossPct === 0) sums[mode].maxLosslessPps = sums[mode].senderPps;
      else {
        for (const f of PACE_FRACTIONS) {
          const pace = sums[mode].senderPps * f;
          const rr = await runRound(
            rx,
            mode,
            port,
            Math.max(1000, Math.min(count, Math.round(pace * 2))),
            pace,
          );
          if (rr.lossPct === 0) {
            sums[mode].maxLosslessPps = rr.senderPps;
            break;
          }
        }
      }
      const s = sums[mode];
      console.log(
        [
          `1 -> ${String(n).padStart(2)} ${mode.padEnd(8)}`,
          `sent ${fmt(s.senderPps).padStart(8)} pps ${mbps(s.senderPps).padStart(6)} MB/s`,
          `(${fmt(s.senderPpsRange[0])}-${fmt(s.senderPpsRange[1])})`,
          `delivered ${fmt(s.deliveredPps).padStart(8)} pps ${mbps(s.deliveredPps).padStart(6)} MB/s`,
          `loss ${s.lossPct.toFixed(2)}%`,
          `rx cpu ${s.rxCpuUsPerFrame.toFixed(1)} us/frame`,
          `max lossless ${s.maxLosslessPps === undefined ? 'n/a (< 5% of unpaced)' : `${fmt(s.maxLosslessPps)} pps`}`,
        ].join('  '),
      );
      summaries.push(s);
    }
    if (sums.medium && sums.raw) {
      console.log(
        `1 -> ${String(n).padStart(2)} ratio medium/raw: sent ${(sums.medium.senderPps / sums.raw.senderPps).toFixed(3)}, delivered ${(sums.medium.deliveredPps / sums.raw.deliveredPps).toFixed(3)}`,
      );
    }
    await Promise.all(rx.map((r) => r.stop()));
    killChildren();
  }
  console.log(
    `load average at end: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  console.log(JSON.stringify({ frameBytes: FRAME_BYTES, rounds: ROUNDS, results: summaries }));
}

main()
  .catch((e: Error) => {
    console.error(e.stack ?? e.message);
    process.exitCode = 1;
  })
  .finally(() => {
    killChildren();
  });
