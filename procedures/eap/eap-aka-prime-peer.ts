// EAP-AKA' peer with an emulated USIM (RFC 5448 as updated by RFC 9048; RFC 4187 message flow; TS 33.102 6.3.3
// AUTN verification and AUTS). Handles AT_ANY_ID_REQ/AT_FULLAUTH_ID_REQ/AT_PERMANENT_ID_REQ, AT_CHECKCODE,
// AT_KDF negotiation (with bidding-down protection), AT_KDF_INPUT, AT_NEXT_PSEUDONYM, and fast re-authentication
// (RFC 4187 5: AT_NEXT_REAUTH_ID, AT_COUNTER, AT_NONCE_S, AT_COUNTER_TOO_SMALL; RFC 5448 3.3 keys). Sans-I/O.
import { randomBytes } from 'node:crypto';
import { type SqnArray, verifyAutn } from '../../crypto-core/aka-sqn.js';
import { constantTimeEqual } from '../../crypto-core/bytes.js';
import {
  computeAtMac,
  deriveAkaPrimeKeys,
  deriveCkIkPrime,
  deriveFastReauthKeys,
  verifyAtMac,
} from '../../crypto-core/eap-aka-prime-keys.js';
import type { Milenage } from '../../crypto-core/milenage.js';
import {
  AKA_SUBTYPE,
  type AkaMessage,
  AT,
  type AttrOut,
  allAttrs,
  CheckcodeHash,
  CLIENT_ERROR_UNABLE_TO_PROCESS,
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
  readCheckcode,
  readLength,
  readReserved,
  readU16,
  reservedValue,
  resValue,
  u16Value,
  utf8,
} from './eap-codec.js';

export type PeerFailureCause =
  | 'eap_failure'
  | 'autn_mac_failure'
  | 'amf_separation_bit'
  | 'network_name'
  | 'bad_mac'
  | 'checkcode_mismatch'
  | 'kdf_unsupported'
  | 'kdf_bidding_down'
  | 'reauth_counter'
  | 'protocol';

export interface EapAkaPrimePeerConfig {
  /** Permanent identity NAI, "6<IMSI>@realm" (RFC 5448 3 / TS 23.003 14.3). */
  permanentIdentity: string;
  /** The USIM's Milenage instance (K, OPc) and SQN array (TS 33.102 Annex C). */
  usim: Milenage;
  sqn: SqnArray;
  /** KDFs the peer implements, most preferred first (only 1 exists in RFC 5448). */
  supportedKdfs?: number[];
  /** Expected access network name; when set, a different AT_KDF_INPUT is rejected (RFC 5448 3.1). */
  expectedNetworkName?: string;
  /** Use a pseudonym received in AT_NEXT_PSEUDONYM on the next authentication (default true). */
  usePseudonym?: boolean;
  /** Use a re-authentication identity received in AT_NEXT_REAUTH_ID (fast re-authentication; default true). */
  useFastReauth?: boolean;
  /** Source of AT_IV values (default crypto random). */
  rng?: (n: number) => Uint8Array;
  /**
   * INSECURE, for the threat matrix's control only (`relay.insecure.peerSkipsAtMac`, docs/threat-matrix.md): a
   * Challenge or Re-authentication whose AT_MAC does not verify is processed anyway (counted in `badMacAccepted`).
   */
  insecureSkipAtMac?: boolean;
}

export type PeerOutput =
  | { kind: 'response'; packet: Uint8Array }
  | { kind: 'success'; msk: Uint8Array; emsk: Uint8Array; method: 'full' | 'reauth' }
  | { kind: 'failure'; cause: PeerFailureCause }
  /** Malformed or unexpected input, silently discarded (RFC 3748 / RFC 4187). */
  | { kind: 'drop'; reason: string };

/** One EAP-AKA' peer (a USIM + its stored pseudonym); call `reset()` before each new authentication. */
export class EapAkaPrimePeer {
  private readonly supported: number[];
  /** Pseudonym username received in AT_NEXT_PSEUDONYM (used with the permanent identity's realm). */
  pseudonym?: string;
  private identity = '';
  private checkcode = new CheckcodeHash();
  private offeredKdfs?: number[];
  private chosenKdf?: number;
  private keys?: { msk: Uint8Array; emsk: Uint8Array; method: 'full' | 'reauth' };
  private done = false;
  /** Fast re-authentication state from the last full authentication (RFC 4187 5.1): identity (NAI), keys, counter. */
  reauth?: { id: string; kEncr: Uint8Array; kAut: Uint8Array; kRe: Uint8Array; counter: number };
  /** Counts of resynchronisations the USIM requested (AUTS sent). */
  syncFailures = 0;
  /** Requests whose AT_MAC did not verify but were processed (only with `insecureSkipAtMac`). */
  badMacAccepted = 0;

