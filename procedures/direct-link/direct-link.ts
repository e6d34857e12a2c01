// PC5 one-to-one direct link security (TR 33.833 solution #4.1; key issues #4.1/#4.2), sans-I/O: an endpoint
// holds one state machine per peer link (D2D-Null / D2D-Idle / D2D-Connected), takes bytes and commands in, and
// returns outputs (bytes to send, events). The clock and the KD methods are passed in. See docs/direct-link.md.
import { randomBytes } from 'node:crypto';
import type { NeaAlgorithm } from '../../crypto-core/nea.js';
import type { NiaAlgorithm } from '../../crypto-core/nia.js';
import { deriveKdSess, derivePek, derivePik } from '../../crypto-core/prose-kdf.js';
import {
  MAC_I_BYTES,
  Pc5RxContext,
  Pc5TxContext,
  PROTECTED_HEADER_BYTES,
  type ProtectionPolicy,
  peekKsi,
  type UnprotectFailure,
} from '../pc5/protection.js';
import { KdError, type KdInitiatorRun, type KdMethod } from './kd-method.js';
import { kdFromRelayMsk } from './kd-msk.js';
import {
  type ChosenAlgs,
  DirectLinkMessageError,
  DL_MSG,
  type DlMessage,
  decodeMessage,
  decodePdu,
  encodeMessage,
  encodePdu,
  type KdMethodName,
  type SecurityPolicy,
  type SupportedAlgs,
} from './messages.js';

/** D2D states of TR 33.833 solution #4.1. */
export type D2DState = 'D2D-Null' | 'D2D-Idle' | 'D2D-Connected';

/** BEARER inputs of 128-NEA/NIA on a link (docs/direct-link.md). */
export const DL_BEARER = { SIGNALLING: 0, USER: 1, DSMC: 2 } as const;

/** Why a PDU or request was dropped (counted; low cardinality). */
export type DirectLinkCause =
  | 'malformed'
  | 'unknown_connection'
  | 'unexpected_message'
  | 'not_for_me'
  | 'no_common_algorithm'
  | 'policy_not_acceptable'
  | 'echo_mismatch'
  | 'wrong_dksi'
  | 'count_exhausted'
  | 'timeout'
  | 'rejected_by_peer'
  | 'rate_limited'
  | KdError['reason']
  | UnprotectFailure;

export type Plane = 'signalling' | 'user';

export type DirectLinkOutput =
  | { kind: 'send'; peer: string; plane: Plane; bytes: Uint8Array }
  | {
      kind: 'established';
      linkId: number;
      peer: string;
      peerId: string;
      method: KdMethodName;
      rekey: boolean;
      /** Initiator: DCR sent to DSMC accepted; responder: DCR received to Complete accepted. */
      setupMs: number;
      initiator: boolean;
      /** Chosen_algs of the new key set. */
      algs: ChosenAlgs;
    }
  | { kind: 'data'; linkId: number; payload: Uint8Array }
  | { kind: 'rejected'; cause: DirectLinkCause; plane: Plane; linkId?: number }
  | {
      kind: 'failed';
      linkId: number;
      cause: DirectLinkCause;
      method: KdMethodName;
      rekey: boolean;
      /** With cause rejected_by_peer: the cause the peer's Direct Security Mode Reject gave, when known. */
      peerCause?: DirectLinkCause;
    }
  | { kind: 'released'; linkId: number };

/** Counters the node turns into metrics (docs/metrics.md). */
export interface DirectLinkCounters {
  rejected: Partial<Record<DirectLinkCause, number>>;
  protectedPackets: { tx: Record<Plane, number>; rx: Record<Plane, number> };
  protectedBytes: { tx: Record<Plane, number>; rx: Record<Plane, number> };
  integrityFailures: Record<Plane, number>;
  replaysDropped: Record<Plane, number>;
  rekeys: { manual: number; count: number };
  established: number;
  /**
   * Ground truth for the threat matrix, measured whatever the checks: DSMCs this UE accepted as UE_1 whose echoed
   * Supported_algs or policy differed from what it sent (bidding down; 0 while the echo check runs) ...
   */
  biddingDownAccepted: number;
  /**
   * ... and whose Nonce_2 the link had already accepted (a replayed DSMC: an old KD-sess, COUNT from 0 again; counted
   * here only, not as bidding down).
   */
  dsmcReplaysAccepted: number;
}

/**
 * INSECURE, for the threat matrix's control run only (docs/threat-matrix.md); each switches off one defence and
 * the node logs it as INSECURE. All off by default.
 */
export interface DirectLinkInsecure {
  /** As UE_1: do not compare the DSMC's echoed Supported_algs and policy with what was sent. */
  noEchoCheck?: boolean;
  /**
   * Do not bind KD establishment to Supported_algs and the policy: the KD methods get an empty transcript (the
   * certificate KD signatures then leave them out). Both UEs of a link must agree.
   */
  noTranscriptBinding?: boolean;
  /**
   * Send one Nonce_1 per link in every request (as a UE with a broken random source would): KD-sess, and so the
   * DSMC's MAC, no longer depend on a fresh value of this procedure, so a recorded DSMC verifies again.
   */
  reuseNonce1?: boolean;
}

