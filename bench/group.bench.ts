// Group security benchmarks (docs/group.md), three parts, bounded in count and time:
//  dist  - standard GMK distribution to N members (default 2,000): the group manager's cost per member is one
//          SAKKE encapsulation + one ECCSI signature. Single thread (baseline) vs nodes/crypto-pool.ts workers.
//  call  - group call set-up to N members packed in this process (members as objects): the call-init goes
//          through real loopback UDP multicast once, then every member opens it, checks the MAC, decrypts the
//          KEMAC and installs its Group Security Context. Latency per member from the initiator's send.
//          The ECCSI verification is shared by the members of one process (same bytes, same result); its
//          cost is reported separately (each real device verifies once, in parallel with the others).
//  media - protected group media (per-sender PTK, 128-NEA2 + 128-NIA2) vs unprotected frames, same run,
//          sender and receiver in this process over loopback UDP multicast.
// Run: npm run bench:group  (env GROUP_BENCH=dist,call,media  GROUP_BENCH_MEMBERS=2000  GROUP_BENCH_WORKERS=2)
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { generateKmsMasterKeys, issueBundle, type UeKeyBundle } from '../crypto-core/kms-bundle.js';
import { eccsiPrecompute, eccsiVerify } from '../crypto-core/rfc6507-eccsi.js';
import { sakkePrecompute } from '../crypto-core/rfc6508-sakke.js';
import { identityFor } from '../crypto-core/rfc6509-identity.js';
import { CryptoPool } from '../nodes/crypto-pool.js';
import { poolGroupCrypto } from '../nodes/group-crypto-pool.js';
import { ueIdentityUri } from '../procedures/direct-link/kd-identity.js';
import { GmkDistributor, GmkReceiver, groupIdentityUri } from '../procedures/group/gmk-distribution.js';
import { GroupCallReceiver, type PendingCall, prepareCallInit } from '../procedures/group/group-call.js';
import { deliverGmk, inlineGroupCrypto, receiveGmk, signCallInit } from '../procedures/group/group-crypto.js';
import {
  AES_GCM_GROUP_MEDIA_ALGS,
  DEFAULT_GROUP_MEDIA_ALGS,
  type GroupMediaAlgorithms,
  GroupMediaReceiver,
  GroupMediaSender,
  TS33303_GROUP_MEDIA_ALGS,
} from '../procedures/group/group-media.js';
import { decodeGroupSignalling, encodeGroupSignalling } from '../procedures/group/signalling.js';
import type { Pc5Group } from '../transport/pc5/medium.js';
import { prepareLoopbackMulticast } from '../transport/pc5/netenv.js';
import { UdpPc5Medium } from '../transport/pc5/udp-medium.js';
import { median, percentile } from './harness.js';

const PARTS = (process.env.GROUP_BENCH ?? 'dist,call,media').split(',');
const N = Math.min(5000, Number(process.env.GROUP_BENCH_MEMBERS ?? 2000));
const WORKERS = Math.min(8, Number(process.env.GROUP_BENCH_WORKERS ?? 2));
const DIST_CAP_MS = 180_000;
const GROUP = 'bench';
const GROUP_L2 = 0x00b001;

const now = new Date();
const master = generateKmsMasterKeys('kms.bench.prosec');
const gmBundle = issueBundle(master, identityFor(groupIdentityUri(GROUP), now), now);
const memberUris = Array.from({ length: N }, (_, i) => ueIdentityUri(`m-${i + 1}`));
const bundleCache = new Map<string, UeKeyBundle>();
function bundleOf(uri: string): UeKeyBundle {
  let b = bundleCache.get(uri);
  if (!b) {
    b = issueBundle(master, identityFor(uri, now), now);
    bundleCache.set(uri, b);
  }
  return b;
}

const ms = (x: number) => `${x.toFixed(2)} ms`;

function newDistributor(): GmkDistributor {
  const d = new GmkDistributor({
    groupId: GROUP,
    groupUri: groupIdentityUri(GROUP),
    kmsUri: master.kmsUri,
    periodMs: 3_600_000,
  });
  for (const m of memberUris) d.addMember(m);
  d.tick(Date.now());
  return d;
}

