// PC5 medium compliance suite: the behaviour every Pc5Medium (UDP now, others later) must show.
// Usage: runPc5MediumCompliance('UdpPc5Medium', async (o) => new UdpPc5Medium(o), { groupSkipReason }).
// A medium that is not UDP passes injectRaw and addressIsFree (see tests/transport/libp2p-medium.test.ts).
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { describe, test } from 'node:test';
import {
  encodePc5Frame,
  PC5_FRAME_TYPES,
  PC5_HEADER_SIZE,
  PC5_MAX_FRAME_SIZE,
  PC5_MAX_PAYLOAD,
  type Pc5Frame,
  type Pc5FrameType,
} from '../../transport/pc5/frame.js';
import type {
  Pc5Address,
  Pc5DropReason,
  Pc5FrameMeta,
  Pc5Group,
  Pc5Medium,
  Pc5MetricsSink,
  Pc5TrafficKind,
} from '../../transport/pc5/medium.js';

export interface Pc5ComplianceFactoryOptions {
  l2Id: number;
  metrics?: Pc5MetricsSink;
}

/** Creates a medium that is NOT yet started. */
export type Pc5MediumFactory = (opts: Pc5ComplianceFactoryOptions) => Promise<Pc5Medium>;

export type Pc5RawTarget = { unicast: Pc5Address } | { group: Pc5Group };

export interface Pc5ComplianceOptions {
  /** When set, the group (one-to-many) tests are skipped with this reason. */
  groupSkipReason?: string;
  /** Injects raw bytes, bypassing the medium (default: a raw node:dgram socket on loopback). */
  injectRaw?: (target: Pc5RawTarget, bytes: Uint8Array) => Promise<void>;
  /** A fresh group no other test uses (default: random 239.2xx.y.z address and a free port). */
  makeGroup?: () => Promise<Pc5Group>;
  /** Whether a closed medium's unicast address can be taken again (default: bind it without reuseAddr). */
  addressIsFree?: (addr: Pc5Address) => Promise<boolean>;
  /** Minimum delivery ratio of the bulk test (default 0.99). */
  minBulkDelivery?: number;
}

/** Polls `cond` every 5 ms; resolves true as soon as it holds, false after timeoutMs. */
export async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function defaultMakeGroup(): Promise<Pc5Group> {
  return {
    address: `239.${randomInt(200, 250)}.${randomInt(0, 256)}.${randomInt(1, 255)}`,
    port: await freeUdpPort(),
  };
}

async function defaultInjectRaw(target: Pc5RawTarget, bytes: Uint8Array): Promise<void> {
  const s = dgram.createSocket('udp4');
  try {
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    s.setMulticastInterface('127.0.0.1');
    s.setMulticastTTL(0);
    const [host, port] =
      'unicast' in target
        ? [target.unicast.host, target.unicast.port]
        : [target.group.address, target.group.port];
    await new Promise<void>((res, rej) => s.send(bytes, port, host, (e) => (e ? rej(e) : res())));
  } finally {
    await new Promise<void>((r) => s.close(() => r()));
  }
}

async function defaultAddressIsFree(addr: Pc5Address): Promise<boolean> {
  const s = dgram.createSocket({ type: 'udp4', reuseAddr: false });
  try {
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind(addr.port, addr.host, () => res());
    });
    return true;
  } catch {
    return false;
  } finally {
    try {
      s.close();
    } catch {}
  }
}

interface Received {
  frame: Pc5Frame;
  meta: Pc5FrameMeta;
}

/** Collects frames a medium delivers. Payloads are copied (the medium may hand out views). */
function collect(m: Pc5Medium): Received[] {
  const out: Received[] = [];
  m.onFrame((frame, meta) =>
    out.push({ frame: { ...frame, payload: Uint8Array.from(frame.payload) }, meta }),
  );
  return out;
}

