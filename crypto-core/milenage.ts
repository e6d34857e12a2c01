// Milenage authentication and key generation functions f1, f1*, f2, f3, f4, f5, f5*: TS 35.206 clause 4 (AES-128 kernel).
import { type Cipher, createCipheriv } from 'node:crypto';
import { requireLength } from './errors.js';

/** The outputs of one Milenage run (TS 35.206 4.1): MAC-A, MAC-S, RES, CK, IK, AK, AK*. */
export interface MilenageOutputs {
  /** f1: MAC-A, 64 bits. */
  macA: Uint8Array;
  /** f1*: MAC-S, 64 bits. */
  macS: Uint8Array;
  /** f2: RES, 64 bits. */
  res: Uint8Array;
  /** f3: CK, 128 bits. */
  ck: Uint8Array;
  /** f4: IK, 128 bits. */
  ik: Uint8Array;
  /** f5: AK, 48 bits. */
  ak: Uint8Array;
  /** f5*: AK for resynchronisation, 48 bits. */
  akStar: Uint8Array;
}

// TS 35.206 4.1 constants: c1..c5 (only the last octet is non-zero) and rotations r1..r5 in octets.
const C_LAST = [0x00, 0x01, 0x02, 0x04, 0x08] as const;
const R_OCTETS = [8, 0, 4, 8, 12] as const;

function ecbFor(k: Uint8Array): Cipher {
  return createCipheriv('aes-128-ecb', k, null).setAutoPadding(false);
}

/** TS 35.206 4.1: OPc = OP XOR E_K(OP). */
export function computeOpc(k: Uint8Array, op: Uint8Array): Uint8Array {
  requireLength('K', k, 16);
  requireLength('OP', op, 16);
  const e = ecbFor(k).update(op);
  const opc = new Uint8Array(16);
  for (let i = 0; i < 16; i++) opc[i] = e[i]! ^ op[i]!;
  return opc;
}

/**
 * Milenage for one subscriber (K, OPc). The AES-128-ECB cipher object is created once and reused: ECB without
 * padding encrypts whole blocks on each update() call and keeps no state between calls.
 */
export class Milenage {
  readonly opc: Uint8Array;
  private readonly ecb: Cipher;
  private readonly inBuf = new Uint8Array(80);
  private readonly tmp = new Uint8Array(16);

  /** `opOrOpc` is OPc unless `isOp` is true, in which case OPc is computed from OP (TS 35.206 4.1). */
  constructor(k: Uint8Array, opOrOpc: Uint8Array, isOp = false) {
    requireLength('K', k, 16);
    requireLength(isOp ? 'OP' : 'OPc', opOrOpc, 16);
    this.opc = isOp ? computeOpc(k, opOrOpc) : opOrOpc.slice();
    this.ecb = ecbFor(k);
  }

  /** TS 35.206 4.1: all of f1, f1*, f2, f3, f4, f5, f5* for RAND, SQN, AMF (two AES calls: TEMP, then OUT1..OUT5). */
  generate(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): MilenageOutputs {
    requireLength('RAND', rand, 16);
    requireLength('SQN', sqn, 6);
    requireLength('AMF', amf, 2);
    const opc = this.opc;
    const t = this.tmp;
    for (let i = 0; i < 16; i++) t[i] = rand[i]! ^ opc[i]!;
    const temp = this.ecb.update(t); // TEMP = E_K(RAND XOR OPc)
    const inb = this.inBuf;
    // IN1 = SQN || AMF || SQN || AMF
    for (let i = 0; i < 6; i++) {
      t[i] = sqn[i]!;
      t[i + 8] = sqn[i]!;
    }
    t[6] = amf[0]!;
    t[7] = amf[1]!;
    t[14] = amf[0]!;
    t[15] = amf[1]!;
    // OUT1 input: TEMP XOR rot(IN1 XOR OPc, r1) XOR c1
    const r1 = R_OCTETS[0];
    for (let i = 0; i < 16; i++) inb[i] = temp[i]! ^ t[(i + r1) & 15]! ^ opc[(i + r1) & 15]!;
    // OUT2..OUT5 inputs: rot(TEMP XOR OPc, r) XOR c
    for (let j = 1; j < 5; j++) {
      const r = R_OCTETS[j]!;
      const base = j * 16;
      for (let i = 0; i < 16; i++) inb[base + i] = temp[(i + r) & 15]! ^ opc[(i + r) & 15]!;
      inb[base + 15]! ^= C_LAST[j]!;
    }
    // The fresh 80-octet output of update() becomes OUT1..OUT5 in place; the results are views into it.
    const e = this.ecb.update(inb);
    const out = new Uint8Array(e.buffer, e.byteOffset, 80);
    for (let i = 0; i < 80; i++) out[i]! ^= opc[i & 15]!;
    return {
      macA: out.subarray(0, 8),
      macS: out.subarray(8, 16),
      res: out.subarray(24, 32),
      ak: out.subarray(16, 22),
      ck: out.subarray(32, 48),
      ik: out.subarray(48, 64),
      akStar: out.subarray(64, 70),
    };
  }

  /** TS 35.206 4.1 f1 / f1*: MAC-A and MAC-S for RAND, SQN, AMF. */
  f1(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): { macA: Uint8Array; macS: Uint8Array } {
    const o = this.generate(rand, sqn, amf);
    return { macA: o.macA, macS: o.macS };
  }

  /** TS 35.206 4.1 f2, f3, f4, f5, f5*: RES, CK, IK, AK, AK* (independent of SQN and AMF). */
  f2345(rand: Uint8Array): Omit<MilenageOutputs, 'macA' | 'macS'> {
    const o = this.generate(rand, ZERO6, ZERO2);
    return { res: o.res, ck: o.ck, ik: o.ik, ak: o.ak, akStar: o.akStar };
  }
}

const ZERO6 = new Uint8Array(6);
const ZERO2 = new Uint8Array(2);

/** TS 35.206 4.1: one-shot Milenage for K, OPc, RAND, SQN, AMF. */
export function milenage(
  k: Uint8Array,
  opc: Uint8Array,
  rand: Uint8Array,
  sqn: Uint8Array,
  amf: Uint8Array,
): MilenageOutputs {
  return new Milenage(k, opc).generate(rand, sqn, amf);
}
