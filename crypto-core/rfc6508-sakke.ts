// SAKKE (RFC 6508) with the RFC 6509 Appendix A parameter set 1: KMS master secret, RSK issuance and
// validation, encapsulation and decapsulation of a shared secret value (SSV), HashToIntegerRange.
// Speed: fixed-base window tables for P, Z_S and g; precomputed Miller-loop lines per RSK (ibc-algebra.ts).
import { createHash, randomBytes } from 'node:crypto';
import { bytesToBigInt, concatBytes, uintToBytes, xorBytes } from './bytes.js';
import { CryptoInputError, requireLength } from './errors.js';
import {
  type Affine,
  batchInvMod,
  type FixedBaseTable,
  type Fp2,
  invMod,
  type PairingLines,
  type PfTable,
  PrimeCurve,
  pairingEvaluate,
  pairingLines,
  pfFixedBaseTable,
  pfPowFixed,
  pfRepresentative,
} from './ibc-algebra.js';

/** Public parameters of a SAKKE system (RFC 6508 2.3). */
export interface SakkeParameterSet {
  /** IANA SAKKE parameter set identifier (RFC 6509 Appendix A). */
  id: number;
  p: bigint;
  q: bigint;
  P: Affine;
  /** Representative in F_p of g = <P,P>. */
  g: bigint;
  /** SSV length in bits. */
  n: number;
  hash: 'sha256';
}

/** RFC 6509 Appendix A, parameter set 1: 1024-bit p, q = (p+1)/4, n = 128, SHA-256. */
export const SAKKE_PARAMETER_SET_1: SakkeParameterSet = {
  id: 1,
  p: BigInt(
    '0x997abb1f0a563fda65c61198dad0657a416c0ce19cb48261be9ae358b3e01a2ef40aab27e2fc0f1b228730d531a59cb0e7' +
      '91b39ff7c88a19356d27f4a666a6d0e26c6487326b4cd4512ac5cd65681ce1b6aff4a831852a82a7cf3c521c3c09aa9f94d6' +
      'af56971f1ffce3e82389857db080c5df10ac7ace87666d807afea85feb',
  ),
  q: BigInt(
    '0x265eaec7c2958ff69971846636b4195e905b0338672d20986fa6b8d62cf8068bbd02aac9f8bf03c6c8a1cc354c69672c39e4' +
      '6ce7fdf222864d5b49fd2999a9b4389b1921cc9ad335144ab173595a07386dabfd2a0c614aa0a9f3cf14870f026aa7e535ab' +
      'd5a5c7c7ff38fa08e2615f6c203177c42b1eb3a1d99b601ebfaa17fb',
  ),
  P: {
    x: BigInt(
      '0x53fc09ee332c29ad0a7990053ed9b52a2b1a2fd60aec69c698b2f204b6ff7cbfb5edb6c0f6ce2308ab10db9030b09e1043' +
        'd5f22cdb9dfa55718bd9e7406ce8909760af765dd5bccb337c86548b72f2e1a702c3397a60de74a7c1514dba66910dd5cf' +
        'b4cc80728d87ee9163a5b63f73ec80ec46c4967e0979880dc8abeae63895',
    ),
    y: BigInt(
      '0x0a8249063f6009f1f9f1f0533634a135d3e82016029906963d778d821e141178f5ea69f4654ec2b9e7f7f5e5f0de55f66b' +
        '598ccf9a140b2e416cff0ca9e032b970dae117ad547c6ccad696b5b7652fe0ac6f1e80164aa989492d979fc5a4d5f21351' +
        '5ad7e9cb99a980bdad5ad5bb4636adb9b5706a67dcde75573fd71bef16d7',
    ),
  },
  g: BigInt(
    '0x66fc2a432b6ea392148f15867d623068c6a87bd1fb94c41e27fabe658e015a87371e94744c96feda449ae9563f8bc446cbf' +
      'da85d5d00ef577072da8f541721beee0faed1828eab90b99dfb0138c7843355df0460b4a9fd74b4f1a32bcafa1ffad682c0' +
      '33a7942bcce3720f20b9b7b0403c8cae87b7a0042acde0fab36461ea46',
  ),
  n: 128,
  hash: 'sha256',
};

