// PC5 PDU protection: per-direction COUNT, 128-NEA ciphering, 128-NIA integrity and a replay window, for
// one-to-one links (TR 33.833 sol. #4.1: signalling integrity mandatory, ciphering optional; key issue #4.2:
// user plane not integrity protected by default) and, with per-sender keys, one-to-many traffic.
// The PDU format is prosec's own (TS 33.303 leaves the PC5 PDCP details to TS 36.323); see docs/pc5-security.md.
import { CryptoInputError } from '../../crypto-core/errors.js';
import { type NeaAlgorithm, nea } from '../../crypto-core/nea.js';
import { Nea2Stream } from '../../crypto-core/nea2-batch.js';
import { type NiaAlgorithm, nia, niaVerify } from '../../crypto-core/nia.js';

/** Format version carried in every protected PDU. */
export const PROTECTION_VERSION = 1;
/** Octets before the payload: flags/version/KSI (1) + COUNT (4). */
export const PROTECTED_HEADER_BYTES = 5;
export const MAC_I_BYTES = 4;
const FLAG_INTEGRITY = 0x80;
const FLAG_CIPHERED = 0x40;
const MAX_COUNT = 0xffffffff;

/** Which protections a context applies (and, on receipt, requires: a PDU with less is rejected). */
export interface ProtectionPolicy {
  ciphering: boolean;
  integrity: boolean;
}

export interface ProtectionKeys {
  /** Key set identifier, 0..15 (changes on every re-keying so both key sets can coexist while switching). */
  ksi: number;
  /** 128-NEA algorithm (0 = NULL) and PEK (16 octets; unused when ciphering is off). */
  cipherAlg: NeaAlgorithm;
  pek?: Uint8Array;
  /** 128-NIA algorithm (0 = NULL) and PIK (16 octets; unused when integrity is off). */
  integrityAlg: NiaAlgorithm;
  pik?: Uint8Array;
  /** 5-bit BEARER input: separates traffic classes under one key (e.g. 0 signalling, 1 user data). */
  bearer: number;
  /** DIRECTION input (0 or 1): separates the two directions of a link under one key. */
  direction: 0 | 1;
}

export type UnprotectFailure =
  | 'too_short'
  | 'bad_version'
  | 'wrong_ksi'
  | 'policy'
  | 'mac'
  | 'replay'
  | 'too_old';

export type UnprotectResult =
  | { ok: true; payload: Uint8Array; count: number }
  | { ok: false; reason: UnprotectFailure; count?: number };

function checkKeys(k: ProtectionKeys, policy: ProtectionPolicy): void {
  if (!Number.isInteger(k.ksi) || k.ksi < 0 || k.ksi > 15)
    throw new CryptoInputError('ksi', `KSI must be 0..15, got ${k.ksi}`);
  if (!Number.isInteger(k.bearer) || k.bearer < 0 || k.bearer > 31) {
    throw new CryptoInputError('bearer_range', `BEARER must be 0..31, got ${k.bearer}`);
  }
  if (policy.ciphering && k.pek?.length !== 16)
    throw new CryptoInputError('key_length', 'ciphering needs a 16-octet PEK');
  if (policy.integrity && k.pik?.length !== 16)
    throw new CryptoInputError('key_length', 'integrity needs a 16-octet PIK');
}

/** The first octet of a protected PDU: version (bits 5-4), KSI (bits 3-0) and which protections were applied. */
function flagsOctet(ksi: number, policy: ProtectionPolicy): number {
  return (
    (policy.integrity ? FLAG_INTEGRITY : 0) |
    (policy.ciphering ? FLAG_CIPHERED : 0) |
    (PROTECTION_VERSION << 4) |
    ksi
  );
}

/** Key set identifier of a protected PDU, so a receiver holding two key sets (re-keying) can pick one. */
export function peekKsi(pdu: Uint8Array): number | undefined {
  return pdu.length >= PROTECTED_HEADER_BYTES ? pdu[0]! & 0x0f : undefined;
}

/** Sending side of one direction under one key set. */
export class Pc5TxContext {
  private next = 0;
  private readonly header: number;
  /** 128-NEA2 keystream for consecutive COUNTs in one AES call per 32 PDUs (same output as nea()). */
  private readonly nea2?: Nea2Stream;