  constructor(readonly cfg: EapAkaPrimePeerConfig) {
    this.supported = cfg.supportedKdfs ?? [KDF_AKA_PRIME_SHA256];
  }

  reset(): void {
    this.identity = '';
    this.checkcode = new CheckcodeHash();
    this.offeredKdfs = undefined;
    this.chosenKdf = undefined;
    this.keys = undefined;
    this.done = false;
  }

  private realm(): string {
    const at = this.cfg.permanentIdentity.indexOf('@');
    return at < 0 ? '' : this.cfg.permanentIdentity.slice(at);
  }

  private preferredIdentity(allowPseudonym: boolean, allowReauth = false): string {
    if (allowReauth && this.reauth && this.cfg.useFastReauth !== false) return this.reauth.id;
    if (allowPseudonym && this.pseudonym && this.cfg.usePseudonym !== false)
      return `${this.pseudonym}${this.realm()}`;
    return this.cfg.permanentIdentity;
  }

  receive(bytes: Uint8Array): PeerOutput {
    if (this.done) return { kind: 'drop', reason: 'done' };
    try {
      const eap = decodeEap(bytes);
      if (eap.code === EAP_CODE.SUCCESS) {
        if (!this.keys) return { kind: 'drop', reason: 'early_success' };
        this.done = true;
        return { kind: 'success', ...this.keys };
      }
      if (eap.code === EAP_CODE.FAILURE) {
        this.done = true;
        return { kind: 'failure', cause: 'eap_failure' };
      }
      if (eap.code !== EAP_CODE.REQUEST) return { kind: 'drop', reason: 'not_request' };
      if (eap.type === EAP_TYPE.IDENTITY) {
        this.identity = this.preferredIdentity(true, true);
        return this.respond(
          encodeEap({ code: EAP_CODE.RESPONSE, id: eap.id, type: 1, data: utf8.encode(this.identity) }),
        );
      }
      if (eap.type !== EAP_TYPE.AKA_PRIME) {
        // RFC 3748 5.3.1: legacy Nak proposing EAP-AKA'.
        return this.respond(
          encodeEap({ code: EAP_CODE.RESPONSE, id: eap.id, type: EAP_TYPE.NAK, data: Uint8Array.of(50) }),
        );
      }
      const m = decodeAka(bytes);
      if (m.subtype === AKA_SUBTYPE.IDENTITY) return this.onIdentityRequest(m, bytes);
      if (m.subtype === AKA_SUBTYPE.CHALLENGE) return this.onChallenge(m, bytes);
      if (m.subtype === AKA_SUBTYPE.REAUTHENTICATION) return this.onReauthentication(m, bytes);
      return this.clientError(m.id, 'protocol');
    } catch (e) {
      if (e instanceof EapDecodeError) return { kind: 'drop', reason: e.reason };
      throw e;
    }
  }

  /** RFC 4187 4.1.2-4.1.5: answer AT_ANY_ID_REQ / AT_FULLAUTH_ID_REQ with a pseudonym if we have one, else permanent. */
  private onIdentityRequest(m: AkaMessage, bytes: Uint8Array): PeerOutput {
    const reqs = [AT.ANY_ID_REQ, AT.FULLAUTH_ID_REQ, AT.PERMANENT_ID_REQ].filter((t) => findAttr(m, t));
    if (reqs.length !== 1) return this.clientError(m.id, 'protocol');
    // A full-authentication request means the server will not re-authenticate us: forget that identity.
    if (reqs[0] !== AT.ANY_ID_REQ) this.reauth = undefined;
    this.identity = this.preferredIdentity(reqs[0] !== AT.PERMANENT_ID_REQ, reqs[0] === AT.ANY_ID_REQ);
    this.checkcode.add(bytes);
    const { bytes: out } = encodeAka(EAP_CODE.RESPONSE, m.id, AKA_SUBTYPE.IDENTITY, [
      { type: AT.IDENTITY, value: lengthValue(utf8.encode(this.identity)) },
    ]);
    this.checkcode.add(out);
    return this.respond(out);
  }

