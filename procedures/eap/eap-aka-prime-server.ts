// EAP-AKA' server (RFC 5448 as updated by RFC 9048; message flow of RFC 4187 9): identity rounds, AKA'-Challenge,
// AT_KDF negotiation with bidding-down protection, resynchronisation, reject, EAP-Success with MSK/EMSK, and fast
// re-authentication (RFC 4187 5 with the RFC 5448 3.3 key derivation).
// Sans-I/O: one EapAkaPrimeServerSession per authentication; packets in, packets/outcomes out, the clock passed in.
import type { AuthVector } from '../../crypto-core/aka-sqn.js';
import { constantTimeEqual } from '../../crypto-core/bytes.js';
import {
  type AkaPrimeKeys,
  computeAtMac,
  deriveAkaPrimeKeys,
  deriveCkIkPrime,
  deriveFastReauthKeys,
  verifyAtMac,
} from '../../crypto-core/eap-aka-prime-keys.js';
import { randomOctets } from '../../crypto-core/random-pool.js';
import {
  AKA_PRIME_PREFIX,
  AKA_SUBTYPE,
  type AkaMessage,
  AT,
  type AttrOut,
  allAttrs,
  CheckcodeHash,
  decodeAka,
  decodeEap,
  decryptAttributes,
  EAP_CODE,
  EAP_TYPE,
  EapDecodeError,
  EMPTY2,
  encodeAka,
  encodeEap,
  encryptAttributes,
  findAttr,
  fromUtf8,
  KDF_AKA_PRIME_SHA256,
  lengthValue,
  macValueOffset,
  readAuts,
  readCheckcode,
  readLength,
  readRes,
  readReserved,
  readU16,
  reservedValue,
  u16Value,
  utf8,
} from './eap-codec.js';

/** The HSS/AuC side the server asks for vectors (TS 33.102 6.3.2) and resynchronisation (6.3.5). */
export interface AkaVectorSource {
  /** A fresh authentication vector for the subscriber (AMF separation bit set for AKA'), or undefined if unknown. */
  vector(imsi: string): AuthVector | undefined;
  /** Verifies AUTS (MAC-S) for RAND and, if valid, resynchronises SQN_HE; false when MAC-S fails. */
  resync(imsi: string, rand: Uint8Array, auts: Uint8Array): boolean;
}

/** Why an authentication ended; used as a low-cardinality metric label. */
export type EapFailureCause =
  | 'unknown_identity'
  | 'authentication_reject'
  | 'res_mismatch'
  | 'bad_mac'
  | 'checkcode_mismatch'
  | 'resync_mac_s'
  | 'resync_limit'
  | 'client_error'
  | 'kdf_negotiation'
  | 'reauth_counter'
  | 'protocol'
  | 'timeout';

export interface EapAkaPrimeServerConfig {
  /** Access network name for AT_KDF_INPUT / CK'/IK' (RFC 5448 3.1; TS 24.302 uses e.g. "WLAN"). */
  networkName: string;
  /** KDFs offered in AT_KDF, most preferred first (RFC 5448 3.2); only 1 is implemented. Default [1]. */
  kdfOffer?: number[];
  /** Start with AKA'-Identity AT_ANY_ID_REQ even for a known permanent identity (as hostapd-like servers do). */
  requestIdentity?: boolean;
  /** Issue AT_NEXT_PSEUDONYM (encrypted) in the Challenge. Default true. */
  issuePseudonyms?: boolean;
  /**
   * Fast re-authentications allowed after one full authentication (RFC 4187 5): each success issues the next
   * re-authentication identity in AT_NEXT_REAUTH_ID until this many re-authentications used it. 0 disables. Default 16.
   */
  maxFastReauths?: number;
  /** Session lifetime in ms (default 30 s). */
  timeoutMs?: number;
  rng?: (n: number) => Uint8Array;
}

export type ServerOutput =
  | { kind: 'request'; packet: Uint8Array }
  | {
      kind: 'success';
      packet: Uint8Array;
      msk: Uint8Array;
      emsk: Uint8Array;
      /** Permanent identity (IMSI) the peer was authenticated as. */
      imsi: string;
      /** full: AKA'-Challenge with a fresh vector; reauth: fast re-authentication (no vector). */
      method: 'full' | 'reauth';
    }
  | { kind: 'failure'; packet: Uint8Array; cause: EapFailureCause }
  /** The input was malformed or unexpected and is ignored (RFC 3748 silent discard); `reason` for counters. */
  | { kind: 'drop'; reason: string };

