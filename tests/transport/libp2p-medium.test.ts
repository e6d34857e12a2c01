// Libp2pPc5Medium: the full PC5 medium compliance suite (group tests included: gossipsub between media that
// connected to each other), plus libp2p-specific behaviour (loopback only, address/PeerId mapping, bootstrap).
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import { Libp2pPc5Medium, type Libp2pPc5MediumOptions } from '../../transport/pc5/libp2p-medium.js';
import { type Pc5Address, Pc5MediumError } from '../../transport/pc5/medium.js';
import { runPc5MediumCompliance, waitUntil } from './pc5-medium-compliance.js';

const quiet = (): void => {};

/** Live media of this file: each new medium dials every medium already listening (its bootstrap list). */
const live = new Set<Libp2pPc5Medium>();

class TrackedMedium extends Libp2pPc5Medium {
  override async close(): Promise<void> {
    live.delete(this);
    return super.close();
  }
}

function tracked(o: Libp2pPc5MediumOptions): TrackedMedium {
  const m: TrackedMedium = new TrackedMedium({
    onError: quiet,
    ...o,
    // Evaluated after m listens, one medium at a time: of two media starting together, the second one to
    // get here sees the first, so every pair gets connected.
    bootstrap: () => {
      const others = [...live].flatMap((x) => x.multiaddrs.slice(0, 1));
      live.add(m);
      return others;
    },
  });
  return m;
}

/** The raw injector: a medium that sends bytes bypassing the frame codec (the libp2p raw socket). */
let injector: Libp2pPc5Medium | undefined;
async function getInjector(): Promise<Libp2pPc5Medium> {
  if (!injector) {
    injector = new Libp2pPc5Medium({ l2Id: 0xfffffe, onError: quiet });
    await injector.start();
  }
  return injector;
}
after(async () => {
  await injector?.close();
  await Promise.all([...live].map((m) => m.close()));
});

