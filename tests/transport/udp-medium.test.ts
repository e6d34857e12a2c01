// UdpPc5Medium: the compliance suite plus UDP-specific behaviour (loopback only, buffers, queue limit).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pc5MediumError } from '../../transport/pc5/medium.js';
import { prepareLoopbackMulticast } from '../../transport/pc5/netenv.js';
import { PC5_SOCKET_BUFFER_SIZE, UdpPc5Medium } from '../../transport/pc5/udp-medium.js';
import { runPc5MediumCompliance, waitUntil } from './pc5-medium-compliance.js';

// Group tests need safe loopback multicast: prepare it (as root) or skip them with the fix.
let groupSkipReason: string | undefined;
try {
  const r = await prepareLoopbackMulticast();
  if (r.changed.length > 0) console.log(`# netenv: changed this network namespace: ${r.changed.join('; ')}`);
} catch (e) {
  groupSkipReason = (e as Error).message;
}

const quiet = (): void => {};

runPc5MediumCompliance('UdpPc5Medium', async (o) => new UdpPc5Medium({ ...o, onError: quiet }), {
  groupSkipReason,
});

test('UdpPc5Medium binds to loopback and reports its socket buffers', async () => {
  const m = new UdpPc5Medium({ l2Id: 5 });
  try {
    assert.throws(() => m.unicastAddress, Pc5MediumError);
    await m.start();
    assert.equal(m.kind, 'udp');
    assert.equal(m.unicastAddress.host, '127.0.0.1');
    const b = m.bufferSizes()!;
    assert.equal(b.requested, PC5_SOCKET_BUFFER_SIZE);
    assert.ok(b.recv > 0 && b.send > 0);
    if (b.capped) console.log(`# socket buffers capped by the kernel: ${JSON.stringify(b)}`);
  } finally {
    await m.close();
  }
});

test('UdpPc5Medium refuses non-loopback addresses unless allowNonLoopback', async () => {
  assert.throws(() => new UdpPc5Medium({ l2Id: 1, bindAddress: '0.0.0.0' }), /127\.0\.0\.0\/8/);
  assert.throws(() => new UdpPc5Medium({ l2Id: 1, multicastInterface: '192.0.2.2' }), /127\.0\.0\.0\/8/);
  assert.throws(() => new UdpPc5Medium({ l2Id: 0x1000000 }), Pc5MediumError);
  const m = new UdpPc5Medium({ l2Id: 1 });
  await m.start();
  try {
    const f = { type: 'test' as const, dstL2Id: 1, payload: new Uint8Array(1) };
    assert.throws(() => m.sendUnicast({ host: '192.0.2.1', port: 9 }, f), /127\.0\.0\.0\/8/);
    assert.throws(() => m.sendUnicast({ host: 'localhost', port: 9 }, f), Pc5MediumError);
    assert.throws(() => m.sendUnicast({ host: '127.0.0.1', port: 70000 }, f), Pc5MediumError);
  } finally {
    await m.close();
  }
});

test('UdpPc5Medium drops sends as queue_full beyond maxQueuedSends', async () => {
  const a = new UdpPc5Medium({ l2Id: 1, maxQueuedSends: 0, metrics: undefined });
  const b = new UdpPc5Medium({ l2Id: 2 });
  await Promise.all([a.start(), b.start()]);
  try {
    const ok = a.sendUnicast(b.unicastAddress, { type: 'test', dstL2Id: 2, payload: new Uint8Array(1) });
    assert.equal(ok, false);
    assert.equal(a.stats().dropped.queue_full, 1);
    assert.equal(a.stats().sent.unicast.frames, 0);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('UdpPc5Medium uses the given unicast port and auto-increments seq', async () => {
  const a = new UdpPc5Medium({ l2Id: 1 });
  await a.start();
  const port = a.unicastAddress.port;
  await a.close();
  const b = new UdpPc5Medium({ l2Id: 2, unicastPort: port });
  const c = new UdpPc5Medium({ l2Id: 3 });
  await Promise.all([b.start(), c.start()]);
  try {
    assert.equal(b.unicastAddress.port, port);
    const seqs: number[] = [];
    b.onFrame((f) => seqs.push(f.seq));
    for (let i = 0; i < 3; i++)
      c.sendUnicast(b.unicastAddress, { type: 'test', dstL2Id: 2, payload: new Uint8Array(0) });
    assert.ok(await waitUntil(() => seqs.length === 3));
    assert.deepEqual(
      [...seqs].sort((x, y) => x - y),
      [0, 1, 2],
    );
    // A second medium cannot take the same port.
    const d = new UdpPc5Medium({ l2Id: 4, unicastPort: port });
    await assert.rejects(d.start(), (e: Error) => e instanceof Pc5MediumError && e.code === 'bind_failed');
    await d.close();
  } finally {
    await Promise.all([b.close(), c.close()]);
  }
});