/** What the server keeps per fast re-authentication identity (RFC 4187 5.1). */
interface ReauthContext {
  imsi: string;
  kEncr: Uint8Array;
  kAut: Uint8Array;
  kRe: Uint8Array;
  /** The next AT_COUNTER value to send. */
  counter: number;
  /** Re-authentications already done on this full authentication's keys. */
  used: number;
}

/** Bound on each table of temporary identities (pseudonyms, re-authentication identities). */
const MAX_TEMPORARY_IDENTITIES = 100_000;

/**
 * Temporary identities of one kind (RFC 4187 4.1.1.7-4.1.1.8) -> what the server keeps for them. At most one per
 * subscriber: a newer identity for the same IMSI replaces the older one (the peer only keeps the newest, and a
 * stale identity must not stay usable); at most `max` in all, the oldest dropped first. So memory is bounded by
 * the subscribers, not by the authentications served.
 */
export class TemporaryIdentities<T extends { imsi: string }> {
  private readonly byId = new Map<string, T>();
  private readonly byImsi = new Map<string, string>();
  constructor(private readonly max = MAX_TEMPORARY_IDENTITIES) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  set(id: string, value: T): void {
    const previous = this.byImsi.get(value.imsi);
    if (previous !== undefined) this.byId.delete(previous);
    if (this.byId.size >= this.max) this.delete(this.byId.keys().next().value!);
    this.byId.set(id, value);
    this.byImsi.set(value.imsi, id);
  }

  delete(id: string): boolean {
    const v = this.byId.get(id);
    if (!v) return false;
    this.byId.delete(id);
    if (this.byImsi.get(v.imsi) === id) this.byImsi.delete(v.imsi);
    return true;
  }

  clear(): void {
    this.byId.clear();
    this.byImsi.clear();
  }

  [Symbol.iterator](): IterableIterator<[string, T]> {
    return this.byId[Symbol.iterator]();
  }
}

/** Shared state of one EAP-AKA' server: pseudonyms and fast re-authentication contexts, one of each per IMSI. */
export class EapAkaPrimeServer {
  /** Pseudonym username (without realm) -> IMSI. */
  readonly pseudonyms = new TemporaryIdentities<{ imsi: string }>();
  /** Fast re-authentication identity (full NAI) -> context; each identity is usable once. */
  readonly reauths = new TemporaryIdentities<ReauthContext>();
  readonly cfg: Required<EapAkaPrimeServerConfig>;
  constructor(
    cfg: EapAkaPrimeServerConfig,
    readonly source: AkaVectorSource,
  ) {
    this.cfg = {
      kdfOffer: [KDF_AKA_PRIME_SHA256],
      requestIdentity: false,
      issuePseudonyms: true,
      maxFastReauths: 16,
      timeoutMs: 30_000,
      rng: randomOctets,
      ...cfg,
    };
    if (this.cfg.networkName.length === 0) throw new Error('networkName must not be empty');
  }

  newSession(nowMs: number): EapAkaPrimeServerSession {
    return new EapAkaPrimeServerSession(this, nowMs);
  }
}

type IdReq = typeof AT.ANY_ID_REQ | typeof AT.FULLAUTH_ID_REQ | typeof AT.PERMANENT_ID_REQ;
const ID_REQ_ORDER: IdReq[] = [AT.ANY_ID_REQ, AT.FULLAUTH_ID_REQ, AT.PERMANENT_ID_REQ];

type State = 'identity' | 'aka_identity' | 'challenge' | 'reauth' | 'done';

/** Splits "username@realm" into the username (RFC 4282 NAI). */
function username(identity: string): string {
  const at = identity.indexOf('@');
  return at < 0 ? identity : identity.slice(0, at);
}