export interface DirectLinkOptions {
  /** This UE's permanent identity (node id). */
  selfId: string;
  /** Milliseconds (monotonic or wall clock; used for timeouts and, by KD methods, certificate validity). */
  now: () => number;
  /** Supported_algs of this UE (default: 128-NEA0..3, 128-NIA1..3). */
  supportedAlgs?: SupportedAlgs;
  /** Protection this UE asks for as initiator and requires at least as responder. */
  policy: SecurityPolicy;
  methods: { certificate?: KdMethod; identity?: KdMethod };
  /** COUNT at which a TX context triggers automatic re-keying (default 2^32 - 2^16). */
  rekeyThreshold?: number;
  /** COUNT beyond which nothing is sent under one key set (default 2^32 - 1; lower only to test exhaustion). */
  countLimit?: number;
  replayWindow?: number;
  /** How long to wait for a DSMC or a Complete (default 5 s). */
  timeoutMs?: number;
  random?: (n: number) => Uint8Array;
  /** Wall clock (ms since the epoch) for certificate validity and I_MESSAGE timestamps (default Date.now). */
  wallClock?: () => number;
  /**
   * IDENTITY KD requests (SAKKE decapsulation + ECCSI verification, tens of ms of CPU each) accepted per second:
   * per peer address and in total; beyond, the request is answered with a reject (cause rate_limited) before any
   * expensive work. Defaults: 5/s per peer (burst 5), 50/s in total (burst 50).
   */
  identityKdRate?: { perPeer: number; total: number };
  /** INSECURE threat-matrix controls (all off by default). */
  insecure?: DirectLinkInsecure;
}

interface KeySet {
  dksi: number;
  algs: ChosenAlgs;
  sigTx: Pc5TxContext;
  sigRx: Pc5RxContext;
  upTx: Pc5TxContext;
  upRx: Pc5RxContext;
  /** DSMC of this key set: sent by the responder / checked by the initiator (a replay hits its window). */
  dsmcRx?: Pc5RxContext;
}

interface InitiatorPending {
  role: 'initiator';
  nonce1: Uint8Array;
  supportedAlgs: SupportedAlgs;
  policy: SecurityPolicy;
  method: KdMethodName;
  kdId?: number;
  kdRun?: KdInitiatorRun;
  kdCtxNow: number;
  startedAt: number;
  rekey: boolean;
  manual: boolean;
}

interface ResponderPending {
  role: 'responder';
  keys: KeySet;
  kd: Uint8Array;
  kdId: number;
  method: KdMethodName;
  peerId: string;
  startedAt: number;
  rekey: boolean;
}

/** One peer link (TR 33.833 #4.1 stored parameters: connection identities, KD, KD ID, DKSI, algorithms, counters). */
interface Link {
  id: number;
  peer: string;
  peerCid: number;
  peerId?: string;
  state: D2DState;
  /** The UE that sent the Direct Communication Request (DIRECTION 0 of every key set of the link). */
  linkInitiator: boolean;
  policy: SecurityPolicy;
  kd?: { id: number; key: Uint8Array; method: KdMethodName };
  active?: KeySet;
  previous?: KeySet;
  pending?: InitiatorPending | ResponderPending;
  /** insecure.reuseNonce1: the link's one Nonce_1. */
  fixedNonce1?: Uint8Array;
  /** Nonce_2 values of the DSMCs accepted on this link as UE_1 (hex; bounded), for dsmcReplaysAccepted. */
  acceptedNonce2?: Set<string>;
}

const ALL_ALGS: SupportedAlgs = { nea: 0b1111, nia: 0b1110 };
/** Preference when choosing (TS 33.303 leaves it to implementations): AES, ZUC, SNOW 3G, then NULL. */
const NEA_PREFERENCE = [2, 3, 1, 0] as const;
const NIA_PREFERENCE = [2, 3, 1] as const;
const MAX_COUNT = 0xffffffff;

function policyTranscript(algs: SupportedAlgs, policy: SecurityPolicy): Uint8Array {
  return Uint8Array.of(
    algs.nea,
    algs.nia,
    (policy.signallingCiphering ? 1 : 0) |
      (policy.userPlaneCiphering ? 2 : 0) |
      (policy.userPlaneIntegrity ? 4 : 0),
  );
}

function samePolicy(a: SecurityPolicy, b: SecurityPolicy): boolean {
  return (
    a.signallingCiphering === b.signallingCiphering &&
    a.userPlaneCiphering === b.userPlaneCiphering &&
    a.userPlaneIntegrity === b.userPlaneIntegrity
  );
}

/** True when `offered` provides at least what `required` asks for. */
function covers(offered: SecurityPolicy, required: SecurityPolicy): boolean {
  return (
    (offered.signallingCiphering || !required.signallingCiphering) &&
    (offered.userPlaneCiphering || !required.userPlaneCiphering) &&
    (offered.userPlaneIntegrity || !required.userPlaneIntegrity)
  );
}

export function emptyCounters(): DirectLinkCounters {
  const planes = () => ({ signalling: 0, user: 0 });
  return {
    rejected: {},
    protectedPackets: { tx: planes(), rx: planes() },
    protectedBytes: { tx: planes(), rx: planes() },
    integrityFailures: planes(),
    replaysDropped: planes(),
    rekeys: { manual: 0, count: 0 },
    established: 0,
    biddingDownAccepted: 0,
    dsmcReplaysAccepted: 0,
  };
}

