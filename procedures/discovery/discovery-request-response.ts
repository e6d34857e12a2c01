// Model B discovery request / response with integrity and replay protection (TR 33.833 solution #2.2), sans-I/O.
// Two ways to authenticate:
//   'mic':       a shared secret, the target's ProSe Application Key (allocated by the ProSe Function to the
//                target and to the UEs it permits). query/responder IDs rotate (HMAC of the nonces), MIC = 4 octets.
//   'signature': each side signs with its own key; the ProSe Function distributes the public keys.
// Verification of a mic-mode response happens either at the discoverer ('local', it holds the MIC key) or at
// the ProSe Function ('prose-function': the discoverer holds only the ID key and sends a match report over PC3).
// Replay protection: a request carries a UTC-based counter and a nonce (stale slot or a seen nonce is rejected);
// a response is bound to an outstanding request nonce and is accepted once.
import { createHmac, randomBytes } from 'node:crypto';
import { constantTimeEqual, toHex } from '../../crypto-core/bytes.js';
import { DISCOVERY_KEY_PURPOSE, deriveDiscoveryKey } from '../../crypto-core/prose-kdf.js';
import {
  type AuthMode,
  BoundedSeenSet,
  DiscoveryFormatError,
  type DiscoveryMessage,
  type DiscoveryRejectCause,
  type DiscoveryRequest,
  type DiscoveryResponse,
  decodeDiscovery,
  encodeDiscovery,
  isFreshSlot,
  MIC_BYTES,
  NONCE_BYTES,
  ROTATING_ID_BYTES,
  signedPart,
  timeSlot,
} from './messages.js';
import type { DiscoverySigner, DiscoveryVerifier } from './open-discovery.js';
import type { RestrictedCode } from './restricted-discovery.js';

function hmac(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}
function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0);
  return b;
}
function idKey(c: RestrictedCode): Uint8Array {
  return deriveDiscoveryKey(c.key, c.code, DISCOVERY_KEY_PURPOSE.ROTATING_ID);
}
function micKey(c: RestrictedCode): Uint8Array {
  return deriveDiscoveryKey(c.key, c.code, DISCOVERY_KEY_PURPOSE.MIC);
}
/** Rotating query ID: HMAC(K_id, 0x03 || counter || nonce)[0..16]. */
function queryId(kId: Uint8Array, slot: number, nonce: Uint8Array): Uint8Array {
  return hmac(kId, Uint8Array.of(0x03), u32(slot), nonce).subarray(0, ROTATING_ID_BYTES);
}
/** Rotating responder ID: HMAC(K_id, 0x04 || request nonce || response nonce)[0..16]. */
function responderId(kId: Uint8Array, requestNonce: Uint8Array, nonce: Uint8Array): Uint8Array {
  return hmac(kId, Uint8Array.of(0x04), requestNonce, nonce).subarray(0, ROTATING_ID_BYTES);
}
function mic(kMic: Uint8Array, m: DiscoveryMessage): Uint8Array {
  return hmac(kMic, signedPart(m)).subarray(0, MIC_BYTES);
}

type Decoded<K> = { ok: true; m: K } | { ok: false; cause: DiscoveryRejectCause };
function decodeAs<K extends 'request' | 'response'>(
  payload: Uint8Array,
  kind: K,
): Decoded<K extends 'request' ? DiscoveryRequest : DiscoveryResponse> {
  try {
    const m = decodeDiscovery(payload);
    if (m.kind !== kind) return { ok: false, cause: 'malformed' };
    return { ok: true, m: m as K extends 'request' ? DiscoveryRequest : DiscoveryResponse };
  } catch (e) {
    if (e instanceof DiscoveryFormatError) return { ok: false, cause: 'malformed' };
    throw e;
  }
}

/** What the discoverer knows about the UE it looks for. */
export interface RequestTarget {
  owner: string;
  code: Uint8Array;
  /** mic mode, 'local': the full ProSe Application Key. */
  key?: Uint8Array;
  /** mic mode, 'prose-function': only the rotating-ID key (K_id) handed out by the ProSe Function. */
  idKey?: Uint8Array;
  /** signature mode: the target's public key. */
  verifier?: DiscoveryVerifier;
}

export type RequesterEvent =
  | { type: 'match'; owner: string }
  /** mic mode with the ProSe Function in the loop: send this report over PC3; the PF checks the MIC. */
  | { type: 'match_report'; owner: string; code: Uint8Array; requestNonce: Uint8Array; response: Uint8Array }
  | { type: 'rejected'; cause: DiscoveryRejectCause };