export class EapAkaPrimeServerSession {
  state: State = 'identity';
  private nextId: number;
  private lastRequest?: Uint8Array;
  private lastRequestId = -1;
  private identity = '';
  private imsi = '';
  private idReqLevel = -1;
  private readonly checkcode = new CheckcodeHash();
  private av?: AuthVector;
  private keys?: AkaPrimeKeys;
  private kdfList: number[];
  private kdfSelected?: number;
  private resyncs = 0;
  private pseudonym?: string;
  /** AT_NEXT_REAUTH_ID sent in this session (full NAI). */
  private nextReauthId?: string;
  /** Fast re-authentication in progress: the context, the identity it was found under, NONCE_S, the keys. */
  private reauth?: { ctx: ReauthContext; id: string; nonceS: Uint8Array; msk: Uint8Array; emsk: Uint8Array };
  readonly startedMs: number;

  constructor(
    private readonly server: EapAkaPrimeServer,
    nowMs: number,
  ) {
    this.startedMs = nowMs;
    this.nextId = server.cfg.rng(1)[0]!;
    this.kdfList = server.cfg.kdfOffer.slice();
  }

  expired(nowMs: number): boolean {
    return nowMs - this.startedMs > this.server.cfg.timeoutMs;
  }

  /** Feeds one EAP packet from the peer (the first is the EAP-Response/Identity relayed by the authenticator). */
  receive(bytes: Uint8Array, nowMs: number): ServerOutput {
    if (this.state === 'done') return { kind: 'drop', reason: 'session_done' };
    if (this.expired(nowMs)) return this.fail('timeout', this.lastRequestId);
    let eap: ReturnType<typeof decodeEap>;
    try {
      eap = decodeEap(bytes);
    } catch (e) {
      return { kind: 'drop', reason: e instanceof EapDecodeError ? e.reason : 'malformed' };
    }
    if (eap.code !== EAP_CODE.RESPONSE) return { kind: 'drop', reason: 'not_response' };
    if (this.state !== 'identity' && eap.id !== this.lastRequestId)
      return { kind: 'drop', reason: 'wrong_id' };
    try {
      if (this.state === 'identity') {
        if (eap.type !== EAP_TYPE.IDENTITY) return { kind: 'drop', reason: 'expected_identity' };
        return this.onIdentity(fromUtf8(eap.data).replace(/\0+$/, ''), eap.id, false);
      }
      if (eap.type === EAP_TYPE.NAK) return this.fail('protocol', eap.id);
      if (eap.type !== EAP_TYPE.AKA_PRIME) return { kind: 'drop', reason: 'not_aka_prime' };
      const m = decodeAka(bytes);
      switch (m.subtype) {
        case AKA_SUBTYPE.IDENTITY:
          return this.onAkaIdentity(m, bytes);
        case AKA_SUBTYPE.CHALLENGE:
          return this.onChallengeResponse(m, bytes);
        case AKA_SUBTYPE.REAUTHENTICATION:
          return this.onReauthResponse(m, bytes);
        case AKA_SUBTYPE.SYNCHRONIZATION_FAILURE:
          return this.onSyncFailure(m);
        case AKA_SUBTYPE.AUTHENTICATION_REJECT:
          return this.fail('authentication_reject', m.id);
        case AKA_SUBTYPE.CLIENT_ERROR:
          return this.fail('client_error', m.id);
        default:
          return this.fail('protocol', m.id);
      }
    } catch (e) {
      if (e instanceof EapDecodeError) return { kind: 'drop', reason: e.reason };
      throw e;
    }
  }

  /** Classifies an identity (RFC 4187 4.1 / RFC 5448 3) and either starts the Challenge or asks for another. */
  private onIdentity(identity: string, respId: number, fromAtIdentity: boolean): ServerOutput {
    this.identity = identity;
    const user = username(identity);
    const prefix = user.slice(0, 1);
    if (!fromAtIdentity && this.server.cfg.requestIdentity) return this.requestIdentity(AT.ANY_ID_REQ);
    if (prefix === AKA_PRIME_PREFIX.PERMANENT) {
      this.imsi = user.slice(1);
      return this.challenge();
    }
    if (prefix === AKA_PRIME_PREFIX.PSEUDONYM) {
      const imsi = this.server.pseudonyms.get(user)?.imsi;
      if (imsi !== undefined) {
        this.imsi = imsi;
        return this.challenge();
      }
      // RFC 4187 4.1.4: unknown pseudonym -> ask for the permanent identity.
      return this.nextIdRequest(AT.PERMANENT_ID_REQ, respId);
    }
    if (prefix === AKA_PRIME_PREFIX.REAUTH) {
      const ctx = this.server.reauths.get(identity);
      if (ctx && this.idReqLevel < 1) return this.reauthenticate(identity, ctx);
      // RFC 4187 4.1.5: unknown (or used up) re-authentication identity -> ask for a full-authentication identity.
      return this.nextIdRequest(AT.FULLAUTH_ID_REQ, respId);
    }
    return this.nextIdRequest(AT.PERMANENT_ID_REQ, respId);
  }