async function distribute(label: string, crypto: ReturnType<typeof inlineGroupCrypto>, concurrency: number) {
  const d = newDistributor();
  const jobs = d.jobs(Date.now());
  const out: Uint8Array[] = new Array(jobs.length);
  const t0 = performance.now();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < jobs.length && performance.now() - t0 < DIST_CAP_MS) {
      const i = next++;
      out[i] = await deliverGmk(d, jobs[i]!, crypto, Date.now());
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const s = (performance.now() - t0) / 1000;
  const rate = done / s;
  console.log(`  ${label.padEnd(40)} ${done} members in ${s.toFixed(2)} s = ${rate.toFixed(1)} members/s`);
  return { rate, d, out, done };
}

async function benchDist(): Promise<void> {
  console.log(
    `\nstandard GMK distribution to ${N} members (SAKKE encapsulation + ECCSI signature per member)`,
  );
  sakkePrecompute(gmBundle.Z_S);
  eccsiPrecompute(gmBundle.KPAK);
  const single = await distribute('single thread (baseline)', inlineGroupCrypto(gmBundle), 1);
  const pool = new CryptoPool(WORKERS);
  try {
    await pool.warm({ zS: gmBundle.Z_S, kpak: gmBundle.KPAK });
    const pooled = await distribute(
      `crypto pool, ${WORKERS} workers`,
      poolGroupCrypto(pool, gmBundle),
      4 * WORKERS,
    );
    console.log(
      `  ratio pool / single thread: ${(pooled.rate / single.rate).toFixed(2)}x  (target >= 200 members/s)`,
    );
    // Spot check: a few members really recover the GMK from their I_MESSAGE.
    for (const i of [0, Math.floor(pooled.done / 2), pooled.done - 1]) {
      const uri = memberUris[i]!;
      const r = new GmkReceiver({ selfUri: uri, trustedSigner: () => groupIdentityUri(GROUP) });
      const res = await receiveGmk(r, pooled.out[i]!, inlineGroupCrypto(bundleOf(uri)), Date.now());
      if (!res.ok) throw new Error(`member ${i} could not install the GMK: ${res.reason}`);
    }
    console.log('  spot check: 3 members verified and decapsulated their I_MESSAGE');
  } finally {
    await pool.close();
  }
}

