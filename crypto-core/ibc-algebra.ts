// Generic algebra for the identity-based schemes (RFC 6507 ECCSI, RFC 6508 SAKKE): prime-field arithmetic on
// native BigInt, short Weierstrass curves with a = -3 in Jacobian coordinates, fixed-base window tables,
// and the F_p^2 / PF_p arithmetic and Miller loop of the RFC 6508 Tate-Lichtenbaum pairing.
// Not constant time (BigInt): adequate for the emulation testbed, documented in docs/crypto.md (identity-based section).
import { CryptoInputError } from './errors.js';

/** Affine point; the point at infinity is never represented in affine form here. */
export interface Affine {
  x: bigint;
  y: bigint;
}

/** Jacobian point (x = X/Z^2, y = Y/Z^3); Z = 0 is the point at infinity. */
export interface Jacobian {
  x: bigint;
  y: bigint;
  z: bigint;
}

export const INFINITY: Jacobian = Object.freeze({ x: 1n, y: 1n, z: 0n });

/** Modular inverse: Lehmer's extended Euclidean algorithm (48-bit leading parts in doubles); throws if none. */
export function invMod(a: bigint, m: bigint): bigint {
  let u = m;
  let v = a % m;
  if (v < 0n) v += m;
  let x0 = 0n; // u = x0 * a (mod m)
  let x1 = 1n; // v = x1 * a (mod m)
  let ubits = m.toString(2).length; // upper bound on the bit length of u, tightened each round
  while (v >> 52n !== 0n) {
    for (;;) {
      const top = Number(u >> BigInt(Math.max(ubits - 53, 0)));
      if (top !== 0) {
        ubits = Math.max(ubits - 53, 0) + top.toString(2).length;
        break;
      }
      ubits -= 53;
    }
    const shift = BigInt(Math.max(ubits - 48, 0));
    let uh = Number(u >> shift);
    let vh = Number(v >> shift);
    let A = 1;
    let B = 0;
    let C = 0;
    let D = 1;
    for (;;) {
      if (vh + C === 0 || vh + D === 0) break;
      const q = Math.floor((uh + A) / (vh + C));
      if (q !== Math.floor((uh + B) / (vh + D))) break;
      let t = A - q * C;
      A = C;
      C = t;
      t = B - q * D;
      B = D;
      D = t;
      t = uh - q * vh;
      uh = vh;
      vh = t;
    }
    if (B === 0) {
      const q = u / v;
      const r = u - q * v;
      u = v;
      v = r;
      const x = x0 - q * x1;
      x0 = x1;
      x1 = x;
    } else {
      const bA = BigInt(A);
      const bB = BigInt(B);
      const bC = BigInt(C);
      const bD = BigInt(D);
      const nu = bA * u + bB * v;
      v = bC * u + bD * v;
      u = nu;
      const nx = bA * x0 + bB * x1;
      x1 = bC * x0 + bD * x1;
      x0 = nx;
    }
  }
  while (v !== 0n) {
    const q = u / v;
    const r = u - q * v;
    u = v;
    v = r;
    const x = x0 - q * x1;
    x0 = x1;
    x1 = x;
  }
  if (u !== 1n) throw new CryptoInputError('not_invertible', 'value has no modular inverse');
  x0 %= m;
  return x0 < 0n ? x0 + m : x0;
}

/** Montgomery's trick: inverts every (non-zero) element of `xs` mod m with one inversion. */
export function batchInvMod(xs: bigint[], m: bigint): bigint[] {
  const n = xs.length;
  const prefix = new Array<bigint>(n);
  let acc = 1n;
  for (let i = 0; i < n; i++) {
    prefix[i] = acc;
    acc = (acc * xs[i]!) % m;
  }
  let inv = invMod(acc, m);
  const out = new Array<bigint>(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = (inv * prefix[i]!) % m;
    inv = (inv * xs[i]!) % m;
  }
  return out;
}