const PS = SAKKE_PARAMETER_SET_1;
/** The curve E: y^2 = x^3 - 3x over F_p (RFC 6508 3), subgroup of order q. */
export const SAKKE_CURVE = new PrimeCurve(PS.p, 0n, PS.q);
/** L = Ceiling(lg(p)/8), octets of an F_p element (RFC 6508 4). */
export const SAKKE_L = SAKKE_CURVE.fieldBytes;
/** Octets of the SSV (n bits). */
export const SAKKE_SSV_BYTES = PS.n / 8;
/** Octets of the Encapsulated Data 0x04 || x || y || H (RFC 6508 4: 2L + n + 1, n counted in octets). */
export const SAKKE_ENCAPSULATED_BYTES = 2 * SAKKE_L + 1 + SAKKE_SSV_BYTES;
const C_EXP = (PS.p + 1n) / PS.q; // c = (p+1)/q, the final power of the pairing (RFC 6508 3.2)
const Q_BITS = PS.q.toString(2).length;

/** Window widths of the fixed-base tables (bits per window, signed digits). */
export const SAKKE_WINDOWS = Object.freeze({ point: 8, pf: 8 });

// ---------------------------------------------------------------------------------------------------------
// Precomputation caches (pure memoisation; a process computes each table once).

let tableP: FixedBaseTable | undefined;
let tableG: PfTable | undefined;
const zTables = new Map<string, { Z: Affine; table: FixedBaseTable }>();
const rskLines = new Map<string, PairingLines>();
const CACHE_MAX = 16;

function remember<V>(map: Map<string, V>, key: string, make: () => V): V {
  const hit = map.get(key);
  if (hit !== undefined) {
    map.delete(key);
    map.set(key, hit);
    return hit;
  }
  const v = make();
  map.set(key, v);
  if (map.size > CACHE_MAX) map.delete(map.keys().next().value as string);
  return v;
}

function getTableP(): FixedBaseTable {
  tableP ??= SAKKE_CURVE.fixedBaseTable(PS.P, SAKKE_WINDOWS.point, Q_BITS);
  return tableP;
}

function getTableG(): PfTable {
  tableG ??= pfFixedBaseTable(PS.g, PS.p, SAKKE_WINDOWS.pf, Q_BITS);
  return tableG;
}

function getZ(zS: Uint8Array): { Z: Affine; table: FixedBaseTable } {
  return remember(zTables, Buffer.from(zS).toString('hex'), () => {
    const Z = decodeOrderQPoint('Z_S', zS);
    return { Z, table: SAKKE_CURVE.fixedBaseTable(Z, SAKKE_WINDOWS.point, Q_BITS) };
  });
}

function getLines(rsk: Uint8Array): PairingLines {
  return remember(rskLines, Buffer.from(rsk).toString('hex'), () =>
    pairingLines(SAKKE_CURVE, decodeOrderQPoint('RSK', rsk), PS.q),
  );
}

/** Builds the parameter-set tables (P, g) now rather than on first use; optionally also those of a Z_S. */
export function sakkePrecompute(zS?: Uint8Array, rsk?: Uint8Array): void {
  getTableP();
  getTableG();
  if (zS) getZ(zS);
  if (rsk) getLines(rsk);
}

// ---------------------------------------------------------------------------------------------------------

/** Decodes a point of E(F_p) and rejects the encodings of infinity and of the 2-torsion point (0,0). */
function decodeOrderQPoint(what: string, bytes: Uint8Array): Affine {
  if (
    bytes instanceof Uint8Array &&
    bytes.length === 2 * SAKKE_L + 1 &&
    bytes.subarray(1).every((b) => b === 0)
  ) {
    throw new CryptoInputError('point_at_infinity', `${what} encodes the point at infinity`);
  }
  const P = SAKKE_CURVE.decodePoint(what, bytes);
  if (P.y === 0n) throw new CryptoInputError('small_order', `${what} is a point of order 2`);
  return P;
}

