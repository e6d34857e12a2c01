// AKA sequence numbers and AUTN/AUTS handling: TS 33.102 6.3.2-6.3.5 (AUTN, AUTS, resynchronisation) and Annex C.
import { constantTimeEqual } from './bytes.js';
import { CryptoInputError, requireLength } from './errors.js';
import type { Milenage } from './milenage.js';

/** Number of IND bits in SQN = SEQ || IND (TS 33.102 C.1.2): 5 bits, an array of 32 SEQ_MS entries. */
export const IND_BITS = 5;
/** Array size a = 2^IND_BITS (TS 33.102 C.2.2). */
export const IND_COUNT = 1 << IND_BITS;
/** Delta (TS 33.102 C.2.1): largest accepted jump of SEQ above the highest SEQ_MS (2^28, as the annex suggests). */
export const DEFAULT_DELTA = 2 ** 28;
/** L (TS 33.102 C.2.2, optional age limit): SEQ must exceed highest SEQ_MS - L. prosec uses 2^20. */
export const DEFAULT_AGE_LIMIT = 2 ** 20;
/** AMF* used for MAC-S in AUTS (TS 33.102 6.3.3: dummy value of all zeros). */
export const AMF_RESYNC = new Uint8Array(2);

const SQN_MAX = 2 ** 48;

/** 6-octet SQN to integer. */
export function sqnToNumber(sqn: Uint8Array): number {
  requireLength('SQN', sqn, 6);
  return Buffer.from(sqn.buffer, sqn.byteOffset, 6).readUIntBE(0, 6);
}

/** Integer (< 2^48) to a 6-octet SQN. */
export function sqnFromNumber(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n >= SQN_MAX) {
    throw new CryptoInputError('sqn_range', `SQN must be an integer in 0..2^48-1, got ${n}`);
  }
  const b = Buffer.alloc(6);
  b.writeUIntBE(n, 0, 6);
  return new Uint8Array(b);
}

/** TS 33.102 C.1.2: SQN = SEQ || IND. */
export function makeSqn(seq: number, ind: number): Uint8Array {
  if (!Number.isInteger(ind) || ind < 0 || ind >= IND_COUNT) {
    throw new CryptoInputError('ind_range', `IND must be 0..${IND_COUNT - 1}, got ${ind}`);
  }
  if (!Number.isInteger(seq) || seq < 0 || seq >= SQN_MAX / IND_COUNT) {
    throw new CryptoInputError('seq_range', `SEQ must be 0..2^43-1, got ${seq}`);
  }
  return sqnFromNumber(seq * IND_COUNT + ind);
}

/** Splits SQN into SEQ and IND (TS 33.102 C.1.2). */
export function splitSqn(sqn: Uint8Array): { seq: number; ind: number } {
  const n = sqnToNumber(sqn);
  return { seq: Math.floor(n / IND_COUNT), ind: n % IND_COUNT };
}

function xor6(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(6);
  for (let i = 0; i < 6; i++) o[i] = a[i]! ^ b[i]!;
  return o;
}

/** TS 33.102 6.3.2: AUTN = SQN XOR AK || AMF || MAC-A (16 octets). */
export function buildAutn(sqn: Uint8Array, ak: Uint8Array, amf: Uint8Array, macA: Uint8Array): Uint8Array {
  requireLength('SQN', sqn, 6);
  requireLength('AK', ak, 6);
  requireLength('AMF', amf, 2);
  requireLength('MAC-A', macA, 8);
  const autn = new Uint8Array(16);
  autn.set(xor6(sqn, ak), 0);
  autn.set(amf, 6);
  autn.set(macA, 8);
  return autn;
}

/** An authentication vector (TS 33.102 6.3.2): RAND, XRES, CK, IK, AUTN, plus AK for the CK'/IK' derivation. */
export interface AuthVector {
  rand: Uint8Array;
  xres: Uint8Array;
  ck: Uint8Array;
  ik: Uint8Array;
  autn: Uint8Array;
  ak: Uint8Array;
  sqn: Uint8Array;
}

/** TS 33.102 6.3.2: the HE/AuC builds an authentication vector for RAND, SQN, AMF. */
export function generateAuthVector(
  m: Milenage,
  rand: Uint8Array,
  sqn: Uint8Array,
  amf: Uint8Array,
): AuthVector {
  const o = m.generate(rand, sqn, amf);
  return {
    rand: rand.slice(),
    xres: o.res,
    ck: o.ck,
    ik: o.ik,
    ak: o.ak,
    sqn: sqn.slice(),
    autn: buildAutn(sqn, o.ak, amf, o.macA),
  };
}

/** TS 33.102 6.3.3: AUTS = SQN_MS XOR AK* || MAC-S, MAC-S = f1*(K, SQN_MS, RAND, AMF* = 0x0000). */
export function buildAuts(m: Milenage, rand: Uint8Array, sqnMs: Uint8Array): Uint8Array {
  requireLength('SQN_MS', sqnMs, 6);
  const o = m.generate(rand, sqnMs, AMF_RESYNC);
  const auts = new Uint8Array(14);
  auts.set(xor6(sqnMs, o.akStar), 0);
  auts.set(o.macS, 6);
  return auts;
}