/** Signed base-2^w digits of k >= 0, least significant first, each in [-2^(w-1), 2^(w-1)]. */
export function signedWindowDigits(k: bigint, w: number, windows: number): Int32Array {
  const digits = new Int32Array(windows);
  const mask = (1n << BigInt(w)) - 1n;
  const full = 1 << w;
  const half = full >> 1;
  const bw = BigInt(w);
  for (let i = 0; i < windows; i++) {
    let d = Number(k & mask);
    k >>= bw;
    if (d > half) {
      d -= full;
      k += 1n;
    }
    digits[i] = d;
  }
  if (k !== 0n) throw new CryptoInputError('range', 'scalar too large for the window table');
  return digits;
}

/** Width-w non-adjacent form of k >= 0, least significant first (odd digits in (-2^(w-1), 2^(w-1))). */
export function wnaf(k: bigint, w: number): Int8Array {
  const out: number[] = [];
  const full = 1 << w;
  const half = full >> 1;
  const mask = BigInt(full - 1);
  while (k > 0n) {
    let d = 0;
    if (k & 1n) {
      d = Number(k & mask);
      if (d >= half) d -= full;
      k -= BigInt(d);
    }
    out.push(d);
    k >>= 1n;
  }
  return Int8Array.from(out);
}

/** Fixed-base window table: entry (i, d) is [d * 2^(w*i)]B in affine form, d = 1..2^(w-1). */
export interface FixedBaseTable {
  w: number;
  windows: number;
  xs: bigint[];
  ys: bigint[];
}

/** A short Weierstrass curve y^2 = x^3 - 3x + b over F_p, with a subgroup of prime order n. */
export class PrimeCurve {
  readonly p: bigint;
  readonly b: bigint;
  readonly n: bigint;
  /** Octets of one coordinate (L = ceil(lg p / 8)). */
  readonly fieldBytes: number;

  constructor(p: bigint, b: bigint, n: bigint) {
    this.p = p;
    this.b = b;
    this.n = n;
    this.fieldBytes = Math.ceil(p.toString(2).length / 8);
  }

  /** Reduces an integer (possibly negative) into [0, p). */
  mod(a: bigint): bigint {
    const r = a % this.p;
    return r < 0n ? r + this.p : r;
  }

  isOnCurve(P: Affine): boolean {
    const { p } = this;
    if (P.x < 0n || P.x >= p || P.y < 0n || P.y >= p) return false;
    const lhs = (P.y * P.y) % p;
    const rhs = this.mod(((P.x * P.x - 3n) * P.x + this.b) % p);
    return lhs === rhs;
  }

  /** Parses an uncompressed point 0x04 || x || y (RFC 5480 2.2); throws CryptoInputError if invalid. */
  decodePoint(what: string, bytes: Uint8Array): Affine {
    const L = this.fieldBytes;
    if (!(bytes instanceof Uint8Array) || bytes.length !== 2 * L + 1) {
      throw new CryptoInputError('length', `${what} must be ${2 * L + 1} octets (0x04 || x || y)`);
    }
    if (bytes[0] !== 0x04) throw new CryptoInputError('point_format', `${what} is not an uncompressed point`);
    const x = BigInt(`0x${Buffer.from(bytes.subarray(1, 1 + L)).toString('hex')}`);
    const y = BigInt(`0x${Buffer.from(bytes.subarray(1 + L)).toString('hex')}`);
    const P = { x, y };
    if (!this.isOnCurve(P)) throw new CryptoInputError('not_on_curve', `${what} is not a point on the curve`);
    return P;
  }

  /** Uncompressed encoding 0x04 || x || y with L-octet coordinates. */
  encodePoint(P: Affine): Uint8Array {
    const L = this.fieldBytes;
    const out = new Uint8Array(2 * L + 1);
    out[0] = 0x04;
    out.set(Buffer.from(P.x.toString(16).padStart(2 * L, '0'), 'hex'), 1);
    out.set(Buffer.from(P.y.toString(16).padStart(2 * L, '0'), 'hex'), 1 + L);
    return out;
  }