/** A UE's direct link endpoint: every peer link, demultiplexed by the connection identities this UE allocated. */
export class DirectLinkEndpoint {
  readonly counters = emptyCounters();
  private readonly links = new Map<number, Link>();
  private readonly identityPeers = new Map<string, TokenBucket>();
  private readonly identityTotal: TokenBucket;
  private readonly relayKds = new Map<number, Uint8Array>();
  private readonly opts: Required<Omit<DirectLinkOptions, 'methods'>> & {
    methods: DirectLinkOptions['methods'];
  };

  constructor(options: DirectLinkOptions) {
    this.opts = {
      supportedAlgs: ALL_ALGS,
      rekeyThreshold: MAX_COUNT - 0xffff,
      countLimit: MAX_COUNT,
      replayWindow: 1024,
      timeoutMs: 5000,
      random: (n) => new Uint8Array(randomBytes(n)),
      wallClock: Date.now,
      identityKdRate: { perPeer: 5, total: 50 },
      insecure: {},
      ...options,
    };
    this.identityTotal = new TokenBucket(this.opts.identityKdRate.total);
    if ((this.opts.supportedAlgs.nia & 0b1110) === 0)
      throw new RangeError('a UE must support a non-NULL 128-NIA');
  }

  /** D2D state of a link (D2D-Null for unknown links). */
  state(linkId: number): D2DState {
    return this.links.get(linkId)?.state ?? 'D2D-Null';
  }

  /** Stored parameters of a link, for status pages and tests (no key material). */
  describe(linkId: number):
    | {
        state: D2DState;
        peerId?: string;
        ownCid: number;
        peerCid: number;
        dksi?: number;
        kdId?: number;
        txCount?: number;
      }
    | undefined {
    const l = this.links.get(linkId);
    if (!l) return undefined;
    return {
      state: l.state,
      ...(l.peerId !== undefined ? { peerId: l.peerId } : {}),
      ownCid: l.id,
      peerCid: l.peerCid,
      ...(l.active ? { dksi: l.active.dksi, txCount: l.active.upTx.count } : {}),
      ...(l.kd ? { kdId: l.kd.id } : {}),
    };
  }

  linkIds(): number[] {
    return [...this.links.keys()];
  }

  /** KD method (c): installs KD from the relay MSK under KD ID = KSI_D2D (both UEs call it with the same MSK). */
  addRelayMsk(msk: Uint8Array, ksiD2D: number): void {
    const { kdId, kd } = kdFromRelayMsk(msk, ksiD2D);
    this.relayKds.set(kdId, kd);
  }

  /**
   * Starts a direct link to `peer` (an opaque medium address) whose permanent identity is `target`:
   * sends a Direct Communication Request. Returns the new link id (= this UE's connection identity).
   */
  connect(
    peer: string,
    target: string,
    method: Exclude<KdMethodName, 'existing'>,
    ksiD2D?: number,
  ): { linkId: number; out: DirectLinkOutput[] } {
    const link: Link = {
      id: this.allocateCid(),
      peer,
      peerCid: 0,
      peerId: target,
      state: 'D2D-Null',
      linkInitiator: true,
      policy: this.opts.policy,
    };
    this.links.set(link.id, link);
    if (method === 'msk') {
      if (ksiD2D === undefined || !this.relayKds.has(ksiD2D))
        throw new Error('no relay MSK for this KSI_D2D');
      link.kd = { id: ksiD2D, key: this.relayKds.get(ksiD2D)!, method: 'msk' };
    }
    return { linkId: link.id, out: this.sendRequest(link, method, false, true, target) };
  }

  /** Resumes a link in D2D-Idle with its stored KD and connection identities (no permanent identity sent). */
  resume(linkId: number): DirectLinkOutput[] {
    const link = this.links.get(linkId);
    if (link?.state !== 'D2D-Idle' || !link.kd) throw new Error('link is not in D2D-Idle with a KD');
    link.linkInitiator = true;
    return this.sendRequest(link, 'existing', false, true);
  }

  /** Direct re-keying: fresh nonces, new KD-sess from the same KD (`newKd` false) or a new KD. */
  rekey(
    linkId: number,
    newKd: Exclude<KdMethodName, 'existing' | 'msk'> | false = false,
  ): DirectLinkOutput[] {
    const link = this.links.get(linkId);
    if (link?.state !== 'D2D-Connected' || link.pending) return [];
    this.counters.rekeys.manual++;
    return this.sendRequest(link, newKd || 'existing', true, true);
  }

  /** Sends one user-plane packet over the link's active key set. */
  sendData(linkId: number, payload: Uint8Array): DirectLinkOutput[] {
    const link = this.links.get(linkId);
    if (!link?.active || link.state !== 'D2D-Connected')
      return [this.reject('unexpected_message', 'user', linkId)];
    const ks = link.active;
    if (ks.upTx.count > this.opts.countLimit) return [this.reject('count_exhausted', 'user', linkId)];
    const bytes = ks.upTx.protectWithHeadroom(payload, 2);
    bytes[0] = link.peerCid >>> 8;
    bytes[1] = link.peerCid & 0xff;
    this.counters.protectedPackets.tx.user++;
    this.counters.protectedBytes.tx.user += payload.length;
    const out: DirectLinkOutput[] = [{ kind: 'send', peer: link.peer, plane: 'user', bytes }];
    if (ks.upTx.count >= this.opts.rekeyThreshold && !link.pending) {
      this.counters.rekeys.count++;
      out.push(...this.sendRequest(link, 'existing', true, false));
    }
    return out;
  }