async function tcpPortIsFree(addr: Pc5Address): Promise<boolean> {
  const srv = createServer();
  try {
    await new Promise<void>((res, rej) => {
      srv.once('error', rej);
      srv.listen(addr.port, addr.host, () => res());
    });
    return true;
  } catch {
    return false;
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
}

const complianceOptions: Parameters<typeof runPc5MediumCompliance>[2] = {
  injectRaw: async (target, bytes) => {
    const inj = await getInjector();
    if ('unicast' in target) {
      inj.sendRawUnicast(target.unicast, bytes);
    } else {
      // Reach the members: connect to every live medium (hello: the injector then sees their subscriptions).
      for (const m of live) await inj.connect(m.multiaddrs[0]!);
      inj.sendRawToGroup(target.group, bytes);
    }
    await inj.drain();
  },
  // A libp2p medium's address is its TCP listener.
  addressIsFree: tcpPortIsFree,
  // TCP and gossipsub retransmit: nothing may be lost.
  minBulkDelivery: 1,
};
runPc5MediumCompliance('Libp2pPc5Medium', async (o) => tracked(o), complianceOptions);
runPc5MediumCompliance(
  'Libp2pPc5Medium with gossipsub mesh relay',
  async (o) => tracked({ ...o, meshRelay: true }),
  complianceOptions,
);

test('Libp2pPc5Medium listens on loopback only and refuses non-loopback destinations', async () => {
  assert.throws(() => new Libp2pPc5Medium({ l2Id: 1, listenAddress: '0.0.0.0' }), /127\.0\.0\.0\/8/);
  assert.throws(() => new Libp2pPc5Medium({ l2Id: 0x1000000 }), Pc5MediumError);
  const m = new Libp2pPc5Medium({ l2Id: 1, onError: quiet });
  try {
    assert.throws(() => m.unicastAddress, Pc5MediumError);
    await m.start();
    assert.equal(m.kind, 'libp2p');
    assert.equal(m.unicastAddress.host, '127.0.0.1');
    assert.match(m.multiaddrs[0]!, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3Koo/);
    const f = { type: 'test' as const, dstL2Id: 1, payload: new Uint8Array(1) };
    assert.throws(() => m.sendUnicast({ host: '192.0.2.1', port: 9 }, f), /127\.0\.0\.0\/8/);
    assert.throws(() => m.sendUnicast({ host: 'localhost', port: 9 }, f), Pc5MediumError);
    assert.throws(() => m.sendUnicast({ host: '127.0.0.1', port: 70000 }, f), Pc5MediumError);
    // The connection gater refuses to dial outside loopback even when asked explicitly.
    await assert.rejects(m.connect('/ip4/192.0.2.1/tcp/4001'));
  } finally {
    await m.close();
  }
});

test('Libp2pPc5Medium reaches a peer by its address alone (PeerId learned on the Noise-authenticated connection)', async () => {
  const a = new Libp2pPc5Medium({ l2Id: 1, onError: quiet });
  const b = new Libp2pPc5Medium({ l2Id: 2, onError: quiet });
  await Promise.all([a.start(), b.start()]);
  try {
    assert.deepEqual(a.connectedPeers(), []);
    const atB: Pc5Address[] = [];
    b.onFrame((_f, meta) => atB.push(meta.from));
    // No bootstrap: the first send dials b's TCP address and queues the frame meanwhile.
    assert.equal(
      a.sendUnicast(b.unicastAddress, { type: 'test', dstL2Id: 2, payload: new Uint8Array(3) }),
      true,
    );
    await a.drain();
    assert.ok(await waitUntil(() => atB.length === 1));
    assert.deepEqual(atB[0], a.unicastAddress);
    assert.deepEqual(a.connectedPeers(), [b.peerId]);
    // b learns a's PeerId from the inbound connection (hello): allow for it under load.
    assert.ok(await waitUntil(() => b.connectedPeers().length === 1), 'b sees the connection');
    assert.deepEqual(b.connectedPeers(), [a.peerId]);
    // An address nobody listens on: the frame is queued, the dial fails, the frame is counted as send_error.
    const dead = { host: '127.0.0.1', port: b.unicastAddress.port };
    await b.close();
    // Until a has seen the connection close, a send could still be written into the dying stream.
    assert.ok(await waitUntil(() => a.connectedPeers().length === 0), 'a sees b gone');
    a.sendUnicast(dead, { type: 'test', dstL2Id: 2, payload: new Uint8Array(3) });
    await a.drain();
    assert.ok(await waitUntil(() => a.stats().dropped.send_error === 1));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('Libp2pPc5Medium: a bootstrap peer that starts later is retried until it is up', async () => {
  const b = new Libp2pPc5Medium({ l2Id: 2, onError: quiet });
  await b.start();
  const port = b.unicastAddress.port;
  await b.close();
  const a = new Libp2pPc5Medium({
    l2Id: 1,
    onError: quiet,
    bootstrap: [`/ip4/127.0.0.1/tcp/${port}`],
    bootstrapRetryMs: 10_000,
  });
  const b2 = new Libp2pPc5Medium({ l2Id: 2, listenPort: port, onError: quiet });
  try {
    await a.start(); // the first attempt fails: nothing listens yet
    assert.deepEqual(a.connectedPeers(), []);
    await b2.start();
    assert.ok(await waitUntil(() => a.connectedPeers().length === 1, 5000), 'connected after retry');
    const g = { address: '239.9.9.9', port: 9999 };
    const heard: number[] = [];
    a.onFrame((f) => heard.push(f.seq));
    await a.joinGroup(g);
    b2.sendToGroup(g, { type: 'group_media', dstL2Id: 1, payload: new Uint8Array(1), seq: 5 });
    assert.ok(await waitUntil(() => heard.length === 1));
    assert.deepEqual(heard, [5]);
  } finally {
    await Promise.all([a.close(), b2.close()]);
  }
});

test('Libp2pPc5Medium: without a full mesh, group frames still cross an intermediate member (mesh forwarding with meshRelay, lazy gossip at the heartbeat without)', async (t) => {
  for (const meshRelay of [false, true]) {
    // A line: a - b - c (c dials b, b dials a; a and c never connect).
    const a = new Libp2pPc5Medium({ l2Id: 1, onError: quiet, meshRelay });
    await a.start();
    const b = new Libp2pPc5Medium({ l2Id: 2, onError: quiet, meshRelay, bootstrap: a.multiaddrs });
    await b.start();
    const c = new Libp2pPc5Medium({ l2Id: 3, onError: quiet, meshRelay, bootstrap: b.multiaddrs });
    await c.start();
    try {
      assert.deepEqual(a.connectedPeers(), [b.peerId]);
      assert.deepEqual(c.connectedPeers(), [b.peerId]);
      const g = { address: '239.8.8.8', port: 8888 };
      const atC: number[] = [];
      const atB: number[] = [];
      c.onFrame((f) => atC.push(f.seq));
      b.onFrame((f) => atB.push(f.seq));
      for (const m of [a, b, c]) await m.joinGroup(g);
      // a publishes to b only (its one subscribed neighbour). b forwards to c through its mesh (meshRelay) or
      // announces the message id to c at its next heartbeat (IHAVE, 1 s), and c fetches it (IWANT).
      const t0 = Date.now();
      a.sendToGroup(g, { type: 'group_media', dstL2Id: 1, payload: new Uint8Array(1), seq: 1 });
      assert.ok(await waitUntil(() => atB.length === 1), 'the neighbour hears');
      assert.ok(await waitUntil(() => atC.length === 1, 5000), `meshRelay ${meshRelay}: c heard nothing`);
      t.diagnostic(`meshRelay ${meshRelay}: c heard after ${Date.now() - t0} ms`);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  }
});