  /** Point doubling, a = -3 (dbl-2001-b). */
  dbl(P: Jacobian): Jacobian {
    const { p } = this;
    if (P.z === 0n || P.y === 0n) return INFINITY;
    const delta = (P.z * P.z) % p;
    const gamma = (P.y * P.y) % p;
    const beta = (P.x * gamma) % p;
    const alpha = (3n * (P.x - delta) * (P.x + delta)) % p;
    const x3 = this.mod(alpha * alpha - 8n * beta);
    const z3 = this.mod((P.y + P.z) ** 2n - gamma - delta);
    const y3 = this.mod(alpha * (4n * beta - x3) - 8n * ((gamma * gamma) % p));
    return { x: x3, y: y3, z: z3 };
  }

  /** Jacobian + affine addition (madd-2007-bl), handling doubling and infinity. */
  addMixed(P: Jacobian, Q: Affine): Jacobian {
    const { p } = this;
    if (P.z === 0n) return { x: Q.x, y: Q.y, z: 1n };
    const z1z1 = (P.z * P.z) % p;
    const u2 = (Q.x * z1z1) % p;
    const s2 = (((Q.y * P.z) % p) * z1z1) % p;
    const h = this.mod(u2 - P.x);
    const rr = this.mod(2n * (s2 - P.y));
    if (h === 0n) return rr === 0n ? this.dbl({ x: Q.x, y: Q.y, z: 1n }) : INFINITY;
    const hh = (h * h) % p;
    const i = 4n * hh;
    const j = (h * i) % p;
    const v = (P.x * i) % p;
    const x3 = this.mod(rr * rr - j - 2n * v);
    const y3 = this.mod(rr * (v - x3) - 2n * P.y * j);
    const z3 = (2n * P.z * h) % p;
    return { x: x3, y: y3, z: z3 };
  }

  /** Jacobian + Jacobian addition (add-2007-bl), handling doubling and infinity. */
  add(P: Jacobian, Q: Jacobian): Jacobian {
    const { p } = this;
    if (P.z === 0n) return Q;
    if (Q.z === 0n) return P;
    const z1z1 = (P.z * P.z) % p;
    const z2z2 = (Q.z * Q.z) % p;
    const u1 = (P.x * z2z2) % p;
    const u2 = (Q.x * z1z1) % p;
    const s1 = (((P.y * Q.z) % p) * z2z2) % p;
    const s2 = (((Q.y * P.z) % p) * z1z1) % p;
    const h = this.mod(u2 - u1);
    const rr = this.mod(2n * (s2 - s1));
    if (h === 0n) return rr === 0n ? this.dbl(P) : INFINITY;
    const i = (4n * h * h) % p;
    const j = (h * i) % p;
    const v = (u1 * i) % p;
    const x3 = this.mod(rr * rr - j - 2n * v);
    const y3 = this.mod(rr * (v - x3) - 2n * s1 * j);
    const z3 = (2n * ((P.z * Q.z) % p) * h) % p;
    return { x: x3, y: y3, z: z3 };
  }

  neg(P: Jacobian): Jacobian {
    return P.z === 0n ? P : { x: P.x, y: P.y === 0n ? 0n : this.p - P.y, z: P.z };
  }

  /** Affine form, or null for the point at infinity. */
  toAffine(P: Jacobian): Affine | null {
    if (P.z === 0n) return null;
    if (P.z === 1n) return { x: P.x, y: P.y };
    const { p } = this;
    const zi = invMod(P.z, p);
    const zi2 = (zi * zi) % p;
    return { x: (P.x * zi2) % p, y: (((P.y * zi2) % p) * zi) % p };
  }