  private nextIdRequest(want: IdReq, respId: number): ServerOutput {
    const level = ID_REQ_ORDER.indexOf(want);
    // RFC 4187 4.1.6: at most one request of each kind, in the order ANY -> FULLAUTH -> PERMANENT.
    if (level <= this.idReqLevel) {
      if (this.idReqLevel >= 2) return this.fail('unknown_identity', respId);
      return this.requestIdentity(ID_REQ_ORDER[this.idReqLevel + 1]!);
    }
    return this.requestIdentity(want);
  }

  private requestIdentity(req: IdReq): ServerOutput {
    this.idReqLevel = ID_REQ_ORDER.indexOf(req);
    this.state = 'aka_identity';
    const { bytes } = encodeAka(EAP_CODE.REQUEST, this.takeId(), AKA_SUBTYPE.IDENTITY, [
      { type: req, value: EMPTY2 },
    ]);
    this.checkcode.add(bytes);
    return this.request(bytes);
  }

  private onAkaIdentity(m: AkaMessage, bytes: Uint8Array): ServerOutput {
    if (this.state !== 'aka_identity') return { kind: 'drop', reason: 'unexpected_identity' };
    const id = readLength(findAttr(m, AT.IDENTITY), 'AT_IDENTITY');
    if (!id) return this.fail('protocol', m.id);
    this.checkcode.add(bytes);
    return this.onIdentity(fromUtf8(id), m.id, true);
  }

  /** RFC 5448 3 / RFC 4187 9.3: EAP-Request/AKA'-Challenge with AT_RAND, AT_AUTN, AT_KDF, AT_KDF_INPUT, AT_MAC. */
  private challenge(freshVector = true): ServerOutput {
    if (freshVector || !this.av) {
      const av = this.server.source.vector(this.imsi);
      if (!av) return this.fail('unknown_identity', this.lastRequestId);
      this.av = av;
    }
    const av = this.av;
    const cfg = this.server.cfg;
    const { ckPrime, ikPrime } = deriveCkIkPrime(av.ck, av.ik, cfg.networkName, av.autn.subarray(0, 6));
    this.keys = deriveAkaPrimeKeys(ikPrime, ckPrime, this.identity);
    const attrs: AttrOut[] = [
      { type: AT.RAND, value: reservedValue(av.rand) },
      { type: AT.AUTN, value: reservedValue(av.autn) },
      ...this.kdfList.map((k) => ({ type: AT.KDF, value: u16Value(k) })),
      { type: AT.KDF_INPUT, value: lengthValue(utf8.encode(cfg.networkName)) },
      { type: AT.CHECKCODE, value: reservedValue(this.checkcode.digest()) },
    ];
    const encrypted: AttrOut[] = [];
    if (cfg.issuePseudonyms) {
      this.pseudonym = `${AKA_PRIME_PREFIX.PSEUDONYM}${Buffer.from(cfg.rng(12)).toString('hex')}`;
      encrypted.push({ type: AT.NEXT_PSEUDONYM, value: lengthValue(utf8.encode(this.pseudonym)) });
    }
    if (cfg.maxFastReauths > 0) {
      this.nextReauthId = this.newReauthId();
      encrypted.push({ type: AT.NEXT_REAUTH_ID, value: lengthValue(utf8.encode(this.nextReauthId)) });
    }
    if (encrypted.length > 0) {
      const iv = cfg.rng(16);
      attrs.push({ type: AT.IV, value: reservedValue(iv) });
      attrs.push({ type: AT.ENCR_DATA, value: encryptAttributes(this.keys.kEncr, iv, encrypted) });
    }
    attrs.push({ type: AT.MAC, value: reservedValue(new Uint8Array(16)) });
    const { bytes, macOffset } = encodeAka(EAP_CODE.REQUEST, this.takeId(), AKA_SUBTYPE.CHALLENGE, attrs);
    bytes.set(computeAtMac(this.keys.kAut, bytes, macOffset!), macOffset!);
    this.state = 'challenge';
    return this.request(bytes);
  }

