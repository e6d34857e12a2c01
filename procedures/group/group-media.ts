// Group media protection (TR 33.833 sol. #3.1 media phase, key issue #3.2): every sender derives its own PTK
// from the call's GSK and its Layer-2 ID (TS 33.303 A.3 PTK derivation, FC 0x4A, the GSK in the PGK role), then
// PEK/PIK (prose-kdf.ts), and protects its PDUs with procedures/pc5/protection.ts (own COUNT, 128-NEA + 128-NIA).
// Two senders never share a keystream. Receivers keep one replay window per (GSK-ID, sender, PTK-ID).
// Wire format (inside a PC5 group_media frame): version(1) | GSK-ID(4) | PTK-ID(2) | protected PDU.
import type { NeaAlgorithm } from '../../crypto-core/nea.js';
import type { NiaAlgorithm } from '../../crypto-core/nia.js';
import { derivePek, derivePik, derivePtk } from '../../crypto-core/prose-kdf.js';
import {
  Pc5RxContext,
  Pc5TxContext,
  type ProtectionKeys,
  type ProtectionPolicy,
  type UnprotectFailure,
} from '../pc5/protection.js';

export const GROUP_MEDIA_VERSION = 1;
export const GROUP_MEDIA_HEADER_BYTES = 7;
/** BEARER input for group media under a PTK (signalling would use another value). */
const MEDIA_BEARER = 1;

export interface GroupMediaAlgorithms {
  cipherAlg: NeaAlgorithm;
  /** 0: ciphering only, TS 33.303's one-to-many profile (no PIK); 1-3: a 128-NIA MAC-I on every PDU as well. */
  integrityAlg: NiaAlgorithm;
}

/** TS 33.303 one-to-many profile: 128-NEA2 ciphering only (tampering goes undetected: the CTR bits flip through). */
export const TS33303_GROUP_MEDIA_ALGS: GroupMediaAlgorithms = { cipherAlg: 2, integrityAlg: 0 };

/** prosec's default: 128-NEA2 / 128-NIA2 (AES), ciphering and integrity on, so tampered media is detected. */
export const DEFAULT_GROUP_MEDIA_ALGS: GroupMediaAlgorithms = { cipherAlg: 2, integrityAlg: 2 };