  /** Releases a link: Direct Communication Release, then D2D-Idle (KD and connection identities kept). */
  release(linkId: number): DirectLinkOutput[] {
    const link = this.links.get(linkId);
    if (link?.state !== 'D2D-Connected') return [];
    const out = this.sendProtected(link, {
      type: DL_MSG.DIRECT_COMMUNICATION_RELEASE,
      srcCid: link.id,
      cause: 0,
    });
    this.toIdle(link);
    out.push({ kind: 'released', linkId });
    return out;
  }

  /** Forgets a link and its KD (D2D-Null). */
  forget(linkId: number): void {
    this.links.delete(linkId);
  }

  /** Timeouts: call periodically. */
  tick(): DirectLinkOutput[] {
    const out: DirectLinkOutput[] = [];
    const now = this.opts.now();
    for (const link of this.links.values()) {
      const p = link.pending;
      if (p && now - p.startedAt > this.opts.timeoutMs) {
        link.pending = undefined;
        this.count('timeout');
        out.push({ kind: 'failed', linkId: link.id, cause: 'timeout', method: p.method, rekey: p.rekey });
        if (!link.active && link.state === 'D2D-Null') this.links.delete(link.id);
      }
    }
    return out;
  }

  /** A unicast_signalling frame from `peer`. */
  receiveSignalling(peer: string, bytes: Uint8Array): DirectLinkOutput[] {
    try {
      return this.handleSignalling(peer, bytes);
    } catch (e) {
      if (e instanceof DirectLinkMessageError) return [this.reject('malformed', 'signalling')];
      if (e instanceof KdError) return [this.reject(e.reason, 'signalling')];
      throw e;
    }
  }

  /** A unicast_data frame from `peer`. Deciphers in place: `bytes` must not be reused by the caller. */
  receiveData(peer: string, bytes: Uint8Array): DirectLinkOutput[] {
    if (bytes.length < 2 + PROTECTED_HEADER_BYTES) return [this.reject('malformed', 'user')];
    const link = this.links.get((bytes[0]! << 8) | bytes[1]!);
    if (!link || link.peer !== peer) return [this.reject('unknown_connection', 'user')];
    const pdu = bytes.subarray(2);
    const ksi = peekKsi(pdu);
    const ks = this.keySetFor(link, ksi);
    if (!ks) return [this.reject('wrong_dksi', 'user', link.id)];
    // Deciphered in place: the data event's payload is a view on the received bytes.
    const r = ks.upRx.unprotect(pdu, true);
    if (!r.ok) return [this.unprotectFailure(r.reason, 'user', link.id)];
    this.counters.protectedPackets.rx.user++;
    this.counters.protectedBytes.rx.user += r.payload.length;
    // Data under a responder's pending key set (sent before the Complete arrived) is accepted too.
    return [{ kind: 'data', linkId: link.id, payload: r.payload }];
  }

  // ------------------------------------------------------------------------------------------------------

  /** IDENTITY KD admission: a token from the peer's bucket and from the total one (buckets of idle peers expire). */
  private identityAllowed(peer: string, now: number): boolean {
    if (this.identityPeers.size > 4096) this.identityPeers.clear();
    let b = this.identityPeers.get(peer);
    if (!b) {
      b = new TokenBucket(this.opts.identityKdRate.perPeer);
      this.identityPeers.set(peer, b);
    }
    return b.take(now) && this.identityTotal.take(now);
  }

  /** What KD establishment binds to (KdContext.transcript): Supported_algs and policy as sent in the request. */
  private transcript(algs: SupportedAlgs, policy: SecurityPolicy): Uint8Array {
    return this.opts.insecure.noTranscriptBinding ? new Uint8Array(0) : policyTranscript(algs, policy);
  }

  private allocateCid(): number {
    for (;;) {
      const b = this.opts.random(2);
      const cid = (b[0]! << 8) | b[1]!;
      if (cid !== 0 && !this.links.has(cid)) return cid;
    }
  }

  private count(cause: DirectLinkCause): void {
    this.counters.rejected[cause] = (this.counters.rejected[cause] ?? 0) + 1;
  }

  private reject(cause: DirectLinkCause, plane: Plane, linkId?: number): DirectLinkOutput {
    this.count(cause);
    return { kind: 'rejected', cause, plane, ...(linkId !== undefined ? { linkId } : {}) };
  }

  private unprotectFailure(reason: UnprotectFailure, plane: Plane, linkId?: number): DirectLinkOutput {
    if (reason === 'mac') this.counters.integrityFailures[plane]++;
    if (reason === 'replay' || reason === 'too_old') this.counters.replaysDropped[plane]++;
    return this.reject(reason === 'wrong_ksi' ? 'wrong_dksi' : reason, plane, linkId);
  }

  private keySetFor(link: Link, ksi: number | undefined): KeySet | undefined {
    if (ksi === undefined) return undefined;
    if (link.active?.dksi === ksi) return link.active;
    if (link.previous?.dksi === ksi) return link.previous;
    if (link.pending?.role === 'responder' && link.pending.keys.dksi === ksi) return link.pending.keys;
    return undefined;
  }

