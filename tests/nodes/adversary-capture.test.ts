// The adversary's passive tap (nodes/adversary/capture.ts): the libpcap stream parser on real captures' layouts
// (fed in arbitrary chunks), and a live loopback capture of UDP datagrams with the capture tool on this host.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type CapturedUdp,
  captureArgs,
  findCaptureTool,
  PcapUdpParser,
  startLoopbackCapture,
} from '../../nodes/adversary/capture.js';

function pcap(linkType: number, little: boolean, packets: Uint8Array[]): Buffer {
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    little ? b.writeUInt32LE(v) : b.writeUInt32BE(v);
    return b;
  };
  const u16 = (v: number) => {
    const b = Buffer.alloc(2);
    little ? b.writeUInt16LE(v) : b.writeUInt16BE(v);
    return b;
  };
  const parts = [u32(0xa1b2c3d4), u16(2), u16(4), u32(0), u32(0), u32(262144), u32(linkType)];
  for (const p of packets) parts.push(u32(1), u32(2), u32(p.length), u32(p.length), Buffer.from(p));
  return Buffer.concat(parts);
}

function ipv4Udp(
  src: number,
  dst: number,
  payload: Uint8Array,
  opts: { proto?: number; frag?: number } = {},
) {
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(src, 0);
  udp.writeUInt16BE(dst, 2);
  udp.writeUInt16BE(udp.length, 4);
  udp.set(payload, 8);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + udp.length, 2);
  ip.writeUInt16BE(opts.frag ?? 0, 6);
  ip[9] = opts.proto ?? 17;
  return Buffer.concat([ip, udp]);
}

test('pcap parser: UDP payloads from Ethernet (lo) and cooked captures, any chunking, either byte order; others skipped', () => {
  const data = [Buffer.from('first'), Buffer.from('second datagram')];
  for (const [link, header] of [
    [1, 14],
    [113, 16],
    [276, 20],
  ] as const) {
    for (const little of [true, false]) {
      const stream = pcap(link, little, [
        Buffer.concat([Buffer.alloc(header), ipv4Udp(1000, 2000, data[0]!)]),
        Buffer.concat([Buffer.alloc(header), ipv4Udp(1000, 2000, Buffer.alloc(4), { proto: 6 })]), // TCP
        Buffer.concat([Buffer.alloc(header), ipv4Udp(1000, 2000, Buffer.alloc(4), { frag: 0x2000 })]), // MF
        Buffer.concat([Buffer.alloc(header), ipv4Udp(3000, 4000, data[1]!)]),
      ]);
      for (const chunk of [1, 7, stream.length]) {
        const got: CapturedUdp[] = [];
        const p = new PcapUdpParser((u) => got.push({ ...u, payload: Buffer.from(u.payload) }));
        for (let i = 0; i < stream.length; i += chunk) p.push(stream.subarray(i, i + chunk));
        assert.equal(p.error, undefined);
        assert.equal(p.packets, 4);
        assert.equal(p.skipped, 2);
        assert.deepEqual(
          got.map((u) => [u.srcPort, u.dstPort, Buffer.from(u.payload).toString()]),
          [
            [1000, 2000, 'first'],
            [3000, 4000, 'second datagram'],
          ],
        );
      }
    }
  }
  const bad = new PcapUdpParser(() => assert.fail('no packet'));
  bad.push(Buffer.alloc(32, 7));
  assert.match(bad.error ?? '', /not a libpcap stream/);
  const unknownLink = new PcapUdpParser(() => assert.fail('no packet'));
  unknownLink.push(pcap(105, true, []));
  assert.match(unknownLink.error ?? '', /unsupported link type 105/);
});

test('capture tool lookup: the first of dumpcap, tshark, tcpdump on PATH; none gives undefined; filter on the ports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-capture-'));
  assert.equal(findCaptureTool(dir), undefined);
  writeFileSync(join(dir, 'tcpdump'), '#!/bin/sh\n');
  chmodSync(join(dir, 'tcpdump'), 0o755);
  assert.deepEqual(findCaptureTool(dir), { tool: 'tcpdump', file: join(dir, 'tcpdump') });
  assert.ok(captureArgs('dumpcap', [5, 6], 60, 10).includes('udp and (port 5 or port 6)'));
  assert.ok(captureArgs('tcpdump', [5], 60, 10).includes('udp and (port 5)'));
});

test('live loopback capture: datagrams sent to a filtered port are seen, others not', {
  skip: !findCaptureTool() && 'no capture tool',
}, async () => {
  const rx = createSocket('udp4');
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
  const other = createSocket('udp4');
  await new Promise<void>((r) => other.bind(0, '127.0.0.1', r));
  const port = rx.address().port;
  const seen: string[] = [];
  const started = startLoopbackCapture([port], (u) => seen.push(Buffer.from(u.payload).toString()), {
    maxSeconds: 20,
  });
  assert.ok(started);
  await started.ready;
  const tx = createSocket('udp4');
  try {
    for (let i = 0; i < 5; i++) {
      tx.send(`to-link ${i}`, port, '127.0.0.1');
      tx.send('elsewhere', other.address().port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 20));
    }
    const end = Date.now() + 5000;
    while (seen.length < 5 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await started.capture.stop();
    for (const s of [rx, other, tx]) s.close();
  }
  assert.equal(started.capture.failure(), undefined);
  assert.deepEqual(
    seen,
    [0, 1, 2, 3, 4].map((i) => `to-link ${i}`),
  );
});