  /** Affine forms of many finite Jacobian points with one inversion. */
  batchToAffine(points: Jacobian[]): Affine[] {
    const { p } = this;
    const inv = batchInvMod(
      points.map((P) => P.z),
      p,
    );
    return points.map((P, k) => {
      const zi = inv[k]!;
      const zi2 = (zi * zi) % p;
      return { x: (P.x * zi2) % p, y: (((P.y * zi2) % p) * zi) % p };
    });
  }

  equalJacobianAffine(P: Jacobian, Q: Affine): boolean {
    if (P.z === 0n) return false;
    const { p } = this;
    const z2 = (P.z * P.z) % p;
    return (Q.x * z2) % p === P.x && (((Q.y * z2) % p) * P.z) % p === P.y;
  }

  /** Builds the fixed-base table of B for scalars below 2^bits, window width w (signed digits). */
  fixedBaseTable(B: Affine, w: number, bits: number = this.n.toString(2).length): FixedBaseTable {
    const windows = Math.ceil(bits / w) + 1;
    const half = 1 << (w - 1);
    const xs = new Array<bigint>(windows * half);
    const ys = new Array<bigint>(windows * half);
    let base: Affine = B;
    for (let i = 0; i < windows; i++) {
      const jac: Jacobian[] = [];
      let acc: Jacobian = this.dbl({ x: base.x, y: base.y, z: 1n });
      for (let d = 2; d <= half; d++) {
        if (d > 2) acc = this.addMixed(acc, base);
        jac.push(acc);
      }
      jac.push(this.dbl(acc));
      const aff = this.batchToAffine(jac);
      xs[i * half] = base.x;
      ys[i * half] = base.y;
      for (let d = 2; d <= half; d++) {
        xs[i * half + d - 1] = aff[d - 2]!.x;
        ys[i * half + d - 1] = aff[d - 2]!.y;
      }
      base = aff[aff.length - 1]!;
    }
    return { w, windows, xs, ys };
  }

  /** Adds [k]B into acc using B's fixed-base table (no doublings). */
  mulFixedAdd(acc: Jacobian, table: FixedBaseTable, k: bigint): Jacobian {
    const { w, windows, xs, ys } = table;
    const half = 1 << (w - 1);
    const digits = signedWindowDigits(k, w, windows);
    const p = this.p;
    for (let i = 0; i < windows; i++) {
      const d = digits[i]!;
      if (d === 0) continue;
      const idx = i * half + (d > 0 ? d : -d) - 1;
      const y = ys[idx]!;
      acc = this.addMixed(acc, { x: xs[idx]!, y: d > 0 ? y : p - y });
    }
    return acc;
  }

  /** Appends to `out` the table points whose sum is [k]B (one per non-zero signed digit). */
  collectFixed(out: Affine[], table: FixedBaseTable, k: bigint): Affine[] {
    const { w, windows, xs, ys } = table;
    const half = 1 << (w - 1);
    const digits = signedWindowDigits(k, w, windows);
    for (let i = 0; i < windows; i++) {
      const d = digits[i]!;
      if (d === 0) continue;
      const idx = i * half + (d > 0 ? d : -d) - 1;
      const y = ys[idx]!;
      out.push({ x: xs[idx]!, y: d > 0 ? y : this.p - y });
    }
    return out;
  }