  private toIdle(link: Link): void {
    link.state = 'D2D-Idle';
    link.active = undefined;
    link.previous = undefined;
    link.pending = undefined;
  }

  /** Builds the key set of one KD-sess (DIRECTION 0 = the UE that sent Nonce_1 of this procedure). */
  private keySet(
    kdSess: Uint8Array,
    dksi: number,
    algs: ChosenAlgs,
    policy: SecurityPolicy,
    iSentNonce1: boolean,
  ): KeySet {
    const pek = derivePek(kdSess, algs.nea);
    const pik = derivePik(kdSess, algs.nia);
    const sig: ProtectionPolicy = { integrity: true, ciphering: policy.signallingCiphering };
    const up: ProtectionPolicy = {
      integrity: policy.userPlaneIntegrity,
      ciphering: policy.userPlaneCiphering,
    };
    const mk = (bearer: number, direction: 0 | 1) => ({
      ksi: dksi,
      cipherAlg: algs.nea as NeaAlgorithm,
      pek,
      integrityAlg: algs.nia as NiaAlgorithm,
      pik,
      bearer,
      direction,
    });
    const txDir: 0 | 1 = iSentNonce1 ? 0 : 1;
    const rxDir: 0 | 1 = iSentNonce1 ? 1 : 0;
    const { rekeyThreshold: th, replayWindow: w } = this.opts;
    return {
      dksi,
      algs,
      sigTx: new Pc5TxContext(mk(DL_BEARER.SIGNALLING, txDir), sig, th),
      sigRx: new Pc5RxContext(mk(DL_BEARER.SIGNALLING, rxDir), sig, w),
      upTx: new Pc5TxContext(mk(DL_BEARER.USER, txDir), up, th),
      upRx: new Pc5RxContext(mk(DL_BEARER.USER, rxDir), up, w),
      ...(iSentNonce1
        ? { dsmcRx: new Pc5RxContext(mk(DL_BEARER.DSMC, 1), { integrity: true, ciphering: false }, 32) }
        : {}),
    };
  }

  private sendRequest(
    link: Link,
    method: KdMethodName,
    rekey: boolean,
    manual: boolean,
    target?: string,
  ): DirectLinkOutput[] {
    const now = this.opts.now();
    let nonce1 = this.opts.random(16);
    if (this.opts.insecure.reuseNonce1) {
      link.fixedNonce1 ??= nonce1;
      nonce1 = link.fixedNonce1;
    }
    const supportedAlgs = this.opts.supportedAlgs;
    const policy = link.policy;
    const pending: InitiatorPending = {
      role: 'initiator',
      nonce1,
      supportedAlgs,
      policy,
      method: method === 'existing' ? (link.kd?.method ?? 'existing') : method,
      kdCtxNow: now,
      startedAt: now,
      rekey,
      manual,
    };
    const msg: DlMessage = {
      type: rekey ? DL_MSG.DIRECT_REKEYING_REQUEST : DL_MSG.DIRECT_COMMUNICATION_REQUEST,
      srcCid: link.id,
      nonce1,
      supportedAlgs,
      policy,
    };
    if (!rekey) {
      msg.kdMethod = method === 'msk' ? 'msk' : method;
      if (target !== undefined) msg.target = target;
    }
    if (method === 'existing' || method === 'msk') {
      pending.kdId = link.kd!.id;
      msg.kdId = link.kd!.id;
      if (rekey) msg.kdMethod = 'existing';
    } else {
      const m = this.opts.methods[method];
      if (!m) throw new Error(`KD method ${method} is not configured`);
      const run = m.initiate({
        nonce1,
        transcript: this.transcript(supportedAlgs, policy),
        target: link.peerId!,
        now: this.opts.wallClock(),
      });
      pending.kdRun = run;
      msg.keyData = run.keyData;
      if (rekey) msg.kdMethod = method;
    }
    link.pending = pending;
    if (rekey) return this.sendProtected(link, msg);
    return [
      {
        kind: 'send',
        peer: link.peer,
        plane: 'signalling',
        bytes: encodePdu({ protected: false, dstCid: link.peerCid, body: encodeMessage(msg) }),
      },
    ];
  }

  private sendProtected(link: Link, msg: DlMessage, ks = link.active!): DirectLinkOutput[] {
    const body = ks.sigTx.protect(encodeMessage(msg));
    this.counters.protectedPackets.tx.signalling++;
    this.counters.protectedBytes.tx.signalling += body.length;
    return [
      {
        kind: 'send',
        peer: link.peer,
        plane: 'signalling',
        bytes: encodePdu({ protected: true, dstCid: link.peerCid, body }),
      },
    ];
  }