async function benchCall(): Promise<void> {
  console.log(
    `\ngroup call set-up to ${N} members packed in one process (real UDP multicast for the call-init)`,
  );
  const prep = await prepareLoopbackMulticast();
  for (const c of prep.changed) console.log(`  network: ran \`${c}\``);
  // Members already hold the GMK (distribution is measured above); the initiator is member 1.
  const d = newDistributor();
  const gmk = d.current()!;
  const members = memberUris.map((uri) => {
    const gmks = new GmkReceiver({ selfUri: uri, trustedSigner: () => groupIdentityUri(GROUP) });
    gmks.installDirect(gmk, gmk.activatedAtMs);
    return { gmks, calls: new GroupCallReceiver({ gmks }), media: new GroupMediaReceiver(GROUP_L2) };
  });
  const initiator = bundleOf(memberUris[0]!);
  const initCrypto = inlineGroupCrypto(initiator);
  eccsiPrecompute(initiator.KPAK);
  // One ECCSI verification per process for identical (message, signature, signer): the packing artefact.
  const verified = new Map<string, boolean>();
  let verifyMs = 0;
  const verifyShared = (m: Uint8Array, s: Uint8Array, id: Uint8Array): boolean => {
    const k = createHash('sha256').update(m).update(s).update(id).digest('hex');
    let v = verified.get(k);
    if (v === undefined) {
      const t = performance.now();
      v = eccsiVerify(m, s, id, initiator.KPAK);
      verifyMs = performance.now() - t;
      verified.set(k, v);
    }
    return v;
  };
  const group: Pc5Group = { address: '239.78.1.1', port: 0 };
  const rx = new UdpPc5Medium({ l2Id: 0xb00002 });
  const tx = new UdpPc5Medium({ l2Id: 0xb00001 });
  await rx.start();
  await tx.start();
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  group.port = sock.address().port;
  sock.close();
  await rx.joinGroup(group);
  await tx.joinGroup(group);
  // mode 'shared': the process opens the call-init once (GMK lookup, MAC, KEMAC decryption, ECCSI verify: pure
  // functions of identical input), then every member object checks its own GMK store, runs its own replay
  // check and installs its own Group Security Context. mode 'unshared' (baseline): every member object does
  // the whole open() itself (the verification stays shared), i.e. 2,000 devices' work serialised on 2 cores.
  const runCalls = async (mode: 'shared' | 'unshared', rounds: number) => {
    const p99s: number[] = [];
    const lasts: number[] = [];
    const p50s: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const u = prepareCallInit(gmk, memberUris[0]!, Date.now());
      const bytes = await signCallInit(u, initCrypto);
      const lat: number[] = [];
      const done = new Promise<void>((resolve, reject) => {
        const cap = setTimeout(() => reject(new Error('call-init not received within 30 s')), 30_000);
        const off = rx.onFrame((frame) => {
          if (frame.type !== 'group_signalling') return;
          const sig = decodeGroupSignalling(frame.payload);
          if (!sig) return;
          const now = Date.now();
          let shared: { pending: PendingCall; valid: boolean } | undefined;
          for (let i = 1; i < members.length; i++) {
            const m = members[i]!;
            let pending: PendingCall;
            let valid: boolean;
            if (mode === 'shared' && shared) {
              if (!m.gmks.lookup(shared.pending.context.gmkId, now).ok)
                throw new Error(`member ${i}: no GMK`);
              ({ pending, valid } = shared);
            } else {
              const o = m.calls.open(sig.mikey, now);
              if (!o.ok) throw new Error(`member ${i}: ${o.reason}`);
              const v = o.pending.verify;
              pending = o.pending;
              valid = verifyShared(v.message, v.signature, v.signerIdentity);
              shared = { pending, valid };
            }
            const c = m.calls.complete(pending, valid);
            if (!c.ok) throw new Error(`member ${i}: ${c.reason}`);
            m.media.addCall(c.context.gskId, c.context.gsk);
            lat.push(Number(process.hrtime.bigint() - sig.sentNs) / 1e6);
          }
          off();
          clearTimeout(cap);
          resolve();
        });
      });
      tx.sendToGroup(group, {
        type: 'group_signalling',
        dstL2Id: GROUP_L2,
        payload: encodeGroupSignalling(process.hrtime.bigint(), bytes),
      });
      await done;
      p50s.push(percentile(lat, 50));
      p99s.push(percentile(lat, 99));
      lasts.push(Math.max(...lat));
    }
    return { p50: median(p50s), p99: median(p99s), last: median(lasts) };
  };
  let shared: { p50: number; p99: number; last: number };
  let unshared: { p50: number; p99: number; last: number };
  let openMs = 0;
  try {
    shared = await runCalls('shared', 7);
    unshared = await runCalls('unshared', 1);
    // One member's own work, as a device would do it alone: open() (lookup, MAC, decrypt) + its verification.
    const m = members[1]!;
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const b = await signCallInit(prepareCallInit(gmk, memberUris[0]!, Date.now()), initCrypto);
      const t = performance.now();
      const o = m.calls.open(b, Date.now());
      times.push(performance.now() - t);
      if (!o.ok) throw new Error(o.reason);
    }
    openMs = median(times);
  } finally {
    await rx.close();
    await tx.close();
  }
  console.log(
    `  ${N - 1} members, 7 calls, shared open: median over calls of p50 ${ms(shared.p50)}, p99 ${ms(shared.p99)}, last member ${ms(shared.last)}  (target p99 < 100 ms)`,
  );
  console.log(
    `  baseline, every member object opens it itself (1 call): p50 ${ms(unshared.p50)}, p99 ${ms(unshared.p99)}, last ${ms(unshared.last)}; ratio p99 shared/unshared ${(shared.p99 / unshared.p99).toFixed(3)}`,
  );
  console.log(
    `  one member's own work: open ${ms(openMs)} + ECCSI verification ${ms(verifyMs)} = ${ms(openMs + verifyMs)} (what a device alone spends after the packet arrives)`,
  );
}