/** Identifier as an integer in [2, q-1] (RFC 6508 2.2). */
function identifierInteger(what: string, id: Uint8Array): bigint {
  if (!(id instanceof Uint8Array) || id.length === 0) {
    throw new CryptoInputError('identifier', `${what} must be a non-empty Uint8Array`);
  }
  const v = bytesToBigInt(id);
  if (v < 2n || v >= PS.q) throw new CryptoInputError('identifier_range', `${what} is not in [2, q-1]`);
  return v;
}

function fpBytes(v: bigint): Uint8Array {
  return uintToBytes(v, SAKKE_L);
}

/** HashToIntegerRange(s, n, hashfn) with SHA-256 (RFC 6508 5.1). */
export function hashToIntegerRange(s: Uint8Array, n: bigint): bigint {
  if (n < 2n) throw new CryptoInputError('range', 'HashToIntegerRange needs n >= 2');
  const hashfn = (m: Uint8Array) => new Uint8Array(createHash('sha256').update(m).digest());
  const A = hashfn(s);
  let h = new Uint8Array(32); // h_0
  const l = Math.ceil((n - 1n).toString(2).length / 256);
  let v = 0n;
  for (let i = 1; i <= l; i++) {
    h = hashfn(h); // h_i = hashfn(h_(i-1))
    const vi = hashfn(concatBytes(h, A)); // v_i = hashfn(h_i || A)
    v = (v << 256n) | bytesToBigInt(vi);
  }
  return v % n;
}

/** The pairing <R, Q> of RFC 6508 3.2, returned as its representative in F_p. */
export function sakkePairing(R: Uint8Array, Q: Uint8Array): bigint {
  const lines = pairingLines(SAKKE_CURVE, decodeOrderQPoint('R', R), PS.q);
  return pfRepresentative(pairingEvaluate(lines, decodeOrderQPoint('Q', Q), PS.p, C_EXP), PS.p);
}

/** KMS master secret z_S in [2, q-1] and KMS public key Z_S = [z_S]P (RFC 6508 2.2). */
export function sakkeGenerateMasterKey(): { z: Uint8Array; Z_S: Uint8Array } {
  const z = (bytesToBigInt(randomBytes(SAKKE_L + 16)) % (PS.q - 2n)) + 2n;
  const zb = uintToBytes(z, SAKKE_L);
  return { z: zb, Z_S: sakkePublicKey(zb) };
}

function masterSecret(z: Uint8Array): bigint {
  if (!(z instanceof Uint8Array) || z.length === 0 || z.length > SAKKE_L) {
    throw new CryptoInputError('length', `z must be 1..${SAKKE_L} octets`);
  }
  const v = bytesToBigInt(z);
  if (v < 2n || v >= PS.q) throw new CryptoInputError('range', 'master secret z is not in [2, q-1]');
  return v;
}

/** KMS public key Z_S = [z_S]P (RFC 6508 2.2). */
export function sakkePublicKey(z: Uint8Array): Uint8Array {
  const Z = SAKKE_CURVE.toAffine(SAKKE_CURVE.mulFixed(getTableP(), masterSecret(z)))!;
  return SAKKE_CURVE.encodePoint(Z);
}

/** RSK K_(a,S) = [(a + z_S)^-1]P for identifier a (RFC 6508 6.1.1). */
export function sakkeIssueRsk(z: Uint8Array, id: Uint8Array): Uint8Array {
  const a = identifierInteger('identifier', id);
  const s = (a + masterSecret(z)) % PS.q;
  if (s === 0n)
    throw new CryptoInputError('rsk_degenerate', 'a + z_S = 0 mod q: the master secret must be replaced');
  const K = SAKKE_CURVE.toAffine(SAKKE_CURVE.mulFixed(getTableP(), invMod(s, PS.q)))!;
  return SAKKE_CURVE.encodePoint(K);
}

/** RSK validation: < [a]P + Z_S, K_(a,S) > = g (RFC 6508 6.1.2). Invalid encodings throw; a wrong key gives false. */
export function sakkeValidateRsk(id: Uint8Array, rsk: Uint8Array, zS: Uint8Array): boolean {
  const a = identifierInteger('identifier', id);
  const { table } = getZ(zS);
  decodeOrderQPoint('RSK', rsk);
  const T = SAKKE_CURVE.toAffine(SAKKE_CURVE.mulFixedAdd(SAKKE_CURVE.mulFixed(getTableP(), a), table, 1n));
  if (T === null) return false;
  // <T, K> = <K, T> on the cyclic E(F_p)[q]: the lines of K are reusable by decapsulation.
  const w = pfRepresentative(pairingEvaluate(getLines(rsk), T, PS.p, C_EXP), PS.p);
  return w === PS.g;
}

