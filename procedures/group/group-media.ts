// Group media protection (TR 33.833 sol. #3.1 media phase, key issue #3.2): every sender derives its own PTK
// from the call's GSK and its Layer-2 ID (TS 33.303 A.3 PTK derivation, FC 0x4A, the GSK in the PGK role), then
// PEK/PIK (prose-kdf.ts), and protects its PDUs with procedures/pc5/protection.ts (own COUNT, 128-NEA + 128-NIA).
// Two senders never share a keystream. Receivers keep one replay window per (GSK-ID, sender, PTK-ID).
// Wire format (inside a PC5 group_media frame): version(1) | GSK-ID(4) | PTK-ID(2) | protected PDU; with the
// AES-128-GCM option (version 2) the protected PDU is COUNT(4) | ciphertext | tag(16) instead.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { NeaAlgorithm } from '../../crypto-core/nea.js';
import type { NiaAlgorithm } from '../../crypto-core/nia.js';
import { deriveAesGcmKey, derivePek, derivePik, derivePtk } from '../../crypto-core/prose-kdf.js';
import {
  Pc5RxContext,
  Pc5TxContext,
  type ProtectionKeys,
  type ProtectionPolicy,
  ReplayWindow,
  type UnprotectFailure,
  type UnprotectResult,
} from '../pc5/protection.js';

export const GROUP_MEDIA_VERSION = 1;
/** Version octet of AES-128-GCM group media (the `aead` option). */
export const GROUP_MEDIA_VERSION_GCM = 2;
const GCM_TAG_BYTES = 16;
export const GROUP_MEDIA_HEADER_BYTES = 7;
/** BEARER input for group media under a PTK (signalling would use another value). */
const MEDIA_BEARER = 1;

export interface GroupMediaAlgorithms {
  cipherAlg: NeaAlgorithm;
  /** 0: ciphering only, TS 33.303's one-to-many profile (no PIK); 1-3: a 128-NIA MAC-I on every PDU as well. */
  integrityAlg: NiaAlgorithm;
  /**
   * Option of issue #6: AES-128-GCM (node:crypto) instead of 128-NEA/NIA, key deriveAesGcmKey(PTK); cipherAlg and
   * integrityAlg are then ignored. Ciphering and a full 16-octet tag on every PDU.
   */
  aead?: 'aes-128-gcm';
}

/** AES-128-GCM for group media: ciphering plus a 128-bit tag (prosec option; docs/group.md). */
export const AES_GCM_GROUP_MEDIA_ALGS: GroupMediaAlgorithms = {
  cipherAlg: 2,
  integrityAlg: 0,
  aead: 'aes-128-gcm',
};

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

const MAX_COUNT = 0xffffffff;

/** 96-bit GCM nonce: 8 zero octets and COUNT. Unique because the key is per (call, sender, PTK-ID) and COUNT never repeats under it. */
function gcmNonce(count: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeUInt32BE(count, 8);
  return n;
}

interface MediaTx {
  readonly needsRekey: boolean;
  protectWithHeadroom(payload: Uint8Array, headroom: number): Uint8Array;
}

