// Receiver cost of discovery (TR 33.833 solution #2.1 editor's note): CPU per received announcement as the
// number of watched ProSe Application Codes grows, for restricted option 1 (nonce: one HMAC per watched code),
// option 2 (time slot: a precomputed table, one lookup; plus the per-slot table cost), and open discovery
// (one signature verification, ECDSA P-256 or ECCSI). Baseline in the same run: one HMAC-SHA-256 of a nonce.
// Then the passive observer's link rate, rotating vs static identifiers. Bounded: fixed sizes and rounds.
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { eccsiGenerateKmsKeys, eccsiIssueSsk, eccsiPrecompute } from '../crypto-core/rfc6507-eccsi.js';
import { RotatingL2Id } from '../procedures/discovery/l2-rotation.js';
import { LinkabilityObserver } from '../procedures/discovery/linkability.js';
import { encodeDiscovery } from '../procedures/discovery/messages.js';
import {
  eccsiSigner,
  eccsiVerifier,
  ecdsaSigner,
  ecdsaVerifier,
  OpenAnnouncer,
  OpenMonitor,
} from '../procedures/discovery/open-discovery.js';
import {
  type MonitorEntry,
  RestrictedAnnouncer,
  RestrictedMonitor,
} from '../procedures/discovery/restricted-discovery.js';
import { bench, median, report } from './harness.js';

const SLOT = 1000;
const SIZES = (process.env.DISC_SIZES ?? '1,10,100,1000').split(',').map(Number);
console.log('# discovery receiver cost; medians of rounds; shared noisy 2-core machine: orders of magnitude');

const key = randomBytes(32);
const nonce = randomBytes(9);
const base = bench('HMAC-SHA-256 of a 9-octet value (baseline)', () =>
  createHmac('sha256', key).update(nonce).digest(),
);
report(base);

const entries = (n: number): MonitorEntry[] =>
  Array.from({ length: n }, (_, i) => ({ code: randomBytes(8), key: randomBytes(32), owner: `u${i}` }));

for (const n of SIZES) {
  const es = entries(n);
  const target = es[n - 1]!; // worst case for option 1: the match is the last code scanned
  // Option 1: replays are rejected after the scan, so feeding the same announcement measures scan + MIC.
  const m1 = new RestrictedMonitor({ slotMs: SLOT, replayCacheSize: 16 });
  m1.setEntries(es);
  const a1 = new RestrictedAnnouncer(target, { option: 'nonce', slotMs: SLOT });
  const p1 = a1.announce(0)!;
  const r1 = bench(`option 1 (nonce), ${n} watched, matching`, () => m1.receive(p1, 0), {
    rounds: 5,
    minRoundMs: 150,
  });
  report(r1, base);
  const stranger = new RestrictedAnnouncer(entries(1)[0]!, { option: 'nonce', slotMs: SLOT }).announce(0)!;
  const r1u = bench(`option 1 (nonce), ${n} watched, not for us`, () => m1.receive(stranger, 0), {
    rounds: 5,
    minRoundMs: 150,
  });
  report(r1u, base);
  // Option 2: the slot tables are built at the first receive; then each announcement is one lookup.
  const m2 = new RestrictedMonitor({ slotMs: SLOT });
  m2.setEntries(es);
  const t0 = performance.now();
  const a2 = new RestrictedAnnouncer(target, { option: 'time-slot', slotMs: SLOT });
  const p2 = a2.announce(5 * SLOT)!;
  m2.receive(p2, 5 * SLOT);
  const tableMs = performance.now() - t0;
  const r2 = bench(`option 2 (time slot), ${n} watched, per announcement`, () => m2.receive(p2, 5 * SLOT), {
    rounds: 5,
    minRoundMs: 150,
  });
  report(r2, base);
  const perSlot: number[] = [];
  for (let s = 0; s < 5; s++) {
    const m = new RestrictedMonitor({ slotMs: SLOT });
    m.setEntries(es);
    m.receive(p2, 5 * SLOT); // 7 slot tables
    const t = performance.now();
    m.receive(p2, 6 * SLOT); // one new slot table
    perSlot.push(performance.now() - t);
  }
  console.log(
    `  option 2 table: first ${tableMs.toFixed(2)} ms (7 slots); then ${median(perSlot).toFixed(3)} ms per slot per ${n} codes`,
  );
}