  /**
   * Sum of many affine points: pairwise affine additions level by level with one batch inversion per
   * level (6 multiplications per addition instead of 11 for a mixed Jacobian addition) while a level has
   * enough pairs to pay for its inversion, then Jacobian mixed additions. Returns Jacobian.
   */
  sumAffine(points: Affine[], minPairs = 10): Jacobian {
    const { p } = this;
    let pts = points;
    while (pts.length >> 1 >= minPairs) {
      const pairs = pts.length >> 1;
      const dx = new Array<bigint>(pairs);
      let special = false;
      for (let k = 0; k < pairs; k++) {
        const d = pts[2 * k + 1]!.x - pts[2 * k]!.x;
        if (d === 0n) special = true;
        dx[k] = d < 0n ? d + p : d;
      }
      if (special) break; // equal or opposite x: finish with the general Jacobian path
      const inv = batchInvMod(dx, p);
      const next: Affine[] = new Array(pairs + (pts.length & 1));
      for (let k = 0; k < pairs; k++) {
        const P1 = pts[2 * k]!;
        const P2 = pts[2 * k + 1]!;
        const l = ((P2.y - P1.y) * inv[k]!) % p;
        const x3 = this.mod(l * l - P1.x - P2.x);
        next[k] = { x: x3, y: this.mod(l * (P1.x - x3) - P1.y) };
      }
      if (pts.length & 1) next[pairs] = pts[pts.length - 1]!;
      pts = next;
    }
    let acc: Jacobian = INFINITY;
    for (const P of pts) acc = this.addMixed(acc, P);
    return acc;
  }

  /** [k]B from B's fixed-base table. */
  mulFixed(table: FixedBaseTable, k: bigint): Jacobian {
    return this.mulFixedAdd(INFINITY, table, k);
  }

  /** [k]P for a variable base P: width-5 NAF, odd multiples made affine with one batch inversion. */
  mul(P: Affine, k: bigint): Jacobian {
    if (k === 0n) return INFINITY;
    const w = 5;
    const jac: Jacobian[] = [{ x: P.x, y: P.y, z: 1n }];
    const twoP = this.dbl(jac[0]!);
    for (let i = 1; i < 1 << (w - 2); i++) jac.push(this.add(jac[i - 1]!, twoP));
    // P of small order would make a multiple infinite: keep the Jacobian table then
    const odd = jac.some((J) => J.z === 0n) ? null : this.batchToAffine(jac);
    const digits = wnaf(k, w);
    let acc: Jacobian = INFINITY;
    const p = this.p;
    for (let i = digits.length - 1; i >= 0; i--) {
      acc = this.dbl(acc);
      const d = digits[i]!;
      if (d === 0) continue;
      const idx = ((d > 0 ? d : -d) - 1) >> 1;
      if (odd) {
        const T = odd[idx]!;
        acc = this.addMixed(acc, d > 0 ? T : { x: T.x, y: p - T.y });
      } else acc = this.add(acc, d > 0 ? jac[idx]! : this.neg(jac[idx]!));
    }
    return acc;
  }
}

// ---------------------------------------------------------------------------------------------------------
// F_p^2 = F_p[i] (i^2 = -1) and PF_p = (F_p^2)* / (F_p)*, RFC 6508 2.1; the pairing of RFC 6508 3.2.

/** Element a + i*b of F_p^2 (a class of PF_p when read up to F_p* scalars). */
export interface Fp2 {
  a: bigint;
  b: bigint;
}

/** Representative in F_p of a PF_p element a + i*b: b/a (RFC 6508 3.2). */
export function pfRepresentative(t: Fp2, p: bigint): bigint {
  if (t.a === 0n) throw new CryptoInputError('pf_order_two', 'PF_p element of order 2 has no representative');
  return (t.b * invMod(t.a, p)) % p;
}

/** Fixed-base table for PF_p exponentiation: entry (i, d) is the representative of g^(d * 2^(w*i)). */
export interface PfTable {
  w: number;
  windows: number;
  reps: bigint[];
}

