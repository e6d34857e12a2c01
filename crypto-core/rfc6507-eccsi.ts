// ECCSI (RFC 6507) on NIST P-256 with SHA-256: KMS keys (KSAK/KPAK), SSK/PVT issuance and validation,
// signing and verification. Curve arithmetic from ibc-algebra.ts: fixed-base window tables for G and KPAK,
// a width-5 NAF multiplication for the signer's PVT.
import { createHash, randomBytes } from 'node:crypto';
import { bytesToBigInt, concatBytes, uintToBytes } from './bytes.js';
import { CryptoInputError, requireLength } from './errors.js';
import { type Affine, type FixedBaseTable, invMod, type Jacobian, PrimeCurve } from './ibc-algebra.js';

/** NIST P-256 (RFC 6507 uses it with SHA-256: N = 32 octets). */
export const P256 = new PrimeCurve(
  0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
  0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
);
const G: Affine = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};
const q = P256.n;
/** N: octets of a hash output and of a scalar (RFC 6507 2.2). */
export const ECCSI_N = 32;
/** Octets of an uncompressed P-256 point (PVT, KPAK). */
export const ECCSI_POINT_BYTES = 2 * ECCSI_N + 1;
/** Octets of a signature r || s || PVT (RFC 6507 3.3). */
export const ECCSI_SIGNATURE_BYTES = 2 * ECCSI_N + ECCSI_POINT_BYTES;
const G_BYTES = P256.encodePoint(G);
const WINDOW = 8;

let tableG: FixedBaseTable | undefined;
const kpakTables = new Map<string, { K: Affine; table: FixedBaseTable }>();
const CACHE_MAX = 16;

function getTableG(): FixedBaseTable {
  tableG ??= P256.fixedBaseTable(G, WINDOW, 256);
  return tableG;
}

function getKpak(kpak: Uint8Array): { K: Affine; table: FixedBaseTable } {
  const key = Buffer.from(kpak).toString('hex');
  const hit = kpakTables.get(key);
  if (hit) return hit;
  const K = decodePoint('KPAK', kpak);
  const entry = { K, table: P256.fixedBaseTable(K, WINDOW, 256) };
  kpakTables.set(key, entry);
  if (kpakTables.size > CACHE_MAX) kpakTables.delete(kpakTables.keys().next().value as string);
  return entry;
}

// Signers seen more than once get a small fixed-base table of their PVT (w = 4, ~60 kB), so that repeated
// verifications (a talker in a group call) need no doublings. LRU of SIGNER_CACHE_MAX entries.
const SIGNER_CACHE_MAX = 64;
const signers = new Map<string, { seen: number; table?: FixedBaseTable }>();

function signerTable(
  kpak: Uint8Array,
  id: Uint8Array,
  pvt: Uint8Array,
  PVT: Affine,
): FixedBaseTable | undefined {
  const key = `${Buffer.from(kpak).toString('hex')}/${Buffer.from(id).toString('hex')}/${Buffer.from(pvt).toString('hex')}`;
  let e = signers.get(key);
  if (e) signers.delete(key);
  else e = { seen: 0 };
  signers.set(key, e);
  if (signers.size > SIGNER_CACHE_MAX) signers.delete(signers.keys().next().value as string);
  e.seen++;
  if (!e.table && e.seen >= 2) e.table = P256.fixedBaseTable(PVT, 4, 256);
  return e.table;
}

/** Builds the G table (and optionally a KPAK's) now rather than on first use. */
export function eccsiPrecompute(kpak?: Uint8Array): void {
  getTableG();
  if (kpak) getKpak(kpak);
}

function decodePoint(what: string, bytes: Uint8Array): Affine {
  return P256.decodePoint(what, bytes);
}

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function scalar(what: string, bytes: Uint8Array): bigint {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0 || bytes.length > ECCSI_N) {
    throw new CryptoInputError('length', `${what} must be 1..${ECCSI_N} octets`);
  }
  const v = bytesToBigInt(bytes);
  if (v === 0n || v >= q) throw new CryptoInputError('range', `${what} is not in [1, q-1]`);
  return v;
}

function randomScalar(): bigint {
  return (bytesToBigInt(randomBytes(ECCSI_N + 16)) % (q - 1n)) + 1n;
}

function fixedG(k: bigint): Affine {
  return P256.toAffine(P256.mulFixed(getTableG(), k))!;
}

/** KPAK = [KSAK]G (RFC 6507 4.2). */
export function eccsiKpak(ksak: Uint8Array): Uint8Array {
  return P256.encodePoint(fixedG(scalar('KSAK', ksak)));
}

/** KMS Secret Authentication Key KSAK (random in [1, q-1]) and KMS Public Authentication Key KPAK (RFC 6507 4.2). */
export function eccsiGenerateKmsKeys(): { KSAK: Uint8Array; KPAK: Uint8Array } {
  const KSAK = uintToBytes(randomScalar(), ECCSI_N);
  return { KSAK, KPAK: eccsiKpak(KSAK) };
}

/** HS = hash( G || KPAK || ID || PVT ) (RFC 6507 5.1.1 step 3, 5.1.2 step 2, 5.2.2 step 2). */
export function eccsiHS(kpak: Uint8Array, id: Uint8Array, pvt: Uint8Array): Uint8Array {
  requireLength('KPAK', kpak, ECCSI_POINT_BYTES);
  requireLength('PVT', pvt, ECCSI_POINT_BYTES);
  return sha256(G_BYTES, kpak, id, pvt);
}