async function benchMedia(): Promise<void> {
  const FRAMES = 20_000;
  const PAYLOAD = 1200;
  console.log(
    `\ngroup media: ${FRAMES} frames of ${PAYLOAD} payload octets per round, protected vs unprotected, loopback multicast to a receiver process`,
  );
  const gsk = new Uint8Array(32).fill(9);
  const child = fork(join(dirname(fileURLToPath(import.meta.url)), 'group-media-receiver.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies: ((m: Record<string, number | string>) => void)[] = [];
  child.on('message', (m: Record<string, number | string>) => replies.shift()?.(m));
  const next = (ms: number) =>
    new Promise<Record<string, number | string>>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('receiver did not answer')), ms);
      replies.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  // undefined: unprotected test frames; otherwise the protected profile (integrity 0 = TS 33.303 ciphering only).
  const run = async (profile: GroupMediaAlgorithms | undefined): Promise<number> => {
    const protectedMode = profile !== undefined;
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const group: Pc5Group = { address: '239.78.2.1', port: sock.address().port };
    sock.close();
    const tx = new UdpPc5Medium({ l2Id: 0xb00011 });
    await tx.start();
    await tx.joinGroup(group);
    const ready = next(10_000);
    child.send({
      cmd: 'start',
      group,
      protectedMode,
      gsk: [...gsk],
      gskId: 7,
      groupL2: GROUP_L2,
      count: FRAMES,
      profile: profile ?? TS33303_GROUP_MEDIA_ALGS,
    });
    await ready;
    const done = next(60_000);
    const sender = new GroupMediaSender(gsk, 7, 0xb00011, GROUP_L2, profile);
    const payload = new Uint8Array(PAYLOAD);
    const t0 = performance.now();
    // Bursts of 32 frames, yielding between bursts; bounded by count and a 20 s cap.
    for (let i = 0; i < FRAMES && performance.now() - t0 < 20_000; i += 32) {
      for (let k = 0; k < 32; k++) {
        if (protectedMode)
          tx.sendToGroup(group, { type: 'group_media', dstL2Id: GROUP_L2, payload: sender.protect(payload) });
        else tx.sendToGroup(group, { type: 'test', dstL2Id: GROUP_L2, payload });
      }
      await new Promise((r) => setImmediate(r));
    }
    await tx.drain();
    const r = await done;
    await tx.close();
    if (Number(r.bad) > 0) throw new Error(`${r.bad} protected frames rejected`);
    return Number(r.bytes) / Number(r.seconds) / 1e6;
  };
  const plain: number[] = [];
  const ciph: number[] = [];
  const full: number[] = [];
  const aead: number[] = [];
  try {
    await next(30_000); // child up
    for (let r = 0; r < 5; r++) {
      // Interleaved rounds: unprotected, ciphering only (TS 33.303), ciphering + NIA2 (prosec's default).
      plain.push(await run(undefined));
      ciph.push(await run(TS33303_GROUP_MEDIA_ALGS));
      full.push(await run(DEFAULT_GROUP_MEDIA_ALGS));
      aead.push(await run(AES_GCM_GROUP_MEDIA_ALGS));
    }
  } finally {
    child.send({ cmd: 'exit' });
    setTimeout(() => {
      if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
    }, 2000).unref();
  }
  const a = median(plain);
  const b = median(ciph);
  const c = median(full);
  const d = median(aead);
  console.log(`  unprotected (baseline): ${a.toFixed(1)} MB/s payload delivered`);
  console.log(
    `  128-NEA2 ciphering only (TS 33.303 one-to-many profile): ${b.toFixed(1)} MB/s   ratio ${(b / a).toFixed(2)} (target >= 0.70)`,
  );
  console.log(
    `  128-NEA2 + 128-NIA2 (prosec default, detects tampering): ${c.toFixed(1)} MB/s   ratio ${(c / a).toFixed(2)}`,
  );
  console.log(
    `  AES-128-GCM (prosec option, ciphering + 16-octet tag): ${d.toFixed(1)} MB/s   ratio ${(d / a).toFixed(2)}`,
  );
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' ');
  console.log(
    `  rounds unprotected ${fmt(plain)} | ciphering ${fmt(ciph)} | ciphering+integrity ${fmt(full)} | AES-GCM ${fmt(aead)}`,
  );
}

console.log(
  `group bench: ${N} members, ${WORKERS} workers; ${availableParallelism()} cores, load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
if (PARTS.includes('dist')) await benchDist();
if (PARTS.includes('call')) await benchCall();
if (PARTS.includes('media')) await benchMedia();
