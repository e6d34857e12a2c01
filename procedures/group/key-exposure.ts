// Key freshness and lawful interception (issue #9, the LI contribution to TR 33.833 key issue #3): what a passive
// attacker who captured a group's PC5 traffic can decrypt once one member's provisioned credentials leak at time t,
// under two schemes, with the real procedures and real cryptography on a virtual clock:
//
//   A  pre-provisioned only (TS 33.303 one-to-many): the network provisions a batch of PGKs, each valid for one
//      period, so members work out of coverage; media is protected under PTKs derived from the PGK alone
//      (TS 33.303 A.3). No per-call fresh material.
//   B  per-call fresh material (sol. #3.1 as built here): a GMK per period, delivered to each member by the network
//      (MIKEY-SAKKE I_MESSAGE), and a fresh random GSK per call, chosen by the initiator and carried in the signed
//      MIKEY call-init under the GMK; media under PTKs derived from the GSK.
//
// The attacker holds every frame sent on the air (call-inits and media PDUs as produced by the real senders) and,
// from time t, the leaked member's key material: the PGK batch it holds (A) or the GMKs it holds (B); and, until
// the network detects the leak (t + detectAfter) and removes the member, whatever the member's device keeps
// receiving (B: newer GMKs; A: nothing new out of coverage). Re-provisioning: B rekeys at detection and the new GMK
// reaches the remaining members at `distributionRate` members/s; A needs the members back in coverage to get a new
// batch (detection + coverageReturnAfter). Every decryption is attempted with the real code and compared with the
// plaintext the sender protected; nothing is inferred from the timeline alone.
import { randomBytes } from 'node:crypto';
import { parsePskMessage } from '../../crypto-core/mikey-sakke.js';
import type { GmkRecord } from './gmk-distribution.js';
import { newGmkId } from './gmk-distribution.js';
import { prepareCallInit } from './group-call.js';
import { GroupMediaReceiver, GroupMediaSender } from './group-media.js';

export interface ExposureParams {
  members: number;
  /** Period of use of a PGK (A) or a GMK (B). */
  periodMs: number;
  /** A: PGKs provisioned per batch (out-of-coverage operation needs several). */
  pgkBatch: number;
  callEveryMs: number;
  pdusPerCall: number;
  horizonMs: number;
  leakAtMs: number;
  detectAfterMs: number;
  /** A: how long after detection the members are back in coverage to receive a new batch. */
  coverageReturnAfterMs: number;
  /** B: members per second of GMK distribution (measured by `npm run bench:group`). */
  distributionRate: number;
}

export const DEFAULT_EXPOSURE: ExposureParams = {
  members: 2000,
  periodMs: 3_600_000,
  pgkBatch: 24,
  callEveryMs: 300_000,
  pdusPerCall: 10,
  horizonMs: 48 * 3_600_000,
  leakAtMs: 10.5 * 3_600_000,
  detectAfterMs: 1_800_000,
  coverageReturnAfterMs: 6 * 3_600_000,
  distributionRate: 566.7,
};

export interface WindowCount {
  pdus: number;
  decrypted: number;
  calls: number;
  callsExposed: number;
}

export interface SchemeExposure {
  scheme: 'A' | 'B';
  label: string;
  /** Keys the attacker ended up holding (PGKs or GMKs). */
  keysObtained: number;
  /** First and last PDU send time the attacker could decrypt (ms on the virtual clock), if any. */
  exposureFromMs?: number;
  exposureToMs?: number;
  /** When every remaining member holds a key the attacker does not have. */
  reprovisionedAtMs: number;
  beforeLeak: WindowCount;
  leakToReprovisioned: WindowCount;
  afterReprovisioned: WindowCount;
  /** What the operator hands a law enforcement agency to decrypt the group's intercepted PC5 traffic. */
  lawfulInterception: string;
}

/** ECCSI signature of the initiator (the call-init must be a real signed message); injected so tests stay fast. */
export type Signer = (toBeSigned: Uint8Array) => Uint8Array;

const GROUP = 'li-group';
const GROUP_L2 = 0x00c0de;
const INITIATOR_URI = 'sip:ue-1@prosec.test';
const empty = (): WindowCount => ({ pdus: 0, decrypted: 0, calls: 0, callsExposed: 0 });

