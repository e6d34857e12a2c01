// Open discovery with signatures and time (TR 33.833 solution #2.3), sans-I/O. The announcing UE signs
// (ProSe Application Code, UTC-based counter, nonce) with ECDSA P-256 (public key distributed by the ProSe
// Function) or ECCSI (RFC 6507, identity = the code, KMS public key KPAK). Monitors check, cheapest first:
// format, known code, freshness of the time slot, replay, then the signature.
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { toHex } from '../../crypto-core/bytes.js';
import { eccsiSign, eccsiVerify } from '../../crypto-core/rfc6507-eccsi.js';
import {
  DiscoveryFormatError,
  type DiscoveryRejectCause,
  decodeDiscovery,
  encodeDiscovery,
  isFreshSlot,
  NONCE_BYTES,
  type OpenAnnounce,
  type SignatureAlg,
  signedPart,
  timeSlot,
} from './messages.js';

export interface DiscoverySigner {
  alg: SignatureAlg;
  sign(message: Uint8Array): Uint8Array;
}
export interface DiscoveryVerifier {
  alg: SignatureAlg;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** ECDSA P-256 / SHA-256, fixed-size r || s (64 octets). */
export function ecdsaSigner(privateKeyPem: string | KeyObject): DiscoverySigner {
  const key = typeof privateKeyPem === 'string' ? createPrivateKey(privateKeyPem) : privateKeyPem;
  return { alg: 'ecdsa-p256', sign: (m) => sign('sha256', m, { key, dsaEncoding: 'ieee-p1363' }) };
}
export function ecdsaVerifier(publicKeyPem: string | KeyObject): DiscoveryVerifier {
  const key = typeof publicKeyPem === 'string' ? createPublicKey(publicKeyPem) : publicKeyPem;
  return {
    alg: 'ecdsa-p256',
    verify: (m, s) => {
      try {
        return verify('sha256', m, { key, dsaEncoding: 'ieee-p1363' }, s);
      } catch {
        return false;
      }
    },
  };
}
/** ECCSI (RFC 6507): the signer's identity is the ProSe Application Code; SSK/PVT issued by the KMS. */
export function eccsiSigner(k: {
  id: Uint8Array;
  ssk: Uint8Array;
  pvt: Uint8Array;
  kpak: Uint8Array;
}): DiscoverySigner {
  return { alg: 'eccsi', sign: (m) => eccsiSign(m, k.id, k.ssk, k.pvt, k.kpak) };
}
export function eccsiVerifier(k: { id: Uint8Array; kpak: Uint8Array }): DiscoveryVerifier {
  return {
    alg: 'eccsi',
    verify: (m, s) => {
      try {
        return eccsiVerify(m, s, k.id, k.kpak);
      } catch {
        return false;
      }
    },
  };
}

export class OpenAnnouncer {
  constructor(
    private readonly code: Uint8Array,
    private readonly signer: DiscoverySigner,
    private readonly opts: { slotMs: number },
  ) {}

  announce(nowMs: number): Uint8Array {
    const m: OpenAnnounce = {
      kind: 'open',
      slot: timeSlot(nowMs, this.opts.slotMs),
      nonce: randomBytes(NONCE_BYTES),
      code: this.code,
      alg: this.signer.alg,
      signature: new Uint8Array(0),
    };
    m.signature = this.signer.sign(signedPart(m));
    return encodeDiscovery(m);
  }
}

export interface OpenEntry {
  owner: string;
  code: Uint8Array;
  verifier: DiscoveryVerifier;
}

export type OpenMonitorEvent =
  /** `forged`: only with `acceptUnsigned` — matched although the signature is not the owner's. */
  | { type: 'match'; owner: string; code: Uint8Array; forged?: true }
  | { type: 'rejected'; cause: DiscoveryRejectCause };

export class OpenMonitor {
  private byCode = new Map<string, OpenEntry>();
  /** Accepted (code, slot, nonce), with the slot for pruning. */
  private readonly seen = new Map<string, number>();
  verifications = 0;

  constructor(
    private readonly opts: {
      slotMs: number;
      tolerance?: number;
      maxSeen?: number;
      /**
       * INSECURE, threat-matrix control only: a bad signature does not reject the announcement. The signature is
       * still verified, so a match that a forgery earned is flagged `forged` (the matrix's ground truth).
       */
      acceptUnsigned?: boolean;
    },
  ) {}

  setEntries(entries: OpenEntry[]): void {
    this.byCode = new Map(entries.map((e) => [toHex(e.code), e]));
  }

  receive(payload: Uint8Array, nowMs: number): OpenMonitorEvent {
    let m: OpenAnnounce;
    try {
      const d = decodeDiscovery(payload);
      if (d.kind !== 'open') return { type: 'rejected', cause: 'malformed' };
      m = d;
    } catch (e) {
      if (e instanceof DiscoveryFormatError) return { type: 'rejected', cause: 'malformed' };
      throw e;
    }
    const codeHex = toHex(m.code);
    const entry = this.byCode.get(codeHex);
    if (!entry) return { type: 'rejected', cause: 'unknown' };
    const tol = this.opts.tolerance ?? 1;
    if (!isFreshSlot(m.slot, nowMs, this.opts.slotMs, tol)) return { type: 'rejected', cause: 'stale' };
    const key = `${codeHex}:${m.slot}:${toHex(m.nonce)}`;
    if (this.seen.has(key)) return { type: 'rejected', cause: 'replay' };
    if (m.alg !== entry.verifier.alg && !this.opts.acceptUnsigned)
      return { type: 'rejected', cause: 'bad_signature' };
    this.verifications++;
    const valid = m.alg === entry.verifier.alg && entry.verifier.verify(signedPart(m), m.signature);
    if (!valid && !this.opts.acceptUnsigned) return { type: 'rejected', cause: 'bad_signature' };
    // Remember only accepted (verified) announcements, so forgeries cannot fill the cache.
    const cur = timeSlot(nowMs, this.opts.slotMs);
    if (this.seen.size >= (this.opts.maxSeen ?? 65_536)) {
      for (const [k, s] of this.seen) if (s < cur - tol) this.seen.delete(k);
      // Still full of fresh entries: forget the oldest (bounded memory beats a perfect cache under a flood).
      for (const k of this.seen.keys()) {
        if (this.seen.size < (this.opts.maxSeen ?? 65_536)) break;
        this.seen.delete(k);
      }
    }
    this.seen.set(key, m.slot);
    return { type: 'match', owner: entry.owner, code: m.code, ...(valid ? {} : { forged: true as const }) };
  }
}