/** A metrics sink that only counts. */
export class CountingSink implements Pc5MetricsSink {
  sent: Record<Pc5TrafficKind, { frames: number; bytes: number }> = {
    group: { frames: 0, bytes: 0 },
    unicast: { frames: 0, bytes: 0 },
  };
  received: Record<Pc5TrafficKind, { frames: number; bytes: number }> = {
    group: { frames: 0, bytes: 0 },
    unicast: { frames: 0, bytes: 0 },
  };
  dropped = new Map<Pc5DropReason, number>();
  frameSent(kind: Pc5TrafficKind, bytes: number): void {
    this.sent[kind].frames++;
    this.sent[kind].bytes += bytes;
  }
  frameReceived(kind: Pc5TrafficKind, bytes: number): void {
    this.received[kind].frames++;
    this.received[kind].bytes += bytes;
  }
  frameDropped(reason: Pc5DropReason): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
  }
}

/** Malformed datagrams, one per decode error reason. */
function malformedSamples(): [Pc5DropReason, Uint8Array][] {
  const good = encodePc5Frame({
    type: 'test',
    flags: 0,
    srcL2Id: 1,
    dstL2Id: 2,
    seq: 3,
    payload: new Uint8Array(8),
  });
  const mut = (f: (b: Uint8Array) => void): Uint8Array => {
    const b = Uint8Array.from(good);
    f(b);
    return b;
  };
  const tooLarge = new Uint8Array(PC5_MAX_FRAME_SIZE + 1);
  tooLarge.set(good.subarray(0, PC5_HEADER_SIZE));
  return [
    ['too_short', new Uint8Array([0x50, 0x35, 1])],
    [
      'bad_magic',
      mut((b) => {
        b[0] = 0x51;
      }),
    ],
    [
      'bad_version',
      mut((b) => {
        b[2] = 9;
      }),
    ],
    [
      'unknown_type',
      mut((b) => {
        b[3] = 0xee;
      }),
    ],
    [
      'bad_length',
      mut((b) => {
        b[16] = 7;
      }),
    ],
    ['too_large', tooLarge],
  ];
}

