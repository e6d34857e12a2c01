// netns mode figures (docs/netns.md): start-up and teardown time of N node namespaces on one bridge
// (deploy/netns.ts), and UDP unicast/multicast delivery across the bridge vs loopback in the same run.
// Root only. Usage: node dist/bench/netns.js [N...]   (default 10 50 100). Bounded: 3 repetitions, 4,000 datagrams.
import { spawn } from 'node:child_process';
import { NetnsNetwork } from '../deploy/netns.js';

const NO_LINK = { delayMs: 0, jitterMs: 0, lossPct: 0 };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function setupFigures(sizes: number[]): Promise<void> {
  console.log('| node namespaces | set-up ms (median of 3) | per node ms | teardown ms |');
  console.log('|---|---|---|---|');
  for (const n of sizes) {
    const up: number[] = [];
    const down: number[] = [];
    for (let r = 0; r < 3; r++) {
      const tag = `bn${r}${n}`;
      const net = await NetnsNetwork.create(tag, () => NO_LINK);
      await net.addNodes(Array.from({ length: n }, (_, i) => `n${i + 1}`));
      up.push(net.setupMs);
      await net.destroy();
      down.push(net.teardownMs ?? 0);
    }
    console.log(
      `| ${n} | ${median(up).toFixed(0)} | ${(median(up) / n).toFixed(1)} | ${median(down).toFixed(0)} |`,
    );
  }
}

// A receiver: binds the group (or unicast) port on `addr`, joins the group on `iface`, counts for `ms`, prints it.
const RECEIVER = `
const d = require('node:dgram');
const [group, port, iface, ms] = process.argv.slice(1);
const s = d.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: 4 << 20 });
let n = 0;
s.on('message', () => n++);
s.bind(Number(port), group === 'unicast' ? iface : group, () => {
  if (group !== 'unicast') s.addMembership(group, iface);
  process.stdout.write('ready\\n');
  setTimeout(() => { process.stdout.write(String(n) + '\\n'); process.exit(0); }, Number(ms));
});`;

const SENDER = `
const d = require('node:dgram');
const [dst, port, iface, count] = process.argv.slice(1);
const s = d.createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
s.bind(0, iface, async () => {
  if (dst.startsWith('239.')) { s.setMulticastInterface(iface); s.setMulticastTTL(1); }
  const buf = Buffer.alloc(200);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < Number(count); i++) {
    await new Promise((r) => s.send(buf, Number(port), dst, r));
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 2));
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(String(ms) + '\\n');
  s.close();
});`;

function node(prefix: string[], script: string, args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const argv = [...prefix, process.execPath, '-e', script, ...args];
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    c.on('exit', (code) =>
      code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`exit ${code}`)),
    );
  });
}

function readyOf(prefix: string[], args: string[]): { ready: Promise<void>; done: Promise<number> } {
  const argv = [...prefix, process.execPath, '-e', RECEIVER, ...args];
  const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((r) => {
    onReady = r;
  });
  c.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    if (out.includes('ready')) onReady();
  });
  const done = new Promise<number>((resolve) =>
    c.on('exit', () => resolve(Number(out.trim().split('\n').pop()))),
  );
  return { ready, done };
}

async function delivery(receivers: number, count: number): Promise<void> {
  const net = await NetnsNetwork.create('bdel', () => NO_LINK);
  const ids = ['tx', ...Array.from({ length: receivers }, (_, i) => `rx${i + 1}`)];
  await net.addNodes(ids);
  const group = '239.201.7.1';
  await net.pinGroups(ids, [group]);
  const port = 47001;
  const rows: string[] = [];
  try {
    for (const mode of ['multicast', 'unicast'] as const) {
      for (const where of ['loopback', 'bridge'] as const) {
        const k = mode === 'unicast' ? 1 : receivers;
        const rx = Array.from({ length: k }, (_, i) => {
          const id = `rx${i + 1}`;
          const prefix = where === 'bridge' ? net.launcher(id) : [];
          const iface = where === 'bridge' ? net.address(id) : '127.0.0.1';
          return readyOf(prefix, [
            mode === 'unicast' ? 'unicast' : group,
            String(port + i * (mode === 'unicast' && where === 'loopback' ? 1 : 0)),
            iface,
            '6000',
          ]);
        });
        await Promise.all(rx.map((r) => r.ready));
        const dst = mode === 'multicast' ? group : where === 'bridge' ? net.address('rx1') : '127.0.0.1';
        const txIf = where === 'bridge' ? net.address('tx') : '127.0.0.1';
        const [ms] = await node(where === 'bridge' ? net.launcher('tx') : [], SENDER, [
          dst,
          String(port),
          txIf,
          String(count),
        ]);
        const got = await Promise.all(rx.map((r) => r.done));
        const delivered = got.reduce((a, b) => a + b, 0);
        rows.push(
          `| ${mode} 1 -> ${k} | ${where} | ${count} | ${delivered} / ${count * k} (${((100 * delivered) / (count * k)).toFixed(1)}%) | ${Math.round((count * 1000) / Number(ms))} |`,
        );
      }
    }
  } finally {
    await net.destroy();
  }
  console.log('\n| traffic | path | sent | delivered | sender pps |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((x) => x > 0);
await setupFigures(sizes.length ? sizes : [10, 50, 100]);
await delivery(4, 4000);
