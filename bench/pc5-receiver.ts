// Receiver process for bench/pc5-throughput.bench.ts (forked, one per receiver, driven over IPC).
// Joins a group through UdpPc5Medium ('medium') or a plain dgram socket ('raw') and counts datagrams.
import dgram from 'node:dgram';
import type { Pc5Group } from '../transport/pc5/medium.js';
import { PC5_SOCKET_BUFFER_SIZE, UdpPc5Medium } from '../transport/pc5/udp-medium.js';

export type ReceiverCommand =
  | { cmd: 'join'; mode: 'medium' | 'raw'; group: Pc5Group; l2Id: number }
  | { cmd: 'peek' }
  | { cmd: 'report' }
  | { cmd: 'exit' };

export interface ReceiverReport {
  received: number;
  bytes: number;
  /** process.hrtime.bigint() of the first and last datagram, as strings (CLOCK_MONOTONIC, shared by processes). */
  firstNs: string;
  lastNs: string;
  dropped: number;
  /** CPU time (user + system, microseconds) this receiver used between join and report. */
  cpuUs: number;
}

let received = 0;
let bytes = 0;
let firstNs = 0n;
let lastNs = 0n;
let dropped = 0;
let cpu0 = process.cpuUsage();
let medium: UdpPc5Medium | undefined;
let raw: dgram.Socket | undefined;

function count(n: number): void {
  const t = process.hrtime.bigint();
  if (received === 0) firstNs = t;
  lastNs = t;
  received++;
  bytes += n;
}

async function teardown(): Promise<void> {
  if (medium) {
    dropped = Object.values(medium.stats().dropped).reduce((a, b) => a + b, 0);
    await medium.close();
    medium = undefined;
  }
  if (raw) {
    const s = raw;
    raw = undefined;
    await new Promise<void>((r) => s.close(() => r()));
  }
}

async function handle(msg: ReceiverCommand): Promise<void> {
  if (msg.cmd === 'join') {
    await teardown();
    received = 0;
    bytes = 0;
    dropped = 0;
    cpu0 = process.cpuUsage();
    if (msg.mode === 'medium') {
      medium = new UdpPc5Medium({ l2Id: msg.l2Id });
      await medium.start();
      medium.onFrame((_f, meta) => count(meta.bytes));
      await medium.joinGroup(msg.group);
    } else {
      const s = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: PC5_SOCKET_BUFFER_SIZE });
      s.on('message', (m) => count(m.length));
      await new Promise<void>((r) => s.bind(msg.group.port, msg.group.address, () => r()));
      s.addMembership(msg.group.address, '127.0.0.1');
      raw = s;
    }
    process.send!({ ok: 'joined' });
  } else if (msg.cmd === 'peek') {
    process.send!({ ok: 'peek', received });
  } else if (msg.cmd === 'report') {
    const cpu = process.cpuUsage(cpu0);
    await teardown();
    const rep: ReceiverReport = {
      received,
      bytes,
      firstNs: firstNs.toString(),
      lastNs: lastNs.toString(),
      dropped,
      cpuUs: cpu.user + cpu.system,
    };
    process.send!({ ok: 'report', report: rep });
  } else if (msg.cmd === 'exit') {
    await teardown();
    process.exit(0);
  }
}

if (process.send) {
  process.on('message', (m: ReceiverCommand) => {
    handle(m).catch((e: Error) => process.send!({ ok: 'error', error: e.message }));
  });
  process.on('disconnect', () => process.exit(0));
  // Never outlive a benchmark: hard cap of 15 minutes.
  setTimeout(() => process.exit(3), 15 * 60_000).unref();
  process.send({ ok: 'ready' });
}