/** AES-128-GCM sending side under one PTK: COUNT(4) | ciphertext | tag(16); the AAD is the group media header and COUNT. */
class GcmTx implements MediaTx {
  private next = 0;
  constructor(private readonly key: Uint8Array) {}
  get needsRekey(): boolean {
    return this.next >= MAX_COUNT - 0xffff;
  }
  protectWithHeadroom(payload: Uint8Array, headroom: number): Uint8Array {
    const count = this.next++;
    const out = Buffer.allocUnsafe(headroom + 4 + payload.length + GCM_TAG_BYTES);
    out.writeUInt32BE(count, headroom);
    const c = createCipheriv('aes-128-gcm', this.key, gcmNonce(count), { authTagLength: GCM_TAG_BYTES });
    // The header octets are written by the caller afterwards; the AAD is fixed here from the same values.
    c.setAAD(out.subarray(headroom, headroom + 4));
    const n = c.update(payload).copy(out, headroom + 4);
    c.final();
    c.getAuthTag().copy(out, headroom + 4 + n);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
}

interface MediaRx {
  unprotect(pdu: Uint8Array, inPlace: boolean): UnprotectResult;
}

/** AES-128-GCM receiving side under one PTK, with the same replay window as 128-NEA/NIA media. */
class GcmRx implements MediaRx {
  private readonly window: ReplayWindow;
  constructor(
    private readonly key: Uint8Array,
    windowSize: number,
    private readonly replayCheck: boolean,
  ) {
    this.window = new ReplayWindow(windowSize);
  }
  unprotect(pdu: Uint8Array): UnprotectResult {
    if (pdu.length < 4 + GCM_TAG_BYTES) return { ok: false, reason: 'too_short' };
    const count = ((pdu[0]! << 24) | (pdu[1]! << 16) | (pdu[2]! << 8) | pdu[3]!) >>> 0;
    const d = createDecipheriv('aes-128-gcm', this.key, gcmNonce(count), { authTagLength: GCM_TAG_BYTES });
    d.setAAD(pdu.subarray(0, 4));
    d.setAuthTag(pdu.subarray(pdu.length - GCM_TAG_BYTES));
    const plain = d.update(pdu.subarray(4, pdu.length - GCM_TAG_BYTES));
    try {
      d.final();
    } catch {
      return { ok: false, reason: 'mac', count };
    }
    const replay = this.replayCheck ? this.window.check(count) : undefined;
    if (replay) return { ok: false, reason: replay, count };
    this.window.markSeen(count);
    return { ok: true, payload: new Uint8Array(plain.buffer, plain.byteOffset, plain.length), count };
  }
}

function newTx(
  gsk: Uint8Array,
  selfL2: number,
  ptkId: number,
  groupL2: number,
  algs: GroupMediaAlgorithms,
): MediaTx {
  if (algs.aead) return new GcmTx(deriveAesGcmKey(derivePtk(gsk, l2Bytes(selfL2), ptkId, l2Bytes(groupL2))));
  return new Pc5TxContext(senderKeys(gsk, selfL2, ptkId, groupL2, algs), policyOf(algs));
}

/** Sender side: one per (call, sender). A new PTK-ID is taken when COUNT runs out. */
export class GroupMediaSender {
  private tx: MediaTx;
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
    this.tx = newTx(gsk, selfL2, ptkId, groupL2, algs);
    this.version = algs.aead ? GROUP_MEDIA_VERSION_GCM : GROUP_MEDIA_VERSION;
  }
  private readonly version: number;

  protect(payload: Uint8Array): Uint8Array {
    if (this.tx.needsRekey) {
      this.ptkId = (this.ptkId + 1) & 0xffff;
      this.tx = newTx(this.gsk, this.selfL2, this.ptkId, this.groupL2, this.algs);
    }
    // The PDU is built behind 7 octets of headroom for the group media header: no copy.
    const out = this.tx.protectWithHeadroom(payload, GROUP_MEDIA_HEADER_BYTES);
    const g = this.gskId >>> 0;
    out[0] = this.version;
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
  private readonly rx = new Map<string, MediaRx>();
  private readonly version: number;

  constructor(
    private readonly groupL2: number,
    private readonly algs: GroupMediaAlgorithms = DEFAULT_GROUP_MEDIA_ALGS,
    private readonly maxSenders = 4096,
    private readonly windowSize = 1024,
    /** false only for the threat matrix's weakened control: no replay window. */
    private readonly replayCheck = true,
  ) {
    this.version = algs.aead ? GROUP_MEDIA_VERSION_GCM : GROUP_MEDIA_VERSION;
  }

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
    if (data.length < GROUP_MEDIA_HEADER_BYTES) return { ok: false, reason: 'malformed' };
    if (data[0] !== this.version)
      // The other known protection (GCM vs NEA/NIA) is a policy mismatch: no downgrade between the two.
      return {
        ok: false,
        reason:
          data[0] === GROUP_MEDIA_VERSION || data[0] === GROUP_MEDIA_VERSION_GCM ? 'policy' : 'malformed',
      };
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
      ctx = this.algs.aead
        ? new GcmRx(
            deriveAesGcmKey(derivePtk(gsk, l2Bytes(senderL2), ptkId, l2Bytes(this.groupL2))),
            this.windowSize,
            this.replayCheck,
          )
        : new Pc5RxContext(
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
