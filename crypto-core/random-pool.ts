// Cryptographically secure random octets from a pooled buffer: node:crypto's randomFillSync refills 4 KiB at a time,
// so hot paths that take a few octets per message (RAND, IVs, NONCE_S, RADIUS salts and State) pay one OpenSSL call
// per pool instead of one per value. Octets handed out are zeroed in the pool, so none is ever handed out twice or
// left behind after use.
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let offset = POOL_SIZE;

/** `n` fresh random octets (a new array). Requests above 1 KiB bypass the pool. */
export function randomOctets(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0)
    throw new RangeError(`random octet count must be a whole number, got ${n}`);
  if (n > POOL_SIZE / 4) return randomFillSync(new Uint8Array(n));
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = pool.slice(offset, offset + n);
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