  constructor(
    private readonly keys: ProtectionKeys,
    private readonly policy: ProtectionPolicy,
    /** COUNT from which `needsRekey` turns true (default 2^32 - 2^16: room to finish a re-keying). */
    private readonly rekeyThreshold = MAX_COUNT - 0xffff,
  ) {
    checkKeys(keys, policy);
    this.header = flagsOctet(keys.ksi, policy);
    if (policy.ciphering && keys.cipherAlg === 2)
      this.nea2 = new Nea2Stream(keys.pek!, keys.bearer, keys.direction);
  }

  /** COUNT of the next PDU. */
  get count(): number {
    return this.next;
  }

  /** True once COUNT passed the re-keying threshold: the owner must re-key before COUNT wraps. */
  get needsRekey(): boolean {
    return this.next >= this.rekeyThreshold;
  }

  /**
   * As protect, but returns `headroom` octets followed by the PDU in one buffer (the caller MUST overwrite the
   * headroom, e.g. with an address: it is not zeroed), so the PDU is built without intermediate copies.
   */
  protectWithHeadroom(payload: Uint8Array, headroom: number): Uint8Array {
    if (this.next > MAX_COUNT)
      throw new CryptoInputError('count_exhausted', 'COUNT would wrap: re-key first');
    const { keys, policy } = this;
    const macLen = policy.integrity ? MAC_I_BYTES : 0;
    const len = headroom + PROTECTED_HEADER_BYTES + payload.length + macLen;
    // Not zero-filled (from Node's pool): every octet of the result is written below, except the headroom, which
    // the caller must fill.
    const pooled = Buffer.allocUnsafe(len);
    const whole = new Uint8Array(pooled.buffer, pooled.byteOffset, len);
    const h = headroom;
    const count = this.next++;
    whole[h] = this.header;
    whole[h + 1] = count >>> 24;
    whole[h + 2] = count >>> 16;
    whole[h + 3] = count >>> 8;
    whole[h + 4] = count;
    const at = h + PROTECTED_HEADER_BYTES;
    if (!policy.ciphering) whole.set(payload, at);
    else if (this.nea2) this.nea2.applyInto(count, payload, whole, at);
    else {
      whole.set(
        nea(keys.cipherAlg, keys.pek!, count, keys.bearer, keys.direction, payload, payload.length * 8),
        at,
      );
    }
    if (policy.integrity) {
      const covered = whole.subarray(h, at + payload.length);
      whole.set(
        nia(keys.integrityAlg, keys.pik!, count, keys.bearer, keys.direction, covered, covered.length * 8),
        at + payload.length,
      );
    }
    return whole;
  }

  /** Protects one payload; throws CryptoInputError('count_exhausted') rather than ever reusing a COUNT. */
  protect(payload: Uint8Array): Uint8Array {
    if (this.next > MAX_COUNT)
      throw new CryptoInputError('count_exhausted', 'COUNT would wrap: re-key first');
    const count = this.next++;
    const { keys, policy } = this;
    const macLen = policy.integrity ? MAC_I_BYTES : 0;
    const out = new Uint8Array(PROTECTED_HEADER_BYTES + payload.length + macLen);
    out[0] = this.header;
    new DataView(out.buffer).setUint32(1, count);
    const body = !policy.ciphering
      ? payload
      : this.nea2
        ? this.nea2.apply(count, payload)
        : nea(keys.cipherAlg, keys.pek!, count, keys.bearer, keys.direction, payload, payload.length * 8);
    out.set(body, PROTECTED_HEADER_BYTES);
    if (policy.integrity) {
      // Encrypt-then-MAC: MAC-I covers the header and the (ciphered) payload.
      const covered = out.subarray(0, PROTECTED_HEADER_BYTES + payload.length);
      out.set(
        nia(keys.integrityAlg, keys.pik!, count, keys.bearer, keys.direction, covered, covered.length * 8),
        covered.length,
      );
    }
    return out;
  }
}

/**
 * Receiving side of one direction under one key set, with a sliding replay window over COUNT
 * (UDP reorders: any COUNT within `windowSize` below the highest seen is accepted once).
 */
export class Pc5RxContext {
  private readonly replay: ReplayWindow;
  private readonly header: number;
  private readonly nea2?: Nea2Stream;