  private onChallenge(m: AkaMessage, bytes: Uint8Array): PeerOutput {
    const rand = readReserved(findAttr(m, AT.RAND), 16, 'AT_RAND');
    const autn = readReserved(findAttr(m, AT.AUTN), 16, 'AT_AUTN');
    const mac = findAttr(m, AT.MAC);
    const netName = readLength(findAttr(m, AT.KDF_INPUT), 'AT_KDF_INPUT');
    const kdfs = allAttrs(m, AT.KDF).map(readU16);
    if (!rand || !autn || !mac || !netName || netName.length === 0 || kdfs.length === 0) {
      return this.clientError(m.id, 'protocol');
    }
    // RFC 5448 3.2: KDF negotiation before running the USIM (so the AUTN is not consumed by a re-sent Challenge).
    if (this.chosenKdf === undefined) {
      if (!this.supported.includes(kdfs[0]!)) {
        const alt = kdfs.find((k) => this.supported.includes(k));
        if (alt === undefined) return this.clientError(m.id, 'kdf_unsupported');
        this.offeredKdfs = kdfs;
        this.chosenKdf = alt;
        const { bytes: out } = encodeAka(EAP_CODE.RESPONSE, m.id, AKA_SUBTYPE.CHALLENGE, [
          { type: AT.KDF, value: u16Value(alt) },
        ]);
        return this.respond(out);
      }
    } else {
      // Second Challenge: our choice first, then exactly the list first offered (bidding-down protection).
      const orig = this.offeredKdfs ?? [];
      const ok =
        kdfs[0] === this.chosenKdf &&
        kdfs.length === orig.length + 1 &&
        orig.every((k, i) => kdfs[i + 1] === k);
      if (!ok) return this.clientError(m.id, 'kdf_bidding_down');
    }
    // RFC 5448 3.1 / TS 33.402 6.1: the AMF separation bit (bit 0 of AMF) must be 1 for EAP-AKA'.
    if ((autn[6]! & 0x80) === 0) return this.authReject(m.id, 'amf_separation_bit');
    const name = fromUtf8(netName);
    if (this.cfg.expectedNetworkName !== undefined && name !== this.cfg.expectedNetworkName) {
      return this.authReject(m.id, 'network_name');
    }
    const usim = verifyAutn(this.cfg.usim, rand, autn, this.cfg.sqn);
    if (usim.kind === 'mac_failure') return this.authReject(m.id, 'autn_mac_failure');
    if (usim.kind === 'sync_failure') {
      // RFC 4187 9.6 / RFC 9048: Synchronization-Failure with AT_AUTS and the selected AT_KDF.
      this.syncFailures++;
      const { bytes: out } = encodeAka(EAP_CODE.RESPONSE, m.id, AKA_SUBTYPE.SYNCHRONIZATION_FAILURE, [
        { type: AT.AUTS, value: usim.auts },
        { type: AT.KDF, value: u16Value(this.chosenKdf ?? kdfs[0]!) },
      ]);
      return this.respond(out);
    }
    const { ckPrime, ikPrime } = deriveCkIkPrime(usim.ck, usim.ik, netName, autn.subarray(0, 6));
    const keys = deriveAkaPrimeKeys(ikPrime, ckPrime, this.identity);
    if (!verifyAtMac(keys.kAut, bytes, macValueOffset(mac))) {
      if (!this.cfg.insecureSkipAtMac) return this.clientError(m.id, 'bad_mac');
      this.badMacAccepted++;
    }
    const cc = readCheckcode(findAttr(m, AT.CHECKCODE));
    const ownCc = this.checkcode.digest();
    if (cc && !constantTimeEqual(cc, ownCc)) return this.clientError(m.id, 'checkcode_mismatch');
    const encr = findAttr(m, AT.ENCR_DATA);
    const iv = readReserved(findAttr(m, AT.IV), 16, 'AT_IV');
    let nextReauthId: string | undefined;
    if (encr && iv) {
      for (const a of decryptAttributes(keys.kEncr, iv, encr)) {
        if (a.type === AT.NEXT_PSEUDONYM) this.pseudonym = fromUtf8(readLength(a, 'AT_NEXT_PSEUDONYM')!);
        if (a.type === AT.NEXT_REAUTH_ID) nextReauthId = fromUtf8(readLength(a, 'AT_NEXT_REAUTH_ID')!);
      }
    }
    // A full authentication replaces any earlier re-authentication state (counter starts again).
    this.reauth = nextReauthId
      ? { id: nextReauthId, kEncr: keys.kEncr, kAut: keys.kAut, kRe: keys.kRe, counter: 0 }
      : undefined;
    const attrs: AttrOut[] = [{ type: AT.RES, value: resValue(usim.res) }];
    if (cc) attrs.push({ type: AT.CHECKCODE, value: reservedValue(ownCc) });
    attrs.push({ type: AT.MAC, value: reservedValue(new Uint8Array(16)) });
    const { bytes: out, macOffset } = encodeAka(EAP_CODE.RESPONSE, m.id, AKA_SUBTYPE.CHALLENGE, attrs);
    out.set(computeAtMac(keys.kAut, out, macOffset!), macOffset!);
    this.keys = { msk: keys.msk, emsk: keys.emsk, method: 'full' };
    return this.respond(out);
  }