function payloadFor(call: number, pdu: number): Uint8Array {
  const p = new Uint8Array(32);
  const dv = new DataView(p.buffer);
  dv.setUint32(0, 0x4c49_4c49); // "LILI"
  dv.setUint32(4, call);
  dv.setUint32(8, pdu);
  return p;
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

function windowOf(p: ExposureParams, tMs: number, reprovisionedAtMs: number): keyof SchemeExposureWindows {
  if (tMs < p.leakAtMs) return 'beforeLeak';
  return tMs < reprovisionedAtMs ? 'leakToReprovisioned' : 'afterReprovisioned';
}
type SchemeExposureWindows = Pick<
  SchemeExposure,
  'beforeLeak' | 'leakToReprovisioned' | 'afterReprovisioned'
>;

function tally(
  w: SchemeExposureWindows,
  key: keyof SchemeExposureWindows,
  decrypted: number,
  pdus: number,
): void {
  const c = w[key];
  c.calls++;
  c.pdus += pdus;
  c.decrypted += decrypted;
  if (decrypted > 0) c.callsExposed++;
}

/**
 * The group's key for a time: one per period, counted from 0 until re-provisioning and from re-provisioning on
 * (epoch 1: keys the leaked member never gets). Keys are made on first use, so both schemes see the same timeline.
 */
function keyTimeline<T>(
  periodMs: number,
  reprovisionedAtMs: number,
  make: (startMs: number) => T,
): (t: number) => { key: T; idx: number } {
  const keys = new Map<string, T>();
  return (t) => {
    const epoch = t >= reprovisionedAtMs ? 1 : 0;
    const base = epoch === 1 ? reprovisionedAtMs : 0;
    const idx = Math.floor((t - base) / periodMs);
    const k = `${epoch}:${idx}`;
    let key = keys.get(k);
    if (key === undefined) {
      key = make(base + idx * periodMs);
      keys.set(k, key);
    }
    return { key, idx };
  };
}

/** Scheme A: PGK batches; the leak hands over the member's whole current batch. */
export function runSchemeA(
  p: ExposureParams,
  random: (n: number) => Uint8Array = randomBytes,
): SchemeExposure {
  const detectAt = p.leakAtMs + p.detectAfterMs;
  const reprovisionedAtMs = detectAt + p.coverageReturnAfterMs;
  // PGK for a time: batches of pgkBatch periods; after re-provisioning a fresh batch starts (M excluded).
  const timeline = keyTimeline(p.periodMs, reprovisionedAtMs, () => ({
    id: newGmkId('pc3', random),
    key: new Uint8Array(random(32)),
  }));
  const pgkAt = (t: number) => {
    const { key, idx } = timeline(t);
    return { ...key, idx, batch: Math.floor(idx / p.pgkBatch) };
  };
  // What the leaked device holds at t: the rest of its current batch (the current PGK and the future ones; a
  // device deletes expired PGKs, so earlier periods of the batch are not in it).
  const leaked = pgkAt(p.leakAtMs);
  if ((leaked.batch + 1) * p.pgkBatch * p.periodMs < reprovisionedAtMs)
    throw new RangeError(
      'the leaked PGK batch ends before the group is back in coverage: give a larger batch (the model assumes one batch covers the whole out-of-coverage time)',
    );
  const attacker = new GroupMediaReceiver(GROUP_L2);
  // Five members take turns initiating; each keeps one sender context per PGK, so COUNT continues across calls.
  const senders = new Map<string, GroupMediaSender>();
  let keysObtained = 0;
  for (let i = leaked.idx; i < (leaked.batch + 1) * p.pgkBatch; i++) {
    const t = i * p.periodMs;
    if (t >= reprovisionedAtMs) break; // never issued: the batch was replaced at re-provisioning
    const k = pgkAt(t);
    attacker.addCall(k.id, k.key);
    keysObtained++;
  }
  const w = { beforeLeak: empty(), leakToReprovisioned: empty(), afterReprovisioned: empty() };
  let from: number | undefined;
  let to: number | undefined;
  for (let call = 0, t = 0; t < p.horizonMs; call++, t += p.callEveryMs) {
    const k = pgkAt(t);
    // The sender's own PTK from the PGK (TS 33.303 A.3); the PGK-ID plays the GSK-ID's part in the header.
    const l2 = 0x000100 + (call % 5);
    let tx = senders.get(`${k.id}:${l2}`);
    if (!tx) {
      tx = new GroupMediaSender(k.key, k.id, l2, GROUP_L2);
      senders.set(`${k.id}:${l2}`, tx);
    }
    let ok = 0;
    for (let n = 0; n < p.pdusPerCall; n++) {
      const plain = payloadFor(call, n);
      const r = attacker.unprotect(l2, tx.protect(plain), true);
      if (r.ok && equal(r.payload, plain)) {
        ok++;
        from ??= t;
        to = t;
      }
    }
    tally(w, windowOf(p, t, reprovisionedAtMs), ok, p.pdusPerCall);
  }
  return {
    scheme: 'A',
    label: 'pre-provisioned PGK batch only (TS 33.303 one-to-many)',
    keysObtained,
    ...(from !== undefined ? { exposureFromMs: from, exposureToMs: to! } : {}),
    reprovisionedAtMs,
    ...w,
    lawfulInterception:
      'the PGKs (generated and held by the network key management function): every PDU of every call decrypts without any signalling capture',
  };
}

/** Scheme B: GMK per period from the network, fresh GSK per call in a signed MIKEY call-init under the GMK. */
export function runSchemeB(
  p: ExposureParams,
  sign: Signer,
  random: (n: number) => Uint8Array = randomBytes,
): SchemeExposure {
  const detectAt = p.leakAtMs + p.detectAfterMs;
  // Removal at detection: immediate rekey; the new GMK reaches the remaining members at the distribution rate.
  const reprovisionedAtMs = detectAt + Math.ceil(((p.members - 1) / p.distributionRate) * 1000);
  // Before the removal rekey: periodic GMKs; from re-provisioning on: GMKs the removed member never gets.
  const timeline = keyTimeline(
    p.periodMs,
    reprovisionedAtMs,
    (start): GmkRecord => ({
      groupId: GROUP,
      gmkId: newGmkId('standard', random),
      gmk: new Uint8Array(random(16)),
      activatedAtMs: start,
      expiresAtMs: start + p.periodMs,
    }),
  );
  const gmkAt = (t: number): GmkRecord => timeline(t).key;
  // The leaked device holds the current GMK (and the next one in the last 20% of the period: rekey at 80%), and
  // keeps receiving the periodic GMKs until it is removed at detection.
  const held = new Map<number, Uint8Array>();
  const hold = (t: number) => {
    const g = gmkAt(t);
    held.set(g.gmkId, g.gmk);
  };
  hold(p.leakAtMs);
  // GMK k+1 is distributed at 80% of period k: the device already holds it if that was before the leak, and
  // receives it if it happens before detection; a period starting after re-provisioning has a fresh GMK instead.
  for (let k = Math.floor(p.leakAtMs / p.periodMs); ; k++) {
    const next = (k + 1) * p.periodMs;
    if (next - 0.2 * p.periodMs >= detectAt || next >= reprovisionedAtMs) break;
    hold(next);
  }
  const w = { beforeLeak: empty(), leakToReprovisioned: empty(), afterReprovisioned: empty() };
  let from: number | undefined;
  let to: number | undefined;
  for (let call = 0, t = 0; t < p.horizonMs; call++, t += p.callEveryMs) {
    const g = gmkAt(t);
    const u = prepareCallInit(g, INITIATOR_URI, t, random);
    const callInit = u.complete(sign(u.toBeSigned));
    const l2 = 0x000100 + (call % 5);
    const tx = new GroupMediaSender(u.context.gsk, u.context.gskId, l2, GROUP_L2);
    const pdus = Array.from({ length: p.pdusPerCall }, (_, n) => {
      const plain = payloadFor(call, n);
      return { plain, bytes: tx.protect(plain) };
    });
    // The attacker: open the captured call-init with any GMK it holds (MAC and KEMAC checked by the MIKEY parser;
    // it has no use for the signature), then decipher the media with the GSK it found.
    let gsk: Uint8Array | undefined;
    try {
      const m = parsePskMessage(
        callInit,
        (id) => held.get(new DataView(id.buffer, id.byteOffset, id.byteLength).getUint32(0)),
        () => true,
        { requireSignature: true },
      );
      gsk = m.keys[0]?.key;
    } catch {
      gsk = undefined; // unknown GMK-ID or MAC failure: this call stays closed
    }
    let ok = 0;
    if (gsk) {
      const rx = new GroupMediaReceiver(GROUP_L2);
      rx.addCall(u.context.gskId, gsk);
      for (const x of pdus) {
        const r = rx.unprotect(l2, x.bytes, true);
        if (r.ok && equal(r.payload, x.plain)) ok++;
      }
      if (ok > 0) {
        from ??= t;
        to = t;
      }
    }
    tally(w, windowOf(p, t, reprovisionedAtMs), ok, p.pdusPerCall);
  }
  return {
    scheme: 'B',
    label: 'GMK per period + fresh GSK per call (sol. #3.1 as built)',
    keysObtained: held.size,
    ...(from !== undefined ? { exposureFromMs: from, exposureToMs: to! } : {}),
    reprovisionedAtMs,
    ...w,
    lawfulInterception:
      'the GMKs (held by the group manager) and the captured call-inits: the GSK is chosen per call by the initiating UE, so a call whose call-init was not intercepted stays closed even with the GMK',
  };
}