/** Builds the window table of the PF_p element represented by g (that is, the class of 1 + i*g). */
export function pfFixedBaseTable(g: bigint, p: bigint, w: number, bits: number): PfTable {
  const windows = Math.ceil(bits / w) + 1;
  const half = 1 << (w - 1);
  const reps = new Array<bigint>(windows * half);
  let base = g;
  for (let i = 0; i < windows; i++) {
    // (a + ib)(1 + i*base) = (a - b*base) + i(b + a*base)
    const as: bigint[] = [];
    const bs: bigint[] = [];
    let a = 1n;
    let b = base;
    for (let d = 2; d <= half; d++) {
      const na = (a - b * base) % p;
      const nb = (b + a * base) % p;
      a = na < 0n ? na + p : na;
      b = nb < 0n ? nb + p : nb;
      as.push(a);
      bs.push(b);
    }
    // next base = (a + ib)^2 with a + ib = g^(half * 2^(w i))
    const sa = ((a + b) * (a - b)) % p;
    as.push(sa < 0n ? sa + p : sa);
    bs.push((2n * a * b) % p);
    const inv = batchInvMod(as, p);
    reps[i * half] = base;
    for (let d = 2; d <= half; d++) reps[i * half + d - 1] = (bs[d - 2]! * inv[d - 2]!) % p;
    base = (bs[bs.length - 1]! * inv[inv.length - 1]!) % p;
  }
  return { w, windows, reps };
}

/** g^k in PF_p from g's table, returned as an (unnormalised) F_p^2 element. */
export function pfPowFixed(table: PfTable, k: bigint, p: bigint): Fp2 {
  const { w, windows, reps } = table;
  const half = 1 << (w - 1);
  const digits = signedWindowDigits(k, w, windows);
  let a = 1n;
  let b = 0n;
  for (let i = 0; i < windows; i++) {
    const d = digits[i]!;
    if (d === 0) continue;
    const r = reps[i * half + (d > 0 ? d : -d) - 1]!;
    const x = d > 0 ? r : p - r; // inverse of the class of 1 + ix is the class of 1 - ix
    const na = (a - b * x) % p;
    const nb = (b + a * x) % p;
    a = na < 0n ? na + p : na;
    b = nb;
  }
  return { a, b: b < 0n ? b + p : b };
}

/** g^k in PF_p by square-and-multiply on the class of 1 + i*g (the plain "before" method). */
export function pfPow(g: bigint, k: bigint, p: bigint): Fp2 {
  let a = 1n;
  let b = 0n;
  const bits = k.toString(2);
  for (const bit of bits) {
    const sa = ((a + b) * (a - b)) % p;
    b = (2n * a * b) % p;
    a = sa < 0n ? sa + p : sa;
    if (bit === '1') {
      const na = (a - b * g) % p;
      b = (b + a * g) % p;
      a = na < 0n ? na + p : na;
    }
  }
  return { a, b: b < 0n ? b + p : b };
}

/**
 * Miller-loop lines of the RFC 6508 3.2 pairing for a fixed first argument T on y^2 = x^3 - 3x:
 * one line per step over the bits of q-1 (doubling, then addition when the bit is 1), each line
 * normalised so that, evaluated at [i]Q, it is (A*Q_x + B) + i*Q_y up to an F_p scalar.
 */
export interface PairingLines {
  /** Non-adjacent-form digits of q-1 after the most significant one, most significant first. */
  bits: Int8Array;
  A: bigint[];
  B: bigint[];
}