// Open discovery: one verification per announcement whatever the number of watched codes (lookup by code).
const code = randomBytes(8);
const kp = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const openEcdsa = new OpenMonitor({ slotMs: SLOT });
openEcdsa.setEntries([{ owner: 'a', code, verifier: ecdsaVerifier(kp.publicKey) }]);
const annE = new OpenAnnouncer(code, ecdsaSigner(kp.privateKey), { slotMs: SLOT });
const fresh = Array.from({ length: 400 }, () => annE.announce(0));
let i = 0;
const rE = bench(
  'open, ECDSA P-256 verify per announcement',
  () => openEcdsa.receive(fresh[i++ % fresh.length]!, 0),
  {
    rounds: 5,
    minRoundMs: 150,
    maxOpsPerRound: 400,
  },
);
report(rE, base);
const kms = eccsiGenerateKmsKeys();
eccsiPrecompute(kms.KPAK);
const ssk = eccsiIssueSsk(kms.KSAK, kms.KPAK, code);
const openEccsi = new OpenMonitor({ slotMs: SLOT, maxSeen: 100_000 });
openEccsi.setEntries([{ owner: 'a', code, verifier: eccsiVerifier({ id: code, kpak: kms.KPAK }) }]);
const annI = new OpenAnnouncer(code, eccsiSigner({ id: code, ssk: ssk.SSK, pvt: ssk.PVT, kpak: kms.KPAK }), {
  slotMs: SLOT,
});
const freshI = Array.from({ length: 60 }, () => annI.announce(0));
let j = 0;
const rI = bench(
  'open, ECCSI verify per announcement',
  () => openEccsi.receive(freshI[j++ % freshI.length]!, 0),
  {
    rounds: 3,
    minRoundMs: 100,
    maxOpsPerRound: 20,
  },
);
report(rI, base);

// Linkability: 20 UEs, 100 announcements each, interleaved; the observer links equal observable IDs.
const users = entries(20);
for (const option of ['nonce', 'time-slot'] as const) {
  // The PC5 source L2 ID as the node sends it: rotated with the over-the-air ID, or the node's fixed one.
  const rotating = new LinkabilityObserver();
  const fixedL2 = new LinkabilityObserver();
  const anns = users.map((u) => new RestrictedAnnouncer(u, { option, slotMs: SLOT }));
  const l2 = users.map(() => new RotatingL2Id());
  for (let k = 0; k < 100; k++) {
    for (const [x, a] of anns.entries()) {
      const p = a.announce(k * SLOT)!;
      rotating.observe(`u${x}`, p, l2[x]!.idFor(`${k}`));
      fixedL2.observe(`u${x}`, p, 0x100 + x);
    }
  }
  console.log(
    `linkability, rotating IDs (${option}): link rate by payload ID ${rotating.linkRate.toFixed(3)}, by rotating L2 ID ${rotating.l2LinkRate.toFixed(3)}, by a fixed L2 ID ${fixedL2.l2LinkRate.toFixed(3)} (over ${rotating.linkable} linkable)`,
  );
}
const st = new LinkabilityObserver();
for (let k = 0; k < 100; k++) {
  for (const [x] of users.entries()) {
    const p = encodeDiscovery({
      kind: 'restricted_nonce',
      fresh: randomBytes(8),
      rotatingId: new Uint8Array(16).fill(x + 1),
      meta: new Uint8Array(0),
      mic: new Uint8Array(4),
    });
    st.observe(`u${x}`, p);
  }
}
console.log(
  `linkability, static ID baseline: link rate ${st.linkRate.toFixed(3)} over ${st.linkable} linkable`,
);
