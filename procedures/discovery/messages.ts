// Discovery message formats, version 1 (docs/discovery.md): the payload of PC5 frames of type discovery_announce,
// discovery_request and discovery_response. prosec's own binary layout; every field is length-checked at decode.

export const DISCOVERY_VERSION = 1;
/** Octets of the over-the-air restricted identifier (HMAC-SHA-256 truncated; TR 33.833 solution #2.1). */
export const ROTATING_ID_BYTES = 16;
/** Octets of the discovery MIC (HMAC-SHA-256 truncated, as the 32-bit MIC of TS 33.303 6.1.3). */
export const MIC_BYTES = 4;
export const NONCE_BYTES = 8;
export const MAX_META_BYTES = 64;
export const MAX_CODE_BYTES = 64;
export const MAX_AUTH_BYTES = 512;

export const DISCOVERY_KINDS = {
  /** Restricted announcement, option 1: explicit nonce in the message. */
  restricted_nonce: 0x01,
  /** Restricted announcement, option 2: shared UTC-based time slot (8 LSBs of the counter in the message). */
  restricted_slot: 0x02,
  /** Open announcement signed with the time slot (solution #2.3). */
  open: 0x03,
  /** Model B discovery request (solution #2.2). */
  request: 0x04,
  /** Model B discovery response (solution #2.2). */
  response: 0x05,
} as const;

/** True for the kind octet of a restricted announcement (option 1 or 2), as opposed to open or Model B messages. */
export function isRestrictedKind(kind: number | undefined): boolean {
  return kind === DISCOVERY_KINDS.restricted_nonce || kind === DISCOVERY_KINDS.restricted_slot;
}
export type DiscoveryKind = keyof typeof DISCOVERY_KINDS;

/** Signature algorithms of open discovery and of signed request/response. */
export const SIGNATURE_ALGS = { 'ecdsa-p256': 0x01, eccsi: 0x02 } as const;
export type SignatureAlg = keyof typeof SIGNATURE_ALGS;
/** Authentication of a request/response: a MIC from a shared secret, or a signature. */
export const AUTH_MODES = { mic: 0x01, signature: 0x02 } as const;
export type AuthMode = keyof typeof AUTH_MODES;

export interface RestrictedAnnounce {
  kind: 'restricted_nonce' | 'restricted_slot';
  /** Option 1: the nonce (8 octets); option 2: one octet, the 8 LSBs of the UTC-based counter. */
  fresh: Uint8Array;
  rotatingId: Uint8Array;
  /** Application metadata, integrity protected by the MIC (e.g. how to reach the announcer). */
  meta: Uint8Array;
  mic: Uint8Array;
}

export interface OpenAnnounce {
  kind: 'open';
  /** UTC-based counter (time slot number), 32 bits. */
  slot: number;
  nonce: Uint8Array;
  /** ProSe Application Code. */
  code: Uint8Array;
  alg: SignatureAlg;
  signature: Uint8Array;
}

export interface DiscoveryRequest {
  kind: 'request';
  mode: AuthMode;
  slot: number;
  nonce: Uint8Array;
  /** mic mode: rotating query ID; signature mode: the requester's ProSe Application Code. */
  query: Uint8Array;
  /** signature mode: the code being looked for (empty in mic mode). */
  target: Uint8Array;
  auth: Uint8Array;
}

export interface DiscoveryResponse {
  kind: 'response';
  mode: AuthMode;
  slot: number;
  requestNonce: Uint8Array;
  nonce: Uint8Array;
  /** mic mode: rotating response ID; signature mode: the responder's ProSe Application Code. */
  responder: Uint8Array;
  auth: Uint8Array;
}

export type DiscoveryMessage = RestrictedAnnounce | OpenAnnounce | DiscoveryRequest | DiscoveryResponse;

export class DiscoveryFormatError extends Error {
  override readonly name = 'DiscoveryFormatError';
}