/** SSK and PVT for identifier ID (RFC 6507 5.1.1); `v` fixes the ephemeral value (tests only). */
export function eccsiIssueSsk(
  ksak: Uint8Array,
  kpak: Uint8Array,
  id: Uint8Array,
  v?: Uint8Array,
): { SSK: Uint8Array; PVT: Uint8Array; HS: Uint8Array } {
  const k = scalar('KSAK', ksak);
  decodePoint('KPAK', kpak);
  for (;;) {
    const vv = v ? scalar('v', v) : randomScalar(); // step 1
    const PVT = P256.encodePoint(fixedG(vv)); // step 2: PVT = [v]G
    const HS = eccsiHS(kpak, id, PVT); // step 3
    const hs = bytesToBigInt(HS) % q;
    const ssk = (k + hs * vv) % q; // step 4: SSK = (KSAK + HS * v) mod q
    if (ssk !== 0n && hs !== 0n) return { SSK: uintToBytes(ssk, ECCSI_N), PVT, HS };
    if (v) throw new CryptoInputError('ssk_degenerate', 'SSK or HS is zero modulo q for this v');
  }
}

/** Receiver-side SSK validation: KPAK = [SSK]G - [HS]PVT (RFC 6507 5.1.2). */
export function eccsiValidateSsk(
  id: Uint8Array,
  ssk: Uint8Array,
  pvt: Uint8Array,
  kpak: Uint8Array,
): boolean {
  const s = scalar('SSK', ssk);
  const PVT = decodePoint('PVT', pvt); // step 1
  const { K } = getKpak(kpak);
  const hs = bytesToBigInt(eccsiHS(kpak, id, pvt)) % q; // step 2
  // step 3: [SSK]G - [HS]PVT == KPAK  <=>  [SSK]G + [q - HS]PVT == KPAK
  const acc = P256.mulFixedAdd(P256.mul(PVT, (q - hs) % q), getTableG(), s);
  return P256.equalJacobianAffine(acc, K);
}

/** Signature r || s || PVT over message M (RFC 6507 5.2.1); `j` fixes the ephemeral value (tests only). */
export function eccsiSign(
  message: Uint8Array,
  id: Uint8Array,
  ssk: Uint8Array,
  pvt: Uint8Array,
  kpak: Uint8Array,
  j?: Uint8Array,
): Uint8Array {
  const sskv = scalar('SSK', ssk);
  decodePoint('PVT', pvt);
  const HS = eccsiHS(kpak, id, pvt);
  for (;;) {
    const jj = j ? scalar('j', j) : randomScalar(); // step 1
    const J = fixedG(jj); // step 2: J = [j]G, r = Jx
    const r = J.x;
    const rBytes = uintToBytes(r, ECCSI_N);
    const he = bytesToBigInt(sha256(HS, rBytes, message)) % q; // step 3: HE = hash(HS || r || M)
    const t = (he + r * sskv) % q; // step 4
    if (t === 0n || r % q === 0n) {
      if (j) throw new CryptoInputError('sign_degenerate', 'HE + r * SSK = 0 mod q for this j');
      continue;
    }
    let s = (invMod(t, q) * jj) % q; // step 5: s' = ((HE + r * SSK)^-1 * j) mod q
    if (s.toString(16).length > 2 * ECCSI_N) s = q - s; // step 6 (never for P-256 since s' < q)
    return concatBytes(rBytes, uintToBytes(s, ECCSI_N), pvt); // step 7
  }
}

/** Verifies signature r || s || PVT on M by identifier ID under KPAK (RFC 6507 5.2.2). */
export function eccsiVerify(
  message: Uint8Array,
  signature: Uint8Array,
  id: Uint8Array,
  kpak: Uint8Array,
): boolean {
  requireLength('ECCSI signature', signature, ECCSI_SIGNATURE_BYTES);
  const rBytes = signature.subarray(0, ECCSI_N);
  const r = bytesToBigInt(rBytes);
  const s = bytesToBigInt(signature.subarray(ECCSI_N, 2 * ECCSI_N));
  const pvt = signature.subarray(2 * ECCSI_N);
  const PVT = decodePoint('PVT', pvt); // step 1
  const { table } = getKpak(kpak);
  if (r === 0n || r >= P256.p || s === 0n || s >= q) return false;
  const HS = eccsiHS(kpak, id, pvt); // step 2
  const hs = bytesToBigInt(HS) % q;
  const he = bytesToBigInt(sha256(HS, rBytes, message)) % q;
  // steps 3-4: Y = [HS]PVT + KPAK; J = [s]([HE]G + [r]Y) = [s*HE]G + [s*r]KPAK + [s*r*HS]PVT
  const sr = (s * r) % q;
  const pts = P256.collectFixed(P256.collectFixed([], table, sr), getTableG(), (s * he) % q);
  const pvtTable = signerTable(kpak, id, pvt, PVT);
  let J: Jacobian;
  if (pvtTable) J = P256.sumAffine(P256.collectFixed(pts, pvtTable, (sr * hs) % q));
  else J = P256.add(P256.mul(PVT, (sr * hs) % q), P256.sumAffine(pts));
  // step 5: Jx = r mod p and Jx != 0, checked projectively as X = r * Z^2 (0 < r < p), no inversion
  return J.z !== 0n && J.x === (r * ((J.z * J.z) % P256.p)) % P256.p;
}