/** Registers the compliance tests for one medium implementation. */
export function runPc5MediumCompliance(
  name: string,
  factory: Pc5MediumFactory,
  options: Pc5ComplianceOptions = {},
): void {
  const makeGroup = options.makeGroup ?? defaultMakeGroup;
  const injectRaw = options.injectRaw ?? defaultInjectRaw;
  const addressIsFree = options.addressIsFree ?? defaultAddressIsFree;
  const minBulk = options.minBulkDelivery ?? 0.99;
  const groupSkip = options.groupSkipReason ? { skip: options.groupSkipReason } : {};
  let nextL2 = randomInt(0x100000, 0xf00000);

  describe(`PC5 medium compliance: ${name}`, () => {
    const open: Pc5Medium[] = [];
    const started = async (metrics?: Pc5MetricsSink): Promise<Pc5Medium> => {
      const opts: Pc5ComplianceFactoryOptions = { l2Id: nextL2++ };
      if (metrics) opts.metrics = metrics;
      const m = await factory(opts);
      open.push(m);
      await m.start();
      return m;
    };
    const closeAll = async (): Promise<void> => {
      await Promise.all(open.splice(0).map((m) => m.close()));
    };

    test('start and close are idempotent; a closed medium refuses to send', async () => {
      const m = await factory({ l2Id: 0x123456 });
      assert.equal(typeof m.kind, 'string');
      assert.equal(m.l2Id, 0x123456);
      await Promise.all([m.start(), m.start()]);
      await m.start();
      const addr = m.unicastAddress;
      assert.equal(typeof addr.host, 'string');
      assert.ok(addr.port > 0);
      assert.deepEqual(m.unicastAddress, addr);
      await Promise.all([m.close(), m.close()]);
      await m.close();
      assert.throws(() => m.sendUnicast(addr, { type: 'test', dstL2Id: 1, payload: new Uint8Array(1) }));
    });

    test('sending before start throws; invalid groups are rejected', async () => {
      const m = await factory({ l2Id: 1 });
      try {
        assert.throws(() =>
          m.sendUnicast(
            { host: '127.0.0.1', port: 9 },
            { type: 'test', dstL2Id: 1, payload: new Uint8Array(0) },
          ),
        );
        await m.start();
        await assert.rejects(m.joinGroup({ address: '224.0.0.1', port: 5000 }));
        await assert.rejects(m.joinGroup({ address: '10.0.0.1', port: 5000 }));
        await assert.rejects(m.joinGroup({ address: '239.1.2.3', port: 0 }));
        assert.throws(() =>
          m.sendToGroup(
            { address: '8.8.8.8', port: 53 },
            { type: 'test', dstL2Id: 1, payload: new Uint8Array(1) },
          ),
        );
      } finally {
        await m.close();
      }
    });

    test('unicast delivery between two media keeps every field intact', async () => {
      try {
        const a = await started();
        const b = await started();
        const atA = collect(a);
        const atB = collect(b);
        const payload = randomBytes(1200);
        assert.equal(
          a.sendUnicast(b.unicastAddress, {
            type: 'unicast_signalling',
            dstL2Id: b.l2Id,
            payload,
            flags: 0x03,
            seq: 77,
          }),
          true,
        );
        b.sendUnicast(a.unicastAddress, {
          type: 'unicast_data',
          dstL2Id: a.l2Id,
          payload: new Uint8Array(0),
        });
        assert.ok(await waitUntil(() => atB.length === 1 && atA.length === 1), 'both frames arrive');
        const r = atB[0]!;
        assert.equal(r.frame.type, 'unicast_signalling');
        assert.equal(r.frame.flags, 0x03);
        assert.equal(r.frame.seq, 77);
        assert.equal(r.frame.srcL2Id, a.l2Id);
        assert.equal(r.frame.dstL2Id, b.l2Id);
        assert.deepEqual(r.frame.payload, Uint8Array.from(payload));
        assert.deepEqual(r.meta.from, a.unicastAddress);
        assert.equal(r.meta.group, undefined);
        assert.equal(typeof r.meta.receivedAt, 'bigint');
        assert.equal(atA[0]!.frame.type, 'unicast_data');
        assert.equal(atA[0]!.frame.payload.length, 0);
        await sleep(30);
        assert.equal(atB.length, 1, 'exactly once');
      } finally {
        await closeAll();
      }
    });

    test('every frame type and payload sizes 0..max survive the medium', async () => {
      try {
        const a = await started();
        const b = await started();
        const atB = collect(b);
        const types = Object.keys(PC5_FRAME_TYPES) as Pc5FrameType[];
        const sizes = [0, 1, 17, 1200, 1472, PC5_MAX_PAYLOAD];
        const sentFrames: Pc5Frame[] = [];
        let seq = 1000;
        for (const type of types) {
          for (const size of sizes) {
            const f: Pc5Frame = {
              type,
              flags: seq & 0xff,
              srcL2Id: randomInt(0, 0x1000000),
              dstL2Id: randomInt(0, 0x1000000),
              seq: seq++,
              payload: Uint8Array.from(randomBytes(size)),
            };
            sentFrames.push(f);
            a.sendUnicast(b.unicastAddress, f);
          }
        }
        assert.ok(
          await waitUntil(() => atB.length === sentFrames.length),
          `got ${atB.length}/${sentFrames.length}`,
        );
        const bySeq = new Map(atB.map((r) => [r.frame.seq, r.frame]));
        for (const f of sentFrames) assert.deepEqual(bySeq.get(f.seq), f);
        // A frame that cannot be encoded throws before anything is sent.
        assert.throws(() =>
          a.sendUnicast(b.unicastAddress, {
            type: 'test',
            dstL2Id: 1,
            payload: new Uint8Array(PC5_MAX_PAYLOAD + 1),
          }),
        );
        assert.throws(() =>
          a.sendUnicast(b.unicastAddress, { type: 'test', dstL2Id: 0x1000000, payload: new Uint8Array(1) }),
        );
      } finally {
        await closeAll();
      }
    });

    test(
      'group delivery reaches every member, no non-member, and never echoes to the sender',
      groupSkip,
      async () => {
        try {
          const g = await makeGroup();
          const other: Pc5Group = {
            address: g.address === '239.254.0.1' ? '239.254.0.2' : '239.254.0.1',
            port: g.port,
          };
          const sender = await started();
          const members = await Promise.all([1, 2, 3, 4, 5].map(() => started()));
          const sameportOther = await started();
          const notJoined = await started();
          const atSender = collect(sender);
          const atMembers = members.map(collect);
          const atOther = collect(sameportOther);
          const atNotJoined = collect(notJoined);
          await sender.joinGroup(g); // the sender is a member too: it must not hear itself
          await Promise.all(members.map((m) => m.joinGroup(g)));
          await members[0]!.joinGroup(g); // joining twice is harmless
          await sameportOther.joinGroup(other);
          assert.deepEqual(members[0]!.groups(), [g]);
          const payload = Uint8Array.from(randomBytes(300));
          for (let i = 0; i < 3; i++) {
            sender.sendToGroup(g, { type: 'group_media', dstL2Id: 0xabcdef, payload, seq: i });
          }
          assert.ok(
            await waitUntil(() => atMembers.every((r) => r.length === 3)),
            `members got ${atMembers.map((r) => r.length)}`,
          );
          await sleep(50);
          for (const r of atMembers) {
            assert.equal(r.length, 3);
            const got = r[0]!;
            assert.equal(got.frame.type, 'group_media');
            assert.equal(got.frame.srcL2Id, sender.l2Id);
            assert.equal(got.frame.dstL2Id, 0xabcdef);
            assert.deepEqual(got.frame.payload, payload);
            assert.deepEqual(got.meta.group, g);
            assert.deepEqual(got.meta.from, sender.unicastAddress);
          }
          assert.equal(atSender.length, 0, 'no self-echo');
          assert.equal(atOther.length, 0, 'a member of another group on the same port hears nothing');
          assert.equal(atNotJoined.length, 0, 'a non-member hears nothing');
          // A member sending reaches the others and the original sender, not itself.
          members[1]!.sendToGroup(g, {
            type: 'group_signalling',
            dstL2Id: 0xabcdef,
            payload: new Uint8Array([1]),
          });
          assert.ok(await waitUntil(() => atSender.length === 1 && atMembers[0]!.length === 4));
          await sleep(30);
          assert.equal(atMembers[1]!.length, 3, 'the sending member does not hear itself');
        } finally {
          await closeAll();
        }
      },
    );

    test('sending to a group needs no membership (e.g. a discovery announcement)', groupSkip, async () => {
      try {
        const g = await makeGroup();
        const announcer = await started();
        const monitor = await started();
        const atMonitor = collect(monitor);
        await monitor.joinGroup(g);
        announcer.sendToGroup(g, {
          type: 'discovery_announce',
          dstL2Id: 0xffffff,
          payload: new Uint8Array([7, 7]),
        });
        assert.ok(await waitUntil(() => atMonitor.length === 1));
        assert.equal(atMonitor[0]!.frame.type, 'discovery_announce');
      } finally {
        await closeAll();
      }
    });

    test('two media with the same L2 ID (an L2 ID collision) still hear each other', groupSkip, async () => {
      try {
        const g = await makeGroup();
        const a = await started();
        const b = await factory({ l2Id: a.l2Id });
        open.push(b);
        await b.start();
        const atA = collect(a);
        const atB = collect(b);
        await a.joinGroup(g);
        await b.joinGroup(g);
        a.sendToGroup(g, { type: 'group_signalling', dstL2Id: 1, payload: new Uint8Array([1]) });
        b.sendToGroup(g, { type: 'group_signalling', dstL2Id: 1, payload: new Uint8Array([2]) });
        assert.ok(await waitUntil(() => atA.length === 1 && atB.length === 1));
        assert.deepEqual(atA[0]!.frame.payload, new Uint8Array([2]));
        assert.deepEqual(atB[0]!.frame.payload, new Uint8Array([1]));
      } finally {
        await closeAll();
      }
    });

    test('leaveGroup stops delivery; joining again resumes it', groupSkip, async () => {
      try {
        const g = await makeGroup();
        const sender = await started();
        const a = await started();
        const b = await started();
        const atA = collect(a);
        const atB = collect(b);
        await a.joinGroup(g);
        await b.joinGroup(g);
        const send = (seq: number): void => {
          sender.sendToGroup(g, { type: 'group_media', dstL2Id: 1, payload: new Uint8Array([seq]), seq });
        };
        send(1);
        assert.ok(await waitUntil(() => atA.length === 1 && atB.length === 1));
        await a.leaveGroup(g);
        await a.leaveGroup(g); // idempotent
        assert.deepEqual(a.groups(), []);
        send(2);
        assert.ok(await waitUntil(() => atB.length === 2));
        await sleep(50);
        assert.equal(atA.length, 1, 'no delivery after leaveGroup');
        await a.joinGroup(g);
        send(3);
        assert.ok(await waitUntil(() => atA.length === 2 && atB.length === 3));
        assert.equal(atA[1]!.frame.seq, 3);
      } finally {
        await closeAll();
      }
    });

    test(`bulk: 1,000 unicast frames arrive (>= ${minBulk * 100}%), without duplicates`, async () => {
      try {
        const a = await started();
        const b = await started();
        const seen = new Set<number>();
        let dup = 0;
        b.onFrame((f) => {
          if (seen.has(f.seq)) dup++;
          seen.add(f.seq);
        });
        const payload = new Uint8Array(1200);
        for (let i = 0; i < 1000; i++)
          a.sendUnicast(b.unicastAddress, { type: 'test', dstL2Id: 2, payload, seq: i });
        await a.drain();
        await waitUntil(() => seen.size === 1000, 10_000);
        assert.equal(dup, 0);
        assert.ok(seen.size >= 1000 * minBulk, `received ${seen.size}/1000`);
      } finally {
        await closeAll();
      }
    });

    test(`bulk: 1,000 group frames reach 3 members (>= ${minBulk * 100}% each)`, groupSkip, async () => {
      try {
        const g = await makeGroup();
        const sender = await started();
        const members = await Promise.all([1, 2, 3].map(() => started()));
        const seen = members.map((m) => {
          const s = new Set<number>();
          m.onFrame((f) => s.add(f.seq));
          return s;
        });
        await Promise.all(members.map((m) => m.joinGroup(g)));
        const payload = new Uint8Array(1200);
        for (let i = 0; i < 1000; i++)
          sender.sendToGroup(g, { type: 'group_media', dstL2Id: 2, payload, seq: i });
        await sender.drain();
        await waitUntil(() => seen.every((s) => s.size === 1000), 10_000);
        for (const s of seen) assert.ok(s.size >= 1000 * minBulk, `received ${s.size}/1000`);
      } finally {
        await closeAll();
      }
    });

    test('malformed datagrams are counted by reason and do not disturb the medium (unicast)', async () => {
      try {
        const a = await started();
        const b = await started();
        const atB = collect(b);
        const samples = malformedSamples();
        for (const [, bytes] of samples) await injectRaw({ unicast: b.unicastAddress }, bytes);
        for (let i = 0; i < 20; i++)
          await injectRaw({ unicast: b.unicastAddress }, randomBytes(randomInt(0, 2000)));
        const expected = samples.length + 20;
        const dropped = (): number => Object.values(b.stats().dropped).reduce((x, y) => x + y, 0);
        assert.ok(await waitUntil(() => dropped() === expected), `dropped ${dropped()} of ${expected}`);
        const st = b.stats();
        for (const [reason] of samples) assert.ok(st.dropped[reason] >= 1, `counted ${reason}`);
        assert.equal(st.dropped.too_large, 1);
        assert.equal(st.dropped.unknown_type, 1);
        assert.equal(st.dropped.bad_version, 1);
        assert.equal(atB.length, 0);
        a.sendUnicast(b.unicastAddress, { type: 'test', dstL2Id: 1, payload: new Uint8Array([1]) });
        assert.ok(await waitUntil(() => atB.length === 1), 'still works');
      } finally {
        await closeAll();
      }
    });

    test('malformed datagrams on a group are counted by reason at every member', groupSkip, async () => {
      try {
        const g = await makeGroup();
        const members = await Promise.all([1, 2].map(() => started()));
        await Promise.all(members.map((m) => m.joinGroup(g)));
        const samples = malformedSamples();
        for (const [, bytes] of samples) await injectRaw({ group: g }, bytes);
        for (let i = 0; i < 10; i++) await injectRaw({ group: g }, randomBytes(randomInt(0, 100)));
        for (const m of members) {
          const dropped = (): number => Object.values(m.stats().dropped).reduce((x, y) => x + y, 0);
          assert.ok(await waitUntil(() => dropped() === samples.length + 10), `dropped ${dropped()}`);
          for (const [reason] of samples) assert.ok(m.stats().dropped[reason] >= 1, `counted ${reason}`);
          assert.equal(m.stats().received.group.frames, 0);
        }
      } finally {
        await closeAll();
      }
    });

    test('a throwing frame handler is counted and does not stop other handlers', async () => {
      try {
        const a = await started();
        const b = await started();
        let calls = 0;
        b.onFrame(() => {
          throw new Error('handler bug (expected in this test)');
        });
        const off = b.onFrame(() => calls++);
        a.sendUnicast(b.unicastAddress, { type: 'test', dstL2Id: 1, payload: new Uint8Array(1) });
        assert.ok(await waitUntil(() => calls === 1));
        assert.equal(b.stats().errors.handler, 1);
        off();
        a.sendUnicast(b.unicastAddress, { type: 'test', dstL2Id: 1, payload: new Uint8Array(1) });
        assert.ok(await waitUntil(() => b.stats().received.unicast.frames === 2));
        assert.equal(calls, 1, 'unsubscribed handler is not called');
      } finally {
        await closeAll();
      }
    });

    test('stats and the metrics sink agree', async (t) => {
      try {
        const sinkA = new CountingSink();
        const sinkB = new CountingSink();
        const a = await started(sinkA);
        const b = await started(sinkB);
        const payload = new Uint8Array(100);
        for (let i = 0; i < 10; i++) a.sendUnicast(b.unicastAddress, { type: 'test', dstL2Id: 1, payload });
        await injectRaw({ unicast: b.unicastAddress }, new Uint8Array([1, 2, 3]));
        let groupFrames = 0;
        if (!options.groupSkipReason) {
          const g = await makeGroup();
          await b.joinGroup(g);
          for (let i = 0; i < 5; i++) a.sendToGroup(g, { type: 'group_media', dstL2Id: 1, payload });
          groupFrames = 5;
        } else {
          t.diagnostic(`group part skipped: ${options.groupSkipReason}`);
        }
        await a.drain();
        assert.ok(
          await waitUntil(
            () => b.stats().received.unicast.frames === 10 && b.stats().received.group.frames === groupFrames,
          ),
        );
        assert.ok(await waitUntil(() => b.stats().dropped.too_short === 1));
        const sa = a.stats();
        const sb = b.stats();
        const frameBytes = PC5_HEADER_SIZE + payload.length;
        assert.deepEqual(sa.sent.unicast, { frames: 10, bytes: 10 * frameBytes });
        assert.deepEqual(sa.sent.group, { frames: groupFrames, bytes: groupFrames * frameBytes });
        assert.deepEqual(sb.received.unicast, { frames: 10, bytes: 10 * frameBytes });
        assert.deepEqual(sb.received.group, { frames: groupFrames, bytes: groupFrames * frameBytes });
        assert.deepEqual(sinkA.sent, sa.sent);
        assert.deepEqual(sinkB.received, sb.received);
        for (const [reason, n] of Object.entries(sb.dropped)) {
          assert.equal(sinkB.dropped.get(reason as Pc5DropReason) ?? 0, n, reason);
        }
        assert.equal(sb.dropped.too_short, 1);
      } finally {
        await closeAll();
      }
    });

    test('close releases the unicast address and the group sockets', async () => {
      const m = await factory({ l2Id: 42 });
      await m.start();
      const addr = m.unicastAddress;
      if (!options.groupSkipReason) await m.joinGroup(await makeGroup());
      assert.equal(await addressIsFree(addr), false, 'in use while open');
      await m.close();
      assert.equal(await addressIsFree(addr), true, 'free after close');
      assert.deepEqual(m.groups(), []);
    });
  });
}