/** Result of the network-side AUTS check (TS 33.102 6.3.5). */
export type ResyncResult = { ok: true; sqnMs: Uint8Array } | { ok: false; reason: 'mac_s_failure' };

/** TS 33.102 6.3.5: the HE recovers SQN_MS = AUTS[0..5] XOR f5*(RAND) and verifies MAC-S. */
export function resyncFromAuts(m: Milenage, rand: Uint8Array, auts: Uint8Array): ResyncResult {
  requireLength('AUTS', auts, 14);
  const akStar = m.f2345(rand).akStar;
  const sqnMs = xor6(auts.subarray(0, 6), akStar);
  const { macS } = m.f1(rand, sqnMs, AMF_RESYNC);
  return constantTimeEqual(macS, auts.subarray(6, 14))
    ? { ok: true, sqnMs }
    : { ok: false, reason: 'mac_s_failure' };
}

/** Freshness verdict of TS 33.102 C.2.2. */
export type SqnVerdict = 'fresh' | 'replayed' | 'too_far_ahead' | 'too_old';

/**
 * USIM-side SQN store of TS 33.102 Annex C.2 (array scheme): an array SEQ_MS[IND] of 2^IND_BITS entries.
 * SQN = SEQ || IND is fresh when SEQ > SEQ_MS[IND], SEQ - max(SEQ_MS) <= delta, and SEQ > max(SEQ_MS) - L.
 */
export class SqnArray {
  private readonly seqMs = new Array<number>(IND_COUNT).fill(0);
  private maxIdx = 0;

  constructor(
    readonly delta = DEFAULT_DELTA,
    readonly ageLimit = DEFAULT_AGE_LIMIT,
  ) {}

  /** The highest SEQ_MS in the array. */
  get highestSeq(): number {
    return this.seqMs[this.maxIdx]!;
  }

  /** TS 33.102 C.2.2 freshness check (does not change the array). */
  check(sqn: Uint8Array): SqnVerdict {
    const { seq, ind } = splitSqn(sqn);
    const max = this.highestSeq;
    if (seq - max > this.delta) return 'too_far_ahead';
    if (seq <= max - this.ageLimit) return 'too_old';
    if (seq <= this.seqMs[ind]!) return 'replayed';
    return 'fresh';
  }

  /** Records an accepted SQN: SEQ_MS[IND] := SEQ (TS 33.102 C.2.2). */
  accept(sqn: Uint8Array): void {
    const { seq, ind } = splitSqn(sqn);
    this.seqMs[ind] = seq;
    let best = 0;
    for (let i = 1; i < IND_COUNT; i++) if (this.seqMs[i]! > this.seqMs[best]!) best = i;
    this.maxIdx = best;
  }

  /** SQN_MS for AUTS (TS 33.102 6.3.3 / C.2.2): the highest accepted SEQ_MS with its IND. */
  sqnMs(): Uint8Array {
    return makeSqn(this.highestSeq, this.maxIdx);
  }
}

/** HE-side SQN generator (TS 33.102 C.1.1/C.3): SEQ_HE increases by one per vector, IND cycles 0..2^IND_BITS-1. */
export class SqnGenerator {
  constructor(
    private seqHe = 0,
    private nextInd = 0,
  ) {}

  /** The next fresh SQN. */
  next(): Uint8Array {
    this.seqHe += 1;
    const sqn = makeSqn(this.seqHe, this.nextInd);
    this.nextInd = (this.nextInd + 1) % IND_COUNT;
    return sqn;
  }

  /** TS 33.102 6.3.5 / C.3.4: after a verified AUTS, continue above the USIM's SEQ_MS. */
  resynchronise(sqnMs: Uint8Array): void {
    const { seq } = splitSqn(sqnMs);
    if (seq > this.seqHe) this.seqHe = seq;
  }
}

/** USIM-side outcome of AUTN verification (TS 33.102 6.3.3). */
export type UsimAuthResult =
  | { kind: 'ok'; res: Uint8Array; ck: Uint8Array; ik: Uint8Array; sqn: Uint8Array; ak: Uint8Array }
  | { kind: 'mac_failure' }
  | { kind: 'sync_failure'; auts: Uint8Array; verdict: SqnVerdict };

/**
 * TS 33.102 6.3.3: the USIM computes AK, recovers SQN, checks XMAC = MAC-A (constant time), then SQN freshness
 * (Annex C). On success the SQN is accepted into `store` and RES, CK, IK are returned.
 */
export function verifyAutn(m: Milenage, rand: Uint8Array, autn: Uint8Array, store: SqnArray): UsimAuthResult {
  requireLength('RAND', rand, 16);
  requireLength('AUTN', autn, 16);
  const ak = m.f2345(rand).ak;
  const sqn = xor6(autn.subarray(0, 6), ak);
  const o = m.generate(rand, sqn, autn.subarray(6, 8));
  if (!constantTimeEqual(o.macA, autn.subarray(8, 16))) return { kind: 'mac_failure' };
  const verdict = store.check(sqn);
  if (verdict !== 'fresh') {
    return { kind: 'sync_failure', auts: buildAuts(m, rand, store.sqnMs()), verdict };
  }
  store.accept(sqn);
  return { kind: 'ok', res: o.res, ck: o.ck, ik: o.ik, sqn, ak: o.ak };
}