  private handleSignalling(peer: string, bytes: Uint8Array): DirectLinkOutput[] {
    const pdu = decodePdu(bytes);
    if (!pdu.protected) {
      const msg = decodeMessage(pdu.body);
      if (msg.type === DL_MSG.DIRECT_COMMUNICATION_REQUEST) return this.onRequest(peer, pdu.dstCid, msg);
      if (msg.type === DL_MSG.DIRECT_SECURITY_MODE_REJECT) {
        // From UE_2 (refused our request) or from UE_1 (refused our DSMC). Unprotected, as in TS 33.303: it can
        // only end a set-up in progress, never an established key set.
        const link = this.links.get(pdu.dstCid);
        if (!link || link.peer !== peer || !link.pending)
          return [this.reject('unexpected_message', 'signalling')];
        const p = link.pending;
        link.pending = undefined;
        this.count('rejected_by_peer');
        if (!link.active && link.state === 'D2D-Null') this.links.delete(link.id);
        const peerCause = msg.cause !== undefined ? REJECT_CAUSE_BY_CODE.get(msg.cause) : undefined;
        return [
          {
            kind: 'failed',
            linkId: link.id,
            cause: 'rejected_by_peer',
            method: p.method,
            rekey: p.rekey,
            ...(peerCause ? { peerCause } : {}),
          },
        ];
      }
      // Every other message must be protected.
      return [this.reject('policy', 'signalling')];
    }
    const link = this.links.get(pdu.dstCid);
    if (!link || link.peer !== peer) return [this.reject('unknown_connection', 'signalling')];
    const body = pdu.body;
    if (body.length < PROTECTED_HEADER_BYTES + MAC_I_BYTES + 3)
      return [this.reject('malformed', 'signalling')];
    // A DSMC is integrity protected only (UE_1 needs its contents to derive the keys that check it).
    const innerType = body[PROTECTED_HEADER_BYTES];
    if (innerType === DL_MSG.DIRECT_SECURITY_MODE_COMMAND && (body[0]! & 0x40) === 0) {
      return this.onSecurityModeCommand(link, body);
    }
    const ks = this.keySetFor(link, peekKsi(body));
    if (!ks) return [this.reject('wrong_dksi', 'signalling', link.id)];
    const r = ks.sigRx.unprotect(body);
    if (!r.ok) return [this.unprotectFailure(r.reason, 'signalling', link.id)];
    this.counters.protectedPackets.rx.signalling++;
    this.counters.protectedBytes.rx.signalling += body.length;
    const msg = decodeMessage(r.payload);
    switch (msg.type) {
      case DL_MSG.DIRECT_SECURITY_MODE_COMPLETE:
        return this.onComplete(link, ks);
      case DL_MSG.DIRECT_REKEYING_REQUEST:
        if (ks !== link.active) return [this.reject('wrong_dksi', 'signalling', link.id)];
        return this.onRequest(peer, link.id, msg, link);
      case DL_MSG.DIRECT_COMMUNICATION_RELEASE:
        this.toIdle(link);
        return [{ kind: 'released', linkId: link.id }];
      default:
        return [this.reject('unexpected_message', 'signalling', link.id)];
    }
  }