/** Precomputes the Miller-loop lines of <T, .> (RFC 6508 3.2) in Jacobian coordinates, one batch inversion. */
export function pairingLines(curve: PrimeCurve, T: Affine, q: bigint): PairingLines {
  const { p } = curve;
  // NAF of q-1: fewer addition steps than binary; the extra vertical lines lie in F_p and vanish in PF_p.
  const bits = wnaf(q - 1n, 2)
    .reverse()
    .subarray(1);
  const negTy = p - T.y;
  const As: bigint[] = [];
  const Bs: bigint[] = [];
  const Cs: bigint[] = [];
  let X = T.x;
  let Y = T.y;
  let Z = 1n;
  for (const bit of bits) {
    // doubling: gradient 3(x^2-1)/(2y); line scaled by 2*Y*Z^3: A = alpha*Z^2, B = alpha*X - 2Y^2, C = 2YZ*Z^2
    const delta = (Z * Z) % p;
    const gamma = (Y * Y) % p;
    const beta = (X * gamma) % p;
    const alpha = (3n * (X - delta) * (X + delta)) % p;
    const z3 = (2n * Y * Z) % p;
    As.push(curve.mod(alpha * delta));
    Bs.push(curve.mod(alpha * X - 2n * gamma));
    Cs.push((z3 * delta) % p);
    const x3 = curve.mod(alpha * alpha - 8n * beta);
    Y = curve.mod(alpha * (4n * beta - x3) - 8n * ((gamma * gamma) % p));
    X = x3;
    Z = z3;
    if (bit !== 0) {
      // addition of +-T: gradient (C_y - T_y)/(C_x - T_x); line through +-T scaled by 2*Z*H
      const ty = bit > 0 ? T.y : negTy;
      const z1z1 = (Z * Z) % p;
      const u2 = (T.x * z1z1) % p;
      const s2 = (((ty * Z) % p) * z1z1) % p;
      const h = curve.mod(u2 - X);
      const rr = curve.mod(2n * (s2 - Y));
      if (h === 0n) throw new CryptoInputError('pairing_point', 'pairing argument not of order q');
      const zz3 = (2n * Z * h) % p;
      As.push(rr);
      Bs.push(curve.mod(rr * T.x - ty * zz3));
      Cs.push(zz3);
      const hh = (h * h) % p;
      const i4 = 4n * hh;
      const j = (h * i4) % p;
      const v = (X * i4) % p;
      const x3 = curve.mod(rr * rr - j - 2n * v);
      Y = curve.mod(rr * (v - x3) - 2n * Y * j);
      X = x3;
      Z = zz3;
    }
  }
  const inv = batchInvMod(Cs, p);
  for (let k = 0; k < As.length; k++) {
    As[k] = (As[k]! * inv[k]!) % p;
    Bs[k] = (Bs[k]! * inv[k]!) % p;
  }
  return { bits, A: As, B: Bs };
}

/** Evaluates precomputed lines at [i]Q and applies the final power c = (p+1)/q (RFC 6508 3.2). */
export function pairingEvaluate(lines: PairingLines, Q: Affine, p: bigint, c: bigint): Fp2 {
  const { bits, A, B } = lines;
  const qx = Q.x;
  const qy = Q.y;
  let v0 = 1n;
  let v1 = 0n;
  let k = 0;
  for (const bit of bits) {
    // v = v^2 * ((A*Q_x + B) + i*Q_y), Karatsuba for the product
    let s0 = ((v0 + v1) * (v0 - v1)) % p;
    const s1 = (2n * v0 * v1) % p;
    let a = (A[k]! * qx + B[k]!) % p;
    k++;
    let t0 = s0 * a;
    let t1 = s1 * qy;
    v0 = (t0 - t1) % p;
    v1 = ((s0 + s1) * (a + qy) - t0 - t1) % p;
    if (bit !== 0) {
      a = (A[k]! * qx + B[k]!) % p;
      k++;
      s0 = v0;
      t0 = s0 * a;
      t1 = v1 * qy;
      const n1 = ((s0 + v1) * (a + qy) - t0 - t1) % p;
      v0 = (t0 - t1) % p;
      v1 = n1;
    }
  }
  if (v0 < 0n) v0 += p;
  if (v1 < 0n) v1 += p;
  return fp2Pow({ a: v0, b: v1 }, c, p);
}

/** t^e in F_p^2 by square-and-multiply (used for the small final power c). */
export function fp2Pow(t: Fp2, e: bigint, p: bigint): Fp2 {
  let ra = 1n;
  let rb = 0n;
  for (const bit of e.toString(2)) {
    const sa = ((ra + rb) * (ra - rb)) % p;
    rb = (2n * ra * rb) % p;
    ra = sa;
    if (bit === '1') {
      const na = (ra * t.a - rb * t.b) % p;
      rb = (ra * t.b + rb * t.a) % p;
      ra = na;
    }
  }
  return { a: ra < 0n ? ra + p : ra, b: rb < 0n ? rb + p : rb };
}