class Writer {
  private readonly parts: Uint8Array[] = [];
  u8(v: number): this {
    this.parts.push(Uint8Array.of(v & 0xff));
    return this;
  }
  u16(v: number): this {
    this.parts.push(Uint8Array.of((v >>> 8) & 0xff, v & 0xff));
    return this;
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0);
    this.parts.push(b);
    return this;
  }
  bytes(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }
  var8(b: Uint8Array, max: number): this {
    if (b.length > max) throw new DiscoveryFormatError(`field longer than ${max} octets`);
    return this.u8(b.length).bytes(b);
  }
  var16(b: Uint8Array, max: number): this {
    if (b.length > max) throw new DiscoveryFormatError(`field longer than ${max} octets`);
    return this.u16(b.length).bytes(b);
  }
  done(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

class Reader {
  private off = 0;
  constructor(private readonly b: Uint8Array) {}
  take(n: number): Uint8Array {
    if (this.off + n > this.b.length) throw new DiscoveryFormatError('truncated');
    const out = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
  u8(): number {
    return this.take(1)[0]!;
  }
  u16(): number {
    const t = this.take(2);
    return (t[0]! << 8) | t[1]!;
  }
  u32(): number {
    const t = this.take(4);
    return new DataView(t.buffer, t.byteOffset, 4).getUint32(0);
  }
  var8(max: number): Uint8Array {
    const n = this.u8();
    if (n > max) throw new DiscoveryFormatError('field too long');
    return this.take(n);
  }
  var16(max: number): Uint8Array {
    const n = this.u16();
    if (n > max) throw new DiscoveryFormatError('field too long');
    return this.take(n);
  }
  end(): void {
    if (this.off !== this.b.length) throw new DiscoveryFormatError('trailing octets');
  }
}

function enumKey<T extends Record<string, number>>(table: T, v: number): keyof T {
  for (const [k, x] of Object.entries(table)) if (x === v) return k;
  throw new DiscoveryFormatError('unknown enumerated value');
}

/** The octets covered by a restricted announcement's MIC: everything before the MIC. */
export function encodeDiscovery(m: DiscoveryMessage): Uint8Array {
  const w = new Writer().u8(DISCOVERY_VERSION).u8(DISCOVERY_KINDS[m.kind]);
  switch (m.kind) {
    case 'restricted_nonce':
    case 'restricted_slot':
      if (m.fresh.length !== (m.kind === 'restricted_nonce' ? NONCE_BYTES : 1))
        throw new DiscoveryFormatError('bad fresh value length');
      if (m.rotatingId.length !== ROTATING_ID_BYTES || m.mic.length !== MIC_BYTES)
        throw new DiscoveryFormatError('bad ID or MIC length');
      return w.bytes(m.fresh).bytes(m.rotatingId).var8(m.meta, MAX_META_BYTES).bytes(m.mic).done();
    case 'open':
      return w
        .u32(m.slot)
        .bytes(fixed(m.nonce, NONCE_BYTES))
        .var8(m.code, MAX_CODE_BYTES)
        .u8(SIGNATURE_ALGS[m.alg])
        .var16(m.signature, MAX_AUTH_BYTES)
        .done();
    case 'request':
      return w
        .u8(AUTH_MODES[m.mode])
        .u32(m.slot)
        .bytes(fixed(m.nonce, NONCE_BYTES))
        .var8(m.query, MAX_CODE_BYTES)
        .var8(m.target, MAX_CODE_BYTES)
        .var16(m.auth, MAX_AUTH_BYTES)
        .done();
    case 'response':
      return w
        .u8(AUTH_MODES[m.mode])
        .u32(m.slot)
        .bytes(fixed(m.requestNonce, NONCE_BYTES))
        .bytes(fixed(m.nonce, NONCE_BYTES))
        .var8(m.responder, MAX_CODE_BYTES)
        .var16(m.auth, MAX_AUTH_BYTES)
        .done();
  }
}

function fixed(b: Uint8Array, n: number): Uint8Array {
  if (b.length !== n) throw new DiscoveryFormatError(`expected ${n} octets`);
  return b;
}

/** Decodes a discovery payload; throws DiscoveryFormatError on anything malformed (never another error). */
export function decodeDiscovery(bytes: Uint8Array): DiscoveryMessage {
  const r = new Reader(bytes);
  if (r.u8() !== DISCOVERY_VERSION) throw new DiscoveryFormatError('unsupported version');
  const kind = enumKey(DISCOVERY_KINDS, r.u8());
  let m: DiscoveryMessage;
  switch (kind) {
    case 'restricted_nonce':
    case 'restricted_slot': {
      const fresh = r.take(kind === 'restricted_nonce' ? NONCE_BYTES : 1);
      const rotatingId = r.take(ROTATING_ID_BYTES);
      const meta = r.var8(MAX_META_BYTES);
      m = { kind, fresh, rotatingId, meta, mic: r.take(MIC_BYTES) };
      break;
    }
    case 'open': {
      const slot = r.u32();
      const nonce = r.take(NONCE_BYTES);
      const code = r.var8(MAX_CODE_BYTES);
      if (code.length === 0) throw new DiscoveryFormatError('empty code');
      const alg = enumKey(SIGNATURE_ALGS, r.u8());
      m = { kind, slot, nonce, code, alg, signature: r.var16(MAX_AUTH_BYTES) };
      break;
    }
    case 'request': {
      const mode = enumKey(AUTH_MODES, r.u8());
      const slot = r.u32();
      const nonce = r.take(NONCE_BYTES);
      const query = r.var8(MAX_CODE_BYTES);
      const target = r.var8(MAX_CODE_BYTES);
      m = { kind, mode, slot, nonce, query, target, auth: r.var16(MAX_AUTH_BYTES) };
      break;
    }
    case 'response': {
      const mode = enumKey(AUTH_MODES, r.u8());
      const slot = r.u32();
      const requestNonce = r.take(NONCE_BYTES);
      const nonce = r.take(NONCE_BYTES);
      const responder = r.var8(MAX_CODE_BYTES);
      m = { kind, mode, slot, requestNonce, nonce, responder, auth: r.var16(MAX_AUTH_BYTES) };
      break;
    }
  }
  r.end();
  return m;
}

/** The octets a MIC or signature covers: the encoded message with an empty MIC/auth field. */
export function signedPart(m: DiscoveryMessage): Uint8Array {
  if (m.kind === 'restricted_nonce' || m.kind === 'restricted_slot') {
    const full = encodeDiscovery(m);
    return full.subarray(0, full.length - MIC_BYTES);
  }
  if (m.kind === 'open') return encodeDiscovery({ ...m, signature: new Uint8Array(0) });
  if (m.kind === 'request') return encodeDiscovery({ ...m, auth: new Uint8Array(0) });
  return encodeDiscovery({ ...(m as DiscoveryResponse), auth: new Uint8Array(0) });
}

/** UTC-based counter: the time slot number of `nowMs` for a slot length (TS 33.303 6.1.3 UTC-based counter role). */
export function timeSlot(nowMs: number, slotMs: number): number {
  return Math.floor(nowMs / slotMs) >>> 0;
}

/** Freshness window: a slot is fresh when within `tolerance` slots of the receiver's (clock skew allowance). */
export function isFreshSlot(slot: number, nowMs: number, slotMs: number, tolerance = 1): boolean {
  return Math.abs(slot - timeSlot(nowMs, slotMs)) <= tolerance;
}

/** Rejection causes (fixed set: metric label values). */
export const DISCOVERY_REJECT_CAUSES = [
  'malformed',
  'unknown',
  'bad_mic',
  'bad_signature',
  'stale',
  'replay',
] as const;
export type DiscoveryRejectCause = (typeof DISCOVERY_REJECT_CAUSES)[number];

/** A bounded first-in-first-out set of seen values (replay caches). */
export class BoundedSeenSet {
  private readonly set = new Set<string>();
  constructor(private readonly max: number) {}
  has(k: string): boolean {
    return this.set.has(k);
  }
  add(k: string): void {
    this.set.add(k);
    if (this.set.size > this.max) {
      const first = this.set.values().next().value as string;
      this.set.delete(first);
    }
  }
  deleteWhere(pred: (k: string) => boolean): void {
    for (const k of this.set) if (pred(k)) this.set.delete(k);
  }
  get size(): number {
    return this.set.size;
  }
}