  /** UE_2: Direct Communication Request or Direct Rekeying Request -> (KD establishment) -> DSMC. */
  private onRequest(peer: string, dstCid: number, msg: DlMessage, rekeyLink?: Link): DirectLinkOutput[] {
    const now = this.opts.now();
    let link: Link | undefined = rekeyLink;
    if (!link && dstCid !== 0) {
      // Resume from D2D-Idle by connection identity: no permanent identity on the air.
      link = this.links.get(dstCid);
      if (!link || link.peer !== peer || link.state !== 'D2D-Idle')
        return [this.reject('unknown_connection', 'signalling')];
      if (msg.kdMethod !== 'existing' || msg.kdId !== link.kd?.id)
        return [this.reject('unknown_kd', 'signalling', link.id)];
      link.peerCid = msg.srcCid;
    }
    if (!link && msg.target !== undefined && msg.target !== this.opts.selfId)
      return [this.reject('not_for_me', 'signalling')];
    if (rekeyLink?.pending) {
      // Re-keying collision: the link initiator's request wins.
      if (rekeyLink.pending.role === 'responder' || rekeyLink.linkInitiator)
        return [this.reject('unexpected_message', 'signalling', rekeyLink.id)];
      rekeyLink.pending = undefined;
    }
    const supported = msg.supportedAlgs!;
    const requested = msg.policy!;
    const reject = (cause: DirectLinkCause, cid: number) => {
      const out: DirectLinkOutput[] = [this.reject(cause, 'signalling', link?.id)];
      const rej = encodeMessage({
        type: DL_MSG.DIRECT_SECURITY_MODE_REJECT,
        srcCid: link?.id ?? 0xffff,
        cause: REJECT_CAUSE_CODES[cause] ?? 0xff,
      });
      out.push({
        kind: 'send',
        peer,
        plane: 'signalling',
        bytes: encodePdu({ protected: false, dstCid: cid, body: rej }),
      });
      return out;
    };
    const mine = this.opts.supportedAlgs;
    const nea = NEA_PREFERENCE.find((a) => supported.nea & mine.nea & (1 << a));
    const nia = NIA_PREFERENCE.find((a) => supported.nia & mine.nia & (1 << a));
    if (nea === undefined || nia === undefined) return reject('no_common_algorithm', msg.srcCid);
    if (!covers(requested, this.opts.policy)) return reject('policy_not_acceptable', msg.srcCid);
    const nonce2 = this.opts.random(16);
    const kdCtx = {
      nonce1: msg.nonce1!,
      transcript: this.transcript(supported, requested),
      target: this.opts.selfId,
      now: this.opts.wallClock(),
    };
    let kd: Uint8Array;
    let kdId: number;
    let keyData: Uint8Array | undefined;
    let peerId: string;
    let method: KdMethodName;
    const kdMethod = msg.kdMethod ?? 'existing';
    if (kdMethod === 'existing') {
      if (!link?.kd || msg.kdId !== link.kd.id) return reject('unknown_kd', msg.srcCid);
      kd = link.kd.key;
      kdId = link.kd.id;
      peerId = link.peerId ?? '';
      method = link.kd.method;
    } else if (kdMethod === 'msk') {
      const k = msg.kdId !== undefined ? this.relayKds.get(msg.kdId) : undefined;
      if (!k) return reject('unknown_kd', msg.srcCid);
      kd = k;
      kdId = msg.kdId!;
      peerId = link?.peerId ?? `cid-${msg.srcCid}`;
      method = 'msk';
    } else {
      const m = this.opts.methods[kdMethod];
      if (!m || !msg.keyData) return reject('method_unavailable', msg.srcCid);
      if (kdMethod === 'identity' && !this.identityAllowed(peer, now))
        return reject('rate_limited', msg.srcCid);
      let r: ReturnType<KdMethod['respond']>;
      try {
        r = m.respond(msg.keyData, kdCtx, nonce2, this.opts.selfId);
      } catch (e) {
        // KD establishment failed (bad or revoked certificate, bad signature, ...): tell UE_1 why.
        if (e instanceof KdError) return reject(e.reason, msg.srcCid);
        throw e;
      }
      if (link?.peerId !== undefined && r.peerId !== link.peerId)
        return [this.reject('cert_identity', 'signalling', link.id)];
      kd = r.kd;
      keyData = r.keyData;
      peerId = r.peerId;
      method = kdMethod;
      const id = this.opts.random(4);
      kdId = new DataView(id.buffer, id.byteOffset, 4).getUint32(0);
    }
    if (!link) {
      link = {
        id: this.allocateCid(),
        peer,
        peerCid: msg.srcCid,
        peerId,
        state: 'D2D-Null',
        linkInitiator: false,
        policy: requested,
      };
      this.links.set(link.id, link);
    }
    if (!rekeyLink) {
      link.linkInitiator = false;
      link.policy = requested;
    }
    const dksi = link.active ? (link.active.dksi + 1) & 0x0f : this.opts.random(1)[0]! & 0x0f;
    const algs: ChosenAlgs = { nea: nea as ChosenAlgs['nea'], nia: nia as ChosenAlgs['nia'] };
    const kdSess = deriveKdSess(kd, msg.nonce1!, nonce2);
    const keys = this.keySet(kdSess, dksi, algs, link.policy, false);
    link.pending = { role: 'responder', keys, kd, kdId, method, peerId, startedAt: now, rekey: !!rekeyLink };
    const dsmc: DlMessage = {
      type: DL_MSG.DIRECT_SECURITY_MODE_COMMAND,
      srcCid: link.id,
      nonce2,
      chosenAlgs: algs,
      echoedSupportedAlgs: supported,
      echoedPolicy: requested,
      kdId,
      ...(keyData ? { keyData } : {}),
    };
    const tx = new Pc5TxContext(
      {
        ksi: dksi,
        cipherAlg: 0,
        integrityAlg: algs.nia,
        pik: derivePik(kdSess, algs.nia),
        bearer: DL_BEARER.DSMC,
        direction: 1,
      },
      { integrity: true, ciphering: false },
    );
    const body = tx.protect(encodeMessage(dsmc));
    this.counters.protectedPackets.tx.signalling++;
    this.counters.protectedBytes.tx.signalling += body.length;
    return [
      {
        kind: 'send',
        peer,
        plane: 'signalling',
        bytes: encodePdu({ protected: true, dstCid: msg.srcCid, body }),
      },
    ];
  }