  constructor(
    private readonly keys: ProtectionKeys,
    private readonly policy: ProtectionPolicy,
    windowSize = 1024,
    /** false only for the threat matrix's weakened controls (docs/threat-matrix.md): replays are then accepted. */
    private readonly replayCheck = true,
  ) {
    checkKeys(keys, policy);
    this.replay = new ReplayWindow(windowSize);
    this.header = flagsOctet(keys.ksi, policy);
    if (policy.ciphering && keys.cipherAlg === 2)
      this.nea2 = new Nea2Stream(keys.pek!, keys.bearer, keys.direction);
  }

  /** Highest COUNT accepted so far (-1 before any). */
  get highestCount(): number {
    return this.replay.highest;
  }

  /**
   * Checks and opens one PDU. With `inPlace` the payload is deciphered inside `pdu` and returned as a view on it
   * (no copy; the caller must not reuse the PDU bytes afterwards).
   */
  unprotect(pdu: Uint8Array, inPlace = false): UnprotectResult {
    const { keys, policy } = this;
    const macLen = policy.integrity ? MAC_I_BYTES : 0;
    if (pdu.length < PROTECTED_HEADER_BYTES + macLen) return { ok: false, reason: 'too_short' };
    const h = pdu[0]!;
    if (((h >> 4) & 0x03) !== PROTECTION_VERSION) return { ok: false, reason: 'bad_version' };
    if ((h & 0x0f) !== keys.ksi) return { ok: false, reason: 'wrong_ksi' };
    // A PDU must carry exactly the protections this context requires: no stripping (bidding down), no surprises.
    if (h !== this.header) return { ok: false, reason: 'policy' };
    const count = ((pdu[1]! << 24) | (pdu[2]! << 16) | (pdu[3]! << 8) | pdu[4]!) >>> 0;
    const end = pdu.length - macLen;
    if (policy.integrity) {
      const covered = pdu.subarray(0, end);
      if (
        !niaVerify(
          keys.integrityAlg,
          keys.pik!,
          count,
          keys.bearer,
          keys.direction,
          covered,
          covered.length * 8,
          pdu.subarray(end),
        )
      ) {
        return { ok: false, reason: 'mac', count };
      }
    }
    const replay = this.replayCheck ? this.replay.check(count) : undefined;
    if (replay) return { ok: false, reason: replay, count };
    const body = pdu.subarray(PROTECTED_HEADER_BYTES, end);
    let payload: Uint8Array;
    if (inPlace && (!policy.ciphering || this.nea2)) {
      this.nea2?.applyInto(count, body, pdu, PROTECTED_HEADER_BYTES);
      payload = body;
    } else {
      payload = !policy.ciphering
        ? body.slice()
        : this.nea2
          ? this.nea2.apply(count, body)
          : nea(keys.cipherAlg, keys.pek!, count, keys.bearer, keys.direction, body, body.length * 8);
    }
    this.replay.markSeen(count);
    return { ok: true, payload, count };
  }
}

/**
 * Sliding replay window over a 32-bit COUNT: any COUNT within `size` below the highest accepted one is accepted
 * once. Check before, mark only after the PDU verified, so forged PDUs cannot move the window.
 */
export class ReplayWindow {
  private top = -1;
  private readonly bits: Uint32Array;

  constructor(private readonly size = 1024) {
    if (!Number.isInteger(size) || size < 32 || size % 32 !== 0) {
      throw new CryptoInputError('window', 'replay window must be a multiple of 32, at least 32');
    }
    this.bits = new Uint32Array(size / 32);
  }

  /** Highest COUNT marked so far (-1 before any). */
  get highest(): number {
    return this.top;
  }

  check(count: number): 'replay' | 'too_old' | undefined {
    if (count > this.top) return undefined;
    if (this.top - count >= this.size) return 'too_old';
    const i = count % this.size;
    return this.bits[i >>> 5]! & (1 << (i & 31)) ? 'replay' : undefined;
  }

  markSeen(count: number): void {
    const size = this.size;
    if (count > this.top) {
      // Clear the slots the window slides over.
      const steps = Math.min(count - this.top, size);
      for (let c = count - steps + 1; c <= count; c++) {
        const i = c % size;
        this.bits[i >>> 5]! &= ~(1 << (i & 31));
      }
      this.top = count;
    }
    const i = count % size;
    this.bits[i >>> 5]! |= 1 << (i & 31);
  }
}
