// EAP-AKA' key material: RFC 5448 (as updated by RFC 9048) 3.3 fast re-authentication, 3.3/3.4 keys and PRF',
// and the CK'/IK' derivation of TS 33.402 A.2 (TS 33.220 Annex B KDF, FC 0x20).
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './bytes.js';
import { CryptoInputError, requireLength } from './errors.js';
import { kdf } from './kdf-ts33220.js';

/** FC of the CK'/IK' derivation (TS 33.402 A.2). */
export const FC_CK_IK_PRIME = 0x20;

const enc = new TextEncoder();
const bytesOf = (s: Uint8Array | string): Uint8Array => (typeof s === 'string' ? enc.encode(s) : s);

/** TS 33.402 A.2 / RFC 5448 3.3: CK' || IK' = KDF(CK || IK, FC=0x20, P0=access network name, P1=SQN XOR AK). */
export function deriveCkIkPrime(
  ck: Uint8Array,
  ik: Uint8Array,
  networkName: Uint8Array | string,
  sqnXorAk: Uint8Array,
): { ckPrime: Uint8Array; ikPrime: Uint8Array } {
  requireLength('CK', ck, 16);
  requireLength('IK', ik, 16);
  requireLength('SQN XOR AK', sqnXorAk, 6);
  const name = bytesOf(networkName);
  if (name.length === 0) throw new CryptoInputError('network_name', 'access network name must not be empty');
  const key = new Uint8Array(32);
  key.set(ck, 0);
  key.set(ik, 16);
  const out = kdf(key, FC_CK_IK_PRIME, name, sqnXorAk);
  return { ckPrime: out.slice(0, 16), ikPrime: out.slice(16, 32) };
}

/** RFC 5448 3.4: PRF'(K, S) = T1 | T2 | ..., Tn = HMAC-SHA-256(K, Tn-1 | S | n); returns the first `length` octets. */
export function prfPrime(key: Uint8Array, s: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 255 * 32) {
    throw new CryptoInputError('length_range', `PRF' output length must be 0..8160 octets, got ${length}`);
  }
  const out = new Uint8Array(length);
  let prev = new Uint8Array(0);
  for (let i = 1, o = 0; o < length; i++) {
    const t = createHmac('sha256', key).update(prev).update(s).update(Uint8Array.of(i)).digest();
    prev = new Uint8Array(t);
    out.set(prev.subarray(0, Math.min(32, length - o)), o);
    o += 32;
  }
  return out;
}

/** The EAP-AKA' keys of RFC 5448 3.3. */
export interface AkaPrimeKeys {
  /** MK: 208 octets (1664 bits) of PRF' output. */
  mk: Uint8Array;
  kEncr: Uint8Array;
  kAut: Uint8Array;
  kRe: Uint8Array;
  msk: Uint8Array;
  emsk: Uint8Array;
}

/**
 * RFC 5448 3.3: MK = PRF'(IK'|CK', "EAP-AKA'"|Identity); K_encr = MK[0..127], K_aut = MK[128..383],
 * K_re = MK[384..639], MSK = MK[640..1151], EMSK = MK[1152..1663].
 */
export function deriveAkaPrimeKeys(
  ikPrime: Uint8Array,
  ckPrime: Uint8Array,
  identity: Uint8Array | string,
): AkaPrimeKeys {
  requireLength("IK'", ikPrime, 16);
  requireLength("CK'", ckPrime, 16);
  const id = bytesOf(identity);
  const key = new Uint8Array(32);
  key.set(ikPrime, 0);
  key.set(ckPrime, 16);
  const label = enc.encode("EAP-AKA'");
  const s = new Uint8Array(label.length + id.length);
  s.set(label, 0);
  s.set(id, label.length);
  const mk = prfPrime(key, s, 208);
  return {
    mk,
    kEncr: mk.slice(0, 16),
    kAut: mk.slice(16, 48),
    kRe: mk.slice(48, 80),
    msk: mk.slice(80, 144),
    emsk: mk.slice(144, 208),
  };
}

/**
 * RFC 5448 3.3 fast re-authentication: MK = PRF'(K_re, "EAP-AKA' re-auth"|Identity|counter|NONCE_S);
 * MSK = MK[0..511], EMSK = MK[512..1023]. `counter` is the 16-bit AT_COUNTER value, NONCE_S 16 octets.
 */
export function deriveFastReauthKeys(
  kRe: Uint8Array,
  identity: Uint8Array | string,
  counter: number,
  nonceS: Uint8Array,
): { mk: Uint8Array; msk: Uint8Array; emsk: Uint8Array } {
  requireLength('K_re', kRe, 32);
  requireLength('NONCE_S', nonceS, 16);
  if (!Number.isInteger(counter) || counter < 0 || counter > 0xffff) {
    throw new CryptoInputError('counter_range', `re-authentication counter must be 0..65535, got ${counter}`);
  }
  const id = bytesOf(identity);
  const label = enc.encode("EAP-AKA' re-auth");
  const s = new Uint8Array(label.length + id.length + 2 + 16);
  s.set(label, 0);
  s.set(id, label.length);
  s[label.length + id.length] = counter >>> 8;
  s[label.length + id.length + 1] = counter & 0xff;
  s.set(nonceS, label.length + id.length + 2);
  const mk = prfPrime(kRe, s, 128);
  return { mk, msk: mk.slice(0, 64), emsk: mk.slice(64, 128) };
}

/**
 * RFC 5448 3.4.1 / RFC 4187 10.15: AT_MAC = HMAC-SHA-256-128(K_aut, EAP packet with the 16-octet MAC value
 * zeroed | extra), where `macOffset` is the offset of the MAC value (after AT_MAC's 4-octet header) in `packet`
 * and `extra` is any data the message appends (e.g. NONCE_S in re-authentication). The packet is not modified.
 */
export function computeAtMac(
  kAut: Uint8Array,
  packet: Uint8Array,
  macOffset: number,
  extra: Uint8Array = new Uint8Array(0),
): Uint8Array {
  requireLength('K_aut', kAut, 32);
  if (!Number.isInteger(macOffset) || macOffset < 0 || macOffset + 16 > packet.length) {
    throw new CryptoInputError(
      'mac_offset',
      `AT_MAC value at ${macOffset} lies outside the ${packet.length}-octet packet`,
    );
  }
  const copy = packet.slice();
  copy.fill(0, macOffset, macOffset + 16);
  const h = createHmac('sha256', kAut).update(copy).update(extra).digest();
  return new Uint8Array(h.subarray(0, 16));
}

/** Verifies the AT_MAC value found at `macOffset` in `packet` (constant-time compare). */
export function verifyAtMac(
  kAut: Uint8Array,
  packet: Uint8Array,
  macOffset: number,
  extra: Uint8Array = new Uint8Array(0),
): boolean {
  const expected = computeAtMac(kAut, packet, macOffset, extra);
  return constantTimeEqual(expected, packet.subarray(macOffset, macOffset + 16));
}