  /** UE_1: DSMC -> checks (KD, MAC-I, echoed parameters, DKSI) -> Direct Security Mode Complete. */
  private onSecurityModeCommand(link: Link, body: Uint8Array): DirectLinkOutput[] {
    const dksi = peekKsi(body)!;
    const p = link.pending;
    if (p?.role !== 'initiator') {
      // Not waiting: a replayed DSMC of a current key set hits that key set's window.
      const ks = this.keySetFor(link, dksi);
      if (ks?.dsmcRx) {
        const r = ks.dsmcRx.unprotect(body);
        if (!r.ok) return [this.unprotectFailure(r.reason, 'signalling', link.id)];
      }
      return [this.reject('unexpected_message', 'signalling', link.id)];
    }
    if (p.rekey && link.active && (dksi === link.active.dksi || dksi === link.previous?.dksi))
      return [this.reject('wrong_dksi', 'signalling', link.id)];
    const msg = decodeMessage(body.subarray(PROTECTED_HEADER_BYTES, body.length - MAC_I_BYTES));
    if (msg.type !== DL_MSG.DIRECT_SECURITY_MODE_COMMAND)
      return [this.reject('malformed', 'signalling', link.id)];
    let kd: Uint8Array;
    let peerId = link.peerId ?? '';
    if (p.kdRun) {
      let r: ReturnType<KdInitiatorRun['complete']>;
      try {
        r = p.kdRun.complete(msg.keyData, msg.nonce2!);
      } catch (e) {
        if (!(e instanceof KdError)) throw e;
        // UE_2's key establishment data does not check (e.g. its certificate is revoked): end the set-up on both sides.
        link.pending = undefined;
        if (!link.active && link.state === 'D2D-Null') this.links.delete(link.id);
        const rej = encodeMessage({
          type: DL_MSG.DIRECT_SECURITY_MODE_REJECT,
          srcCid: link.id,
          cause: REJECT_CAUSE_CODES[e.reason] ?? 0xff,
        });
        return [
          this.reject(e.reason, 'signalling', link.id),
          { kind: 'failed', linkId: link.id, cause: e.reason, method: p.method, rekey: p.rekey },
          {
            kind: 'send',
            peer: link.peer,
            plane: 'signalling',
            bytes: encodePdu({ protected: false, dstCid: msg.srcCid, body: rej }),
          },
        ];
      }
      kd = r.kd;
      peerId = r.peerId;
    } else {
      if (!link.kd) return [this.reject('unknown_kd', 'signalling', link.id)];
      kd = link.kd.key;
    }
    const kdSess = deriveKdSess(kd, p.nonce1, msg.nonce2!);
    const keys = this.keySet(kdSess, dksi, msg.chosenAlgs!, p.policy, true);
    const r = keys.dsmcRx!.unprotect(body);
    if (!r.ok) return [this.unprotectFailure(r.reason, 'signalling', link.id)];
    if (!p.kdRun && msg.kdId !== link.kd!.id) return [this.reject('unknown_kd', 'signalling', link.id)];
    // Bidding-down / MITM protection: what UE_2 saw must be exactly what UE_1 sent.
    const echoed = msg.echoedSupportedAlgs!;
    const altered =
      echoed.nea !== p.supportedAlgs.nea ||
      echoed.nia !== p.supportedAlgs.nia ||
      !samePolicy(msg.echoedPolicy!, p.policy);
    if (altered && !this.opts.insecure.noEchoCheck)
      return [this.reject('echo_mismatch', 'signalling', link.id)];
    const { nea, nia } = msg.chosenAlgs!;
    if (!(p.supportedAlgs.nea & (1 << nea)) || !(p.supportedAlgs.nia & (1 << nia)))
      return [this.reject('echo_mismatch', 'signalling', link.id)];
    if (!link.kd || link.kd.key !== kd) {
      link.kd = { id: msg.kdId!, key: kd, method: p.method };
    }
    // Ground truth for the threat matrix (not a check: the checks above already ran or were switched off).
    // A replayed DSMC counts as a replay only (whatever offer it echoes).
    link.acceptedNonce2 ??= new Set();
    const n2 = Buffer.from(msg.nonce2!).toString('hex');
    if (link.acceptedNonce2.has(n2)) this.counters.dsmcReplaysAccepted++;
    else {
      if (altered) this.counters.biddingDownAccepted++;
      if (link.acceptedNonce2.size < 256) link.acceptedNonce2.add(n2);
    }
    link.peerCid = msg.srcCid;
    link.peerId = peerId;
    link.pending = undefined;
    link.previous = link.active;
    link.active = keys;
    link.state = 'D2D-Connected';
    const out = this.sendProtected(
      link,
      { type: DL_MSG.DIRECT_SECURITY_MODE_COMPLETE, srcCid: link.id },
      keys,
    );
    this.counters.established++;
    out.push({
      kind: 'established',
      linkId: link.id,
      peer: link.peer,
      peerId,
      method: p.method,
      rekey: p.rekey,
      setupMs: this.opts.now() - p.startedAt,
      initiator: true,
      algs: keys.algs,
    });
    return out;
  }

  /** UE_2: Direct Security Mode Complete under the pending key set -> D2D-Connected. */
  private onComplete(link: Link, ks: KeySet): DirectLinkOutput[] {
    const p = link.pending;
    if (p?.role !== 'responder' || p.keys !== ks) return [this.reject('wrong_dksi', 'signalling', link.id)];
    link.kd = { id: p.kdId, key: p.kd, method: p.method };
    link.peerId = p.peerId;
    link.pending = undefined;
    link.previous = link.active;
    link.active = ks;
    link.state = 'D2D-Connected';
    this.counters.established++;
    return [
      {
        kind: 'established',
        linkId: link.id,
        peer: link.peer,
        peerId: p.peerId,
        method: p.method,
        rekey: p.rekey,
        setupMs: this.opts.now() - p.startedAt,
        initiator: false,
        algs: ks.algs,
      },
    ];
  }
}

/** Cause octets of a Direct Security Mode Reject (prosec's own values, docs/frames.md; 0xFF: other). */
export const REJECT_CAUSE_CODES: Partial<Record<DirectLinkCause, number>> = {
  no_common_algorithm: 1,
  policy_not_acceptable: 2,
  unknown_kd: 3,
  method_unavailable: 4,
  cert_invalid: 5,
  cert_revoked: 6,
  cert_identity: 7,
  signature: 8,
  key_data: 9,
  identity_kd: 10,
  rate_limited: 11,
};
const REJECT_CAUSE_BY_CODE = new Map(
  Object.entries(REJECT_CAUSE_CODES).map(([k, v]) => [v, k as DirectLinkCause]),
);

/** Token bucket over the endpoint's clock (ms): `rate` tokens per second, burst `rate`. */
class TokenBucket {
  private tokens: number;
  private at = Number.NEGATIVE_INFINITY;
  constructor(private readonly rate: number) {
    this.tokens = rate;
  }
  take(now: number): boolean {
    if (this.at !== Number.NEGATIVE_INFINITY)
      this.tokens = Math.min(this.rate, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