  private onChallengeResponse(m: AkaMessage, bytes: Uint8Array): ServerOutput {
    if (this.state !== 'challenge' || !this.keys || !this.av)
      return { kind: 'drop', reason: 'unexpected_challenge' };
    const mac = findAttr(m, AT.MAC);
    const kdfs = allAttrs(m, AT.KDF).map(readU16);
    if (!mac && kdfs.length === 1 && this.kdfSelected === undefined) {
      // RFC 5448 3.2: the peer selects another offered KDF; repeat the Challenge with it first + the original list.
      const chosen = kdfs[0]!;
      if (chosen === this.kdfList[0] || !this.kdfList.includes(chosen) || chosen !== KDF_AKA_PRIME_SHA256) {
        return this.fail('kdf_negotiation', m.id);
      }
      this.kdfSelected = chosen;
      this.kdfList = [chosen, ...this.kdfList];
      return this.challenge(false);
    }
    if (!mac) return this.fail('protocol', m.id);
    if (!verifyAtMac(this.keys.kAut, bytes, macValueOffset(mac))) return this.fail('bad_mac', m.id);
    const res = readRes(findAttr(m, AT.RES));
    if (!res || !constantTimeEqual(res, this.av.xres)) return this.fail('res_mismatch', m.id);
    const cc = readCheckcode(findAttr(m, AT.CHECKCODE));
    if (cc && !constantTimeEqual(cc, this.checkcode.digest())) return this.fail('checkcode_mismatch', m.id);
    if (this.pseudonym) this.server.pseudonyms.set(this.pseudonym, { imsi: this.imsi });
    if (this.nextReauthId) {
      const { kEncr, kAut, kRe } = this.keys;
      this.server.reauths.set(this.nextReauthId, {
        imsi: this.imsi,
        kEncr,
        kAut,
        kRe,
        counter: 1,
        used: 0,
      });
    }
    this.state = 'done';
    return {
      kind: 'success',
      packet: encodeEap({ code: EAP_CODE.SUCCESS, id: m.id, data: new Uint8Array(0) }),
      msk: this.keys.msk,
      emsk: this.keys.emsk,
      imsi: this.imsi,
      method: 'full',
    };
  }

  /** A fresh re-authentication identity: '8' + 96 random bits, with the realm of the identity in use (RFC 4187 4.1.1.8). */
  private newReauthId(): string {
    const at = this.identity.indexOf('@');
    const realm = at < 0 ? '' : this.identity.slice(at);
    return `${AKA_PRIME_PREFIX.REAUTH}${Buffer.from(this.server.cfg.rng(12)).toString('hex')}${realm}`;
  }

  /** RFC 4187 5.4 / 9.7: EAP-Request/AKA-Reauthentication with AT_IV, AT_ENCR_DATA(AT_COUNTER, AT_NONCE_S, AT_NEXT_REAUTH_ID), AT_MAC. */
  private reauthenticate(identity: string, ctx: ReauthContext): ServerOutput {
    const cfg = this.server.cfg;
    // One use per identity: it is removed now and replaced by the next one only on success.
    this.server.reauths.delete(identity);
    this.imsi = ctx.imsi;
    const nonceS = cfg.rng(16);
    const keys = deriveFastReauthKeys(ctx.kRe, identity, ctx.counter, nonceS);
    this.reauth = { ctx, id: identity, nonceS, msk: keys.msk, emsk: keys.emsk };
    const encrypted: AttrOut[] = [
      { type: AT.COUNTER, value: u16Value(ctx.counter) },
      { type: AT.NONCE_S, value: reservedValue(nonceS) },
    ];
    this.nextReauthId = undefined;
    if (ctx.used + 1 < cfg.maxFastReauths && ctx.counter < 0xffff) {
      this.nextReauthId = this.newReauthId();
      encrypted.push({ type: AT.NEXT_REAUTH_ID, value: lengthValue(utf8.encode(this.nextReauthId)) });
    }
    const iv = cfg.rng(16);
    const { bytes, macOffset } = encodeAka(EAP_CODE.REQUEST, this.takeId(), AKA_SUBTYPE.REAUTHENTICATION, [
      { type: AT.IV, value: reservedValue(iv) },
      { type: AT.ENCR_DATA, value: encryptAttributes(ctx.kEncr, iv, encrypted) },
      { type: AT.MAC, value: reservedValue(new Uint8Array(16)) },
    ]);
    bytes.set(computeAtMac(ctx.kAut, bytes, macOffset!), macOffset!);
    this.state = 'reauth';
    return this.request(bytes);
  }