/** R_(b,S) = [r]([b]P + Z_S) = [r*b mod q]P + [r]Z_S with fixed-base tables (RFC 6508 6.2.1 step 2). */
function computeR(r: bigint, b: bigint, zTable: FixedBaseTable) {
  const pts = SAKKE_CURVE.collectFixed([], getTableP(), (r * b) % PS.q);
  return SAKKE_CURVE.sumAffine(SAKKE_CURVE.collectFixed(pts, zTable, r));
}

/** mask = HashToIntegerRange(g^r, 2^n, Hash) with g^r as an L-octet integer (RFC 6508 6.2.1 step 3). */
function maskOf(gr: Fp2): Uint8Array {
  const rep = pfRepresentative(gr, PS.p);
  return uintToBytes(hashToIntegerRange(fpBytes(rep), 1n << BigInt(PS.n)), SAKKE_SSV_BYTES);
}

/** Encapsulated Data R_(b,S) || H for SSV to identifier b under Z_S (RFC 6508 6.2.1). */
export function sakkeEncapsulate(ssv: Uint8Array, id: Uint8Array, zS: Uint8Array): Uint8Array {
  requireLength('SSV', ssv, SAKKE_SSV_BYTES);
  const b = identifierInteger('identifier', id);
  const { table } = getZ(zS);
  const r = hashToIntegerRange(concatBytes(ssv, id), PS.q); // step 1
  const RJ = computeR(r, b, table); // step 2
  if (RJ.z === 0n) throw new CryptoInputError('point_at_infinity', 'R_(b,S) is the point at infinity');
  const gr = pfPowFixed(getTableG(), r, PS.p); // g^r, unnormalised
  // one batch inversion for both R's affine form and g^r's representative b/a
  const [zi, ai] = batchInvMod([RJ.z, gr.a], PS.p) as [bigint, bigint];
  const zi2 = (zi * zi) % PS.p;
  const R = { x: (RJ.x * zi2) % PS.p, y: (((RJ.y * zi2) % PS.p) * zi) % PS.p };
  const mask = hashToIntegerRange(fpBytes((gr.b * ai) % PS.p), 1n << BigInt(PS.n));
  const H = xorBytes(ssv, uintToBytes(mask, SAKKE_SSV_BYTES)); // step 3
  return concatBytes(SAKKE_CURVE.encodePoint(R), H); // step 4
}

/** SSV from Encapsulated Data with the receiver's RSK K_(b,S) (RFC 6508 6.2.2); throws if the check fails. */
export function sakkeDecapsulate(
  encapsulated: Uint8Array,
  id: Uint8Array,
  rsk: Uint8Array,
  zS: Uint8Array,
): Uint8Array {
  requireLength('Encapsulated Data', encapsulated, SAKKE_ENCAPSULATED_BYTES);
  const b = identifierInteger('identifier', id);
  const Rbytes = encapsulated.subarray(0, 2 * SAKKE_L + 1);
  const H = encapsulated.subarray(2 * SAKKE_L + 1);
  const R = decodeOrderQPoint('R_(b,S)', Rbytes); // step 1: parse
  const { table } = getZ(zS);
  const w = pairingEvaluate(getLines(rsk), R, PS.p, C_EXP); // step 2: w = <R_(b,S), K_(b,S)> = <K_(b,S), R_(b,S)>
  const ssv = xorBytes(H, maskOf(w)); // step 3
  const r = hashToIntegerRange(concatBytes(ssv, id), PS.q); // step 4
  const test = computeR(r, b, table); // step 5: TEST = [r]([b]P + Z_S)
  if (!SAKKE_CURVE.equalJacobianAffine(test, R)) {
    throw new CryptoInputError(
      'sakke_decapsulation',
      'SAKKE check failed: R_(b,S) does not match (wrong key, identifier or data)',
    );
  }
  return ssv;
}
