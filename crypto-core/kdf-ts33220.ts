// Generic 3GPP key derivation function: TS 33.220 Annex B (B.2.0 KDF, B.2.1 input string S).
import { createHmac } from 'node:crypto';
import { CryptoInputError } from './errors.js';

/** TS 33.220 B.2.1: S = FC || P0 || L0 || P1 || L1 || ... with Li the 2-octet big-endian length of Pi. */
export function kdfInputString(fc: number, ...params: Uint8Array[]): Uint8Array {
  if (!Number.isInteger(fc) || fc < 0 || fc > 0xff) {
    throw new CryptoInputError('fc_range', `FC must be a single octet (0..255), got ${fc}`);
  }
  let n = 1;
  for (const p of params) {
    if (!(p instanceof Uint8Array)) throw new CryptoInputError('type', 'KDF parameters must be Uint8Array');
    if (p.length > 0xffff) {
      throw new CryptoInputError('param_length', `KDF parameter of ${p.length} octets exceeds 65535`);
    }
    n += p.length + 2;
  }
  const s = new Uint8Array(n);
  s[0] = fc;
  let o = 1;
  for (const p of params) {
    s.set(p, o);
    o += p.length;
    s[o++] = p.length >>> 8;
    s[o++] = p.length & 0xff;
  }
  return s;
}

/** TS 33.220 B.2.0: derived key = HMAC-SHA-256(Key, S); returns the full 32 octets. */
export function kdf(key: Uint8Array, fc: number, ...params: Uint8Array[]): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length === 0) {
    throw new CryptoInputError('key_length', 'KDF key must be a non-empty Uint8Array');
  }
  const s = kdfInputString(fc, ...params);
  return new Uint8Array(createHmac('sha256', key).update(s).digest());
}