  /** RFC 4187 5.4-5.5: the peer's AKA-Reauthentication: AT_MAC over the packet and NONCE_S, AT_COUNTER echoed. */
  private onReauthResponse(m: AkaMessage, bytes: Uint8Array): ServerOutput {
    const r = this.reauth;
    if (this.state !== 'reauth' || !r) return { kind: 'drop', reason: 'unexpected_reauth' };
    const mac = findAttr(m, AT.MAC);
    const encr = findAttr(m, AT.ENCR_DATA);
    const iv = readReserved(findAttr(m, AT.IV), 16, 'AT_IV');
    if (!mac || !encr || !iv) return this.fail('protocol', m.id);
    if (!verifyAtMac(r.ctx.kAut, bytes, macValueOffset(mac), r.nonceS)) return this.fail('bad_mac', m.id);
    const inner = decryptAttributes(r.ctx.kEncr, iv, encr);
    const counter = inner.find((a) => a.type === AT.COUNTER);
    if (!counter || readU16(counter) !== r.ctx.counter) return this.fail('protocol', m.id);
    if (inner.some((a) => a.type === AT.COUNTER_TOO_SMALL)) {
      // RFC 4187 5.5: the peer has seen this counter: no keys from this exchange; fall back to full authentication.
      this.reauth = undefined;
      return this.nextIdRequest(AT.FULLAUTH_ID_REQ, m.id);
    }
    if (this.nextReauthId) {
      this.server.reauths.set(this.nextReauthId, {
        ...r.ctx,
        counter: r.ctx.counter + 1,
        used: r.ctx.used + 1,
      });
    }
    this.state = 'done';
    return {
      kind: 'success',
      packet: encodeEap({ code: EAP_CODE.SUCCESS, id: m.id, data: new Uint8Array(0) }),
      msk: r.msk,
      emsk: r.emsk,
      imsi: this.imsi,
      method: 'reauth',
    };
  }

  /** RFC 4187 9.6 / TS 33.102 6.3.5: verify AUTS, resynchronise SQN_HE, send a fresh Challenge (once). */
  private onSyncFailure(m: AkaMessage): ServerOutput {
    if (this.state !== 'challenge' || !this.av) return { kind: 'drop', reason: 'unexpected_sync_failure' };
    const auts = readAuts(findAttr(m, AT.AUTS));
    if (!auts) return this.fail('protocol', m.id);
    const kdf = findAttr(m, AT.KDF);
    if (kdf && readU16(kdf) !== (this.kdfSelected ?? this.kdfList[0]))
      return this.fail('kdf_negotiation', m.id);
    if (++this.resyncs > 1) return this.fail('resync_limit', m.id);
    if (!this.server.source.resync(this.imsi, this.av.rand, auts)) return this.fail('resync_mac_s', m.id);
    return this.challenge(true);
  }

  private takeId(): number {
    this.nextId = (this.nextId + 1) & 0xff;
    return this.nextId;
  }

  private request(bytes: Uint8Array): ServerOutput {
    this.lastRequest = bytes;
    this.lastRequestId = bytes[1]!;
    return { kind: 'request', packet: bytes };
  }

  /** The last request sent (for retransmission by the transport). */
  get pendingRequest(): Uint8Array | undefined {
    return this.state === 'done' ? undefined : this.lastRequest;
  }

  private fail(cause: EapFailureCause, id: number): ServerOutput {
    this.state = 'done';
    return {
      kind: 'failure',
      packet: encodeEap({ code: EAP_CODE.FAILURE, id: id & 0xff, data: new Uint8Array(0) }),
      cause,
    };
  }
}