interface Outstanding {
  target: RequestTarget;
  kId?: Uint8Array;
  kMic?: Uint8Array;
  expiresMs: number;
}

/** The discoverer UE (Model B). */
export class DiscoveryRequester {
  private readonly outstanding = new Map<string, Outstanding>();
  private readonly answered = new BoundedSeenSet(4096);

  constructor(
    private readonly opts: {
      mode: AuthMode;
      slotMs: number;
      verifyAt?: 'local' | 'prose-function';
      /** signature mode: own code and signing key. */
      ownCode?: Uint8Array;
      signer?: DiscoverySigner;
      timeoutMs?: number;
    },
  ) {}

  request(target: RequestTarget, nowMs: number): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES);
    const slot = timeSlot(nowMs, this.opts.slotMs);
    const o: Outstanding = { target, expiresMs: nowMs + (this.opts.timeoutMs ?? 5000) };
    let m: DiscoveryRequest;
    if (this.opts.mode === 'mic') {
      const full = target.key ? { code: target.code, key: target.key } : undefined;
      o.kId = full ? idKey(full) : target.idKey;
      if (!o.kId) throw new Error('mic mode needs the target key or its ID key');
      if (full) o.kMic = micKey(full);
      m = {
        kind: 'request',
        mode: 'mic',
        slot,
        nonce,
        query: queryId(o.kId, slot, nonce),
        target: new Uint8Array(0),
        auth: new Uint8Array(0),
      };
      // The query ID is the request's MIC: a keyed hash of every field (counter, nonce) under K_id, which only
      // the target and the UEs it permits hold; so a discoverer without the MIC key (PF in the loop) can ask too.
    } else {
      if (!this.opts.signer || !this.opts.ownCode)
        throw new Error('signature mode needs a signer and own code');
      m = {
        kind: 'request',
        mode: 'signature',
        slot,
        nonce,
        query: this.opts.ownCode,
        target: target.code,
        auth: new Uint8Array(0),
      };
      m.auth = this.opts.signer.sign(signedPart(m));
    }
    for (const [k, v] of this.outstanding) if (v.expiresMs < nowMs) this.outstanding.delete(k);
    this.outstanding.set(toHex(nonce), o);
    return encodeDiscovery(m);
  }

  receive(payload: Uint8Array, nowMs: number): RequesterEvent {
    const d = decodeAs(payload, 'response');
    if (!d.ok) return { type: 'rejected', cause: d.cause };
    const r = d.m;
    const key = toHex(r.requestNonce);
    const o = this.outstanding.get(key);
    if (!o || o.expiresMs < nowMs) {
      return { type: 'rejected', cause: this.answered.has(key) ? 'replay' : 'unknown' };
    }
    if (r.mode !== this.opts.mode) return { type: 'rejected', cause: 'malformed' };
    if (!isFreshSlot(r.slot, nowMs, this.opts.slotMs)) return { type: 'rejected', cause: 'stale' };
    if (r.mode === 'mic') {
      if (!constantTimeEqual(responderId(o.kId!, r.requestNonce, r.nonce), r.responder))
        return { type: 'rejected', cause: 'unknown' };
      if (!o.kMic) {
        this.complete(key);
        return {
          type: 'match_report',
          owner: o.target.owner,
          code: o.target.code,
          requestNonce: r.requestNonce,
          response: payload,
        };
      }
      if (!constantTimeEqual(mic(o.kMic, r), r.auth)) return { type: 'rejected', cause: 'bad_mic' };
    } else {
      if (!constantTimeEqual(r.responder, o.target.code)) return { type: 'rejected', cause: 'unknown' };
      if (!o.target.verifier?.verify(signedPart(r), r.auth))
        return { type: 'rejected', cause: 'bad_signature' };
    }
    this.complete(key);
    return { type: 'match', owner: o.target.owner };
  }

  private complete(key: string): void {
    this.outstanding.delete(key);
    this.answered.add(key);
  }
}

export type ResponderEvent =
  | { type: 'respond'; payload: Uint8Array; requester?: string }
  | { type: 'rejected'; cause: DiscoveryRejectCause };

/** The discoveree UE (Model B): answers requests for its own code from permitted discoverers. */
export class DiscoveryResponder {
  private readonly kId?: Uint8Array;
  private readonly kMic?: Uint8Array;
  private readonly seen = new BoundedSeenSet(8192);