  /** RFC 4187 5.4-5.5 / 9.7-9.8: verify AT_MAC, check AT_COUNTER is fresh, answer with it (MAC over packet | NONCE_S). */
  private onReauthentication(m: AkaMessage, bytes: Uint8Array): PeerOutput {
    const r = this.reauth;
    // Only in answer to our own re-authentication identity.
    if (!r || this.identity !== r.id) return this.clientError(m.id, 'protocol');
    const mac = findAttr(m, AT.MAC);
    const encr = findAttr(m, AT.ENCR_DATA);
    const iv = readReserved(findAttr(m, AT.IV), 16, 'AT_IV');
    if (!mac || !encr || !iv) return this.clientError(m.id, 'protocol');
    if (!verifyAtMac(r.kAut, bytes, macValueOffset(mac))) {
      if (!this.cfg.insecureSkipAtMac) return this.clientError(m.id, 'bad_mac');
      this.badMacAccepted++;
    }
    const inner = decryptAttributes(r.kEncr, iv, encr);
    const counterAttr = inner.find((a) => a.type === AT.COUNTER);
    const nonceS = readReserved(
      inner.find((a) => a.type === AT.NONCE_S),
      16,
      'AT_NONCE_S',
    );
    if (!counterAttr || !nonceS) return this.clientError(m.id, 'protocol');
    const counter = readU16(counterAttr);
    const nextId = inner.find((a) => a.type === AT.NEXT_REAUTH_ID);
    const answer: AttrOut[] = [{ type: AT.COUNTER, value: u16Value(counter) }];
    const tooSmall = counter <= r.counter;
    // RFC 4187 5.5: a counter not above the last one accepted is answered AT_COUNTER_TOO_SMALL; no keys are derived.
    if (tooSmall) answer.push({ type: AT.COUNTER_TOO_SMALL, value: EMPTY2 });
    const ivOut = (this.cfg.rng ?? ((n: number) => new Uint8Array(randomBytes(n))))(16);
    const { bytes: out, macOffset } = encodeAka(EAP_CODE.RESPONSE, m.id, AKA_SUBTYPE.REAUTHENTICATION, [
      { type: AT.IV, value: reservedValue(ivOut) },
      { type: AT.ENCR_DATA, value: encryptAttributes(r.kEncr, ivOut, answer) },
      { type: AT.MAC, value: reservedValue(new Uint8Array(16)) },
    ]);
    out.set(computeAtMac(r.kAut, out, macOffset!, nonceS), macOffset!);
    if (tooSmall) {
      this.lastError = 'reauth_counter';
      this.reauth = undefined;
      return this.respond(out);
    }
    const keys = deriveFastReauthKeys(r.kRe, r.id, counter, nonceS);
    // The next identity (if any) and the counter are kept; without a next identity fast re-authentication ends here.
    this.reauth = nextId
      ? { ...r, id: fromUtf8(readLength(nextId, 'AT_NEXT_REAUTH_ID')!), counter }
      : undefined;
    this.keys = { msk: keys.msk, emsk: keys.emsk, method: 'reauth' };
    return this.respond(out);
  }

  private respond(packet: Uint8Array): PeerOutput {
    return { kind: 'response', packet };
  }

  /** RFC 4187 9.5: Authentication-Reject when AUTN is not acceptable. The outcome is reported by the caller's failure. */
  lastError?: PeerFailureCause;
  private authReject(id: number, cause: PeerFailureCause): PeerOutput {
    this.lastError = cause;
    return this.respond(encodeAka(EAP_CODE.RESPONSE, id, AKA_SUBTYPE.AUTHENTICATION_REJECT, []).bytes);
  }

  /** RFC 4187 9.7: Client-Error "unable to process packet". */
  private clientError(id: number, cause: PeerFailureCause): PeerOutput {
    this.lastError = cause;
    return this.respond(
      encodeAka(EAP_CODE.RESPONSE, id, AKA_SUBTYPE.CLIENT_ERROR, [
        { type: AT.CLIENT_ERROR_CODE, value: u16Value(CLIENT_ERROR_UNABLE_TO_PROCESS) },
      ]).bytes,
    );
  }
}