function l2Bytes(id: number): Uint8Array {
  return Uint8Array.of((id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff);
}

/** PTK for `senderL2` under the GSK (TS 33.303 A.3), then its PEK/PIK as protection keys. */
export function senderKeys(
  gsk: Uint8Array,
  senderL2: number,
  ptkId: number,
  groupL2: number,
  algs: GroupMediaAlgorithms,
): ProtectionKeys {
  // PTK: ProSe Traffic Key (TS 33.303 A.3), one per sender and PTK Identity.
  const ptk = derivePtk(gsk, l2Bytes(senderL2), ptkId, l2Bytes(groupL2));
  return {
    ksi: 0,
    cipherAlg: algs.cipherAlg,
    pek: derivePek(ptk, algs.cipherAlg),
    integrityAlg: algs.integrityAlg,
    ...(algs.integrityAlg !== 0 ? { pik: derivePik(ptk, algs.integrityAlg) } : {}),
    bearer: MEDIA_BEARER,
    direction: 0,
  };
}

/** Group media is always ciphered; integrity protected (what detects tampering) unless integrityAlg is 0. */
function policyOf(algs: GroupMediaAlgorithms): ProtectionPolicy {
  return { ciphering: true, integrity: algs.integrityAlg !== 0 };
}

/** Sender side: one per (call, sender). A new PTK-ID is taken when COUNT runs out. */
export class GroupMediaSender {
  private tx: Pc5TxContext;
  private ptkId: number;

  constructor(
    private readonly gsk: Uint8Array,
    private readonly gskId: number,
    private readonly selfL2: number,
    private readonly groupL2: number,
    private readonly algs: GroupMediaAlgorithms = DEFAULT_GROUP_MEDIA_ALGS,
    ptkId = 1,
  ) {
    this.ptkId = ptkId;
    this.tx = new Pc5TxContext(senderKeys(gsk, selfL2, ptkId, groupL2, algs), policyOf(algs));
  }

  protect(payload: Uint8Array): Uint8Array {
    if (this.tx.needsRekey) {
      this.ptkId = (this.ptkId + 1) & 0xffff;
      this.tx = new Pc5TxContext(
        senderKeys(this.gsk, this.selfL2, this.ptkId, this.groupL2, this.algs),
        policyOf(this.algs),
      );
    }
    // The PDU is built behind 7 octets of headroom for the group media header: no copy.
    const out = this.tx.protectWithHeadroom(payload, GROUP_MEDIA_HEADER_BYTES);
    const g = this.gskId >>> 0;
    out[0] = GROUP_MEDIA_VERSION;
    out[1] = g >>> 24;
    out[2] = g >>> 16;
    out[3] = g >>> 8;
    out[4] = g;
    out[5] = this.ptkId >>> 8;
    out[6] = this.ptkId;
    return out;
  }
}

export type GroupMediaFailure = 'malformed' | 'unknown_key' | 'too_many_senders' | UnprotectFailure;

export type GroupMediaResult =
  | { ok: true; payload: Uint8Array; gskId: number; senderL2: number; count: number }
  | { ok: false; reason: GroupMediaFailure; gskId?: number };

/** Receiver side for one group: the GSKs of the calls it joined, a replay window per sender. */
export class GroupMediaReceiver {
  private readonly gsks = new Map<number, Uint8Array>();
  private readonly rx = new Map<string, Pc5RxContext>();

  constructor(
    private readonly groupL2: number,
    private readonly algs: GroupMediaAlgorithms = DEFAULT_GROUP_MEDIA_ALGS,
    private readonly maxSenders = 4096,
    private readonly windowSize = 1024,
    /** false only for the threat matrix's weakened control: no replay window. */
    private readonly replayCheck = true,
  ) {}

  addCall(gskId: number, gsk: Uint8Array): void {
    this.gsks.set(gskId >>> 0, gsk);
  }

  endCall(gskId: number): void {
    this.gsks.delete(gskId >>> 0);
    const prefix = `${gskId >>> 0}:`;
    for (const k of this.rx.keys()) if (k.startsWith(prefix)) this.rx.delete(k);
  }

  get senders(): number {
    return this.rx.size;
  }

  /**
   * Checks and deciphers one group media payload from PC5 source L2 ID `senderL2`. With `inPlace` the payload
   * is deciphered inside `data` (a received frame the caller does not reuse) and returned as a view on it.
   */
  unprotect(senderL2: number, data: Uint8Array, inPlace = false): GroupMediaResult {
    if (data.length < GROUP_MEDIA_HEADER_BYTES || data[0] !== GROUP_MEDIA_VERSION)
      return { ok: false, reason: 'malformed' };
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const gskId = dv.getUint32(1);
    const ptkId = dv.getUint16(5);
    const gsk = this.gsks.get(gskId);
    if (!gsk) return { ok: false, reason: 'unknown_key', gskId };
    const key = `${gskId}:${senderL2}:${ptkId}`;
    let ctx = this.rx.get(key);
    const fresh = !ctx;
    if (!ctx) {
      if (this.rx.size >= this.maxSenders) return { ok: false, reason: 'too_many_senders', gskId };
      ctx = new Pc5RxContext(
        senderKeys(gsk, senderL2, ptkId, this.groupL2, this.algs),
        policyOf(this.algs),
        this.windowSize,
        this.replayCheck,
      );
    }
    const r = ctx.unprotect(data.subarray(GROUP_MEDIA_HEADER_BYTES), inPlace);
    if (!r.ok) return { ok: false, reason: r.reason, gskId };
    // A sender's window is kept only once a PDU verified: forged PDUs cannot fill the table.
    if (fresh) this.rx.set(key, ctx);
    return { ok: true, payload: r.payload, gskId, senderL2, count: r.count };
  }
}