  constructor(
    private readonly opts: {
      mode: AuthMode;
      slotMs: number;
      /** mic mode: own ProSe Application Code and Key. */
      own?: RestrictedCode;
      /** signature mode: own code, signing key, and the permitted requesters' public keys by code (hex). */
      ownCode?: Uint8Array;
      signer?: DiscoverySigner;
      requesters?: Map<string, { owner: string; verifier: DiscoveryVerifier }>;
    },
  ) {
    if (opts.own) {
      this.kId = idKey(opts.own);
      this.kMic = micKey(opts.own);
    }
  }

  receive(payload: Uint8Array, nowMs: number): ResponderEvent {
    const d = decodeAs(payload, 'request');
    if (!d.ok) return { type: 'rejected', cause: d.cause };
    const q = d.m;
    if (q.mode !== this.opts.mode) return { type: 'rejected', cause: 'malformed' };
    let requester: string | undefined;
    if (q.mode === 'mic') {
      if (!this.kId || !this.kMic) return { type: 'rejected', cause: 'unknown' };
      if (!constantTimeEqual(queryId(this.kId, q.slot, q.nonce), q.query))
        return { type: 'rejected', cause: 'unknown' };
      if (!isFreshSlot(q.slot, nowMs, this.opts.slotMs)) return { type: 'rejected', cause: 'stale' };
      if (q.auth.length !== 0) return { type: 'rejected', cause: 'malformed' };
      if (this.seen.has(toHex(q.nonce))) return { type: 'rejected', cause: 'replay' };
    } else {
      if (!this.opts.ownCode || !constantTimeEqual(q.target, this.opts.ownCode))
        return { type: 'rejected', cause: 'unknown' };
      const who = this.opts.requesters?.get(toHex(q.query));
      if (!who) return { type: 'rejected', cause: 'unknown' };
      if (!isFreshSlot(q.slot, nowMs, this.opts.slotMs)) return { type: 'rejected', cause: 'stale' };
      if (this.seen.has(toHex(q.nonce))) return { type: 'rejected', cause: 'replay' };
      if (!who.verifier.verify(signedPart(q), q.auth)) return { type: 'rejected', cause: 'bad_signature' };
      requester = who.owner;
    }
    this.seen.add(toHex(q.nonce));
    const nonce = randomBytes(NONCE_BYTES);
    const r: DiscoveryResponse = {
      kind: 'response',
      mode: q.mode,
      slot: timeSlot(nowMs, this.opts.slotMs),
      requestNonce: q.nonce,
      nonce,
      responder: q.mode === 'mic' ? responderId(this.kId!, q.nonce, nonce) : this.opts.ownCode!,
      auth: new Uint8Array(0),
    };
    r.auth = q.mode === 'mic' ? mic(this.kMic!, r) : this.opts.signer!.sign(signedPart(r));
    return { type: 'respond', payload: encodeDiscovery(r), ...(requester ? { requester } : {}) };
  }
}

/**
 * ProSe Function side of a match report (mic mode, PF in the loop): checks the response's MIC with the target's
 * ProSe Application Key and that it answers the reported request nonce. The PF also applies its replay cache.
 */
export function verifyMatchReport(
  target: RestrictedCode,
  requestNonce: Uint8Array,
  response: Uint8Array,
  nowMs: number,
  slotMs: number,
): { ok: true } | { ok: false; cause: DiscoveryRejectCause } {
  const d = decodeAs(response, 'response');
  if (!d.ok) return { ok: false, cause: d.cause };
  const r = d.m;
  if (r.mode !== 'mic' || !constantTimeEqual(r.requestNonce, requestNonce))
    return { ok: false, cause: 'malformed' };
  if (!isFreshSlot(r.slot, nowMs, slotMs)) return { ok: false, cause: 'stale' };
  if (!constantTimeEqual(responderId(idKey(target), r.requestNonce, r.nonce), r.responder))
    return { ok: false, cause: 'unknown' };
  if (!constantTimeEqual(mic(micKey(target), r), r.auth)) return { ok: false, cause: 'bad_mic' };
  return { ok: true };
}

/** The rotating-ID key a ProSe Function hands to a discoverer that must not hold the MIC key. */
export function discoveryIdKey(c: RestrictedCode): Uint8Array {
  return idKey(c);
}
