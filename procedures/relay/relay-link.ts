// UE-to-network relay PC5 link (TR 33.833 UE-to-network relay solution with EAP-AKA' via the relay): the
// relay-signalling messages carried in PC5 `relay_signalling` frames (prosec's own, versioned, docs/relay.md) and
// the security context from the MSK (step 3): KD = KDF(MSK, 0xF2, RSC), KD-sess = KDF(KD, 0xF0, Nonce_1, Nonce_2),
// PEK/PIK = KDF(KD-sess, 0xF1, ...) (crypto-core/prose-kdf.ts). Pure codec + key schedule; the roles do the I/O.
import type { NeaAlgorithm } from '../../crypto-core/nea.js';
import type { NiaAlgorithm } from '../../crypto-core/nia.js';
import { deriveKdFromMsk, deriveKdSess, derivePek, derivePik } from '../../crypto-core/prose-kdf.js';
import { Pc5RxContext, Pc5TxContext, type ProtectionPolicy } from '../pc5/protection.js';

/** Version octet of every relay-signalling message. */
export const RELAY_MSG_VERSION = 1;

/** Relay-signalling message types (docs/relay.md). */
export const RELAY_MSG = {
  /** Relay -> discovery group: Model A announcement (RSC, relay L2 ID in the frame). */
  ANNOUNCE: 0x01,
  /** Remote UE -> relay: Direct Communication Request (RSC, Nonce_1). */
  DCR: 0x02,
  /** Either way: one EAP packet (RFC 3748) between the remote UE and the relay (EAP authenticator). */
  EAP: 0x03,
  /** Relay -> remote UE: Direct Security Mode Command (KSI_D2D, Nonce_2, algorithms, protected with the new keys). */
  DSMC: 0x04,
  /** Remote UE -> relay: Direct Security Mode Complete (protected). */
  DSM_COMPLETE: 0x05,
  /** Relay -> remote UE: Direct Communication Reject (cause). */
  REJECT: 0x06,
} as const;

/** Reject causes (one octet). */
export const RELAY_REJECT = { AUTH_FAILED: 1, NETWORK_UNREACHABLE: 2, SECURITY: 3, CONGESTION: 4 } as const;

/** PC5 bearers under one KD-sess: 0 = relay signalling, 1 = relayed user data (BEARER input of NEA/NIA). */
export const BEARER_SIGNALLING = 0;
export const BEARER_USER_DATA = 1;
/** DIRECTION input: 0 = remote UE -> relay (uplink), 1 = relay -> remote UE (downlink). */
export const DIR_UPLINK = 0 as const;
export const DIR_DOWNLINK = 1 as const;

export class RelayMsgError extends Error {
  override readonly name = 'RelayMsgError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

export interface RelayMsg {
  type: number;
  body: Uint8Array;
}

export function encodeRelayMsg(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + body.length);
  out[0] = RELAY_MSG_VERSION;
  out[1] = type;
  out.set(body, 2);
  return out;
}

export function decodeRelayMsg(bytes: Uint8Array): RelayMsg {
  if (bytes.length < 2) throw new RelayMsgError('too_short');
  if (bytes[0] !== RELAY_MSG_VERSION) throw new RelayMsgError('bad_version');
  return { type: bytes[1]!, body: bytes.subarray(2) };
}

/** ANNOUNCE / DCR body: RSC (3) [|| Nonce_1 (16) for DCR]. */
export function encodeDcr(rsc: Uint8Array, nonce1: Uint8Array): Uint8Array {
  return encodeRelayMsg(RELAY_MSG.DCR, Uint8Array.from([...rsc, ...nonce1]));
}

export function decodeDcr(body: Uint8Array): { rsc: Uint8Array; nonce1: Uint8Array } {
  if (body.length !== 19) throw new RelayMsgError('bad_dcr');
  return { rsc: body.slice(0, 3), nonce1: body.slice(3, 19) };
}

/** The security parameters in clear in a DSMC (the receiver needs them to derive the keys that protect it). */
export interface DsmcParams {
  ksi: number;
  nonce2: Uint8Array;
  cipherAlg: NeaAlgorithm;
  integrityAlg: NiaAlgorithm;
}

/** DSMC body: KSI (1) || Nonce_2 (16) || NEA (1) || NIA (1) || protected PDU over (same 19 octets || Nonce_1). */
export function encodeDsmc(p: DsmcParams, nonce1: Uint8Array, tx: Pc5TxContext): Uint8Array {
  const clear = Uint8Array.from([p.ksi, ...p.nonce2, p.cipherAlg, p.integrityAlg]);
  const inner = new Uint8Array(clear.length + 16);
  inner.set(clear);
  inner.set(nonce1, clear.length);
  const pdu = tx.protect(inner);
  const body = new Uint8Array(clear.length + pdu.length);
  body.set(clear);
  body.set(pdu, clear.length);
  return encodeRelayMsg(RELAY_MSG.DSMC, body);
}

export function decodeDsmcParams(body: Uint8Array): {
  params: DsmcParams;
  pdu: Uint8Array;
  clear: Uint8Array;
} {
  if (body.length < 19 + 5) throw new RelayMsgError('bad_dsmc');
  const ksi = body[0]!;
  const c = body[17]!;
  const i = body[18]!;
  if (ksi > 15 || c > 3 || i > 3) throw new RelayMsgError('bad_dsmc');
  return {
    params: { ksi, nonce2: body.slice(1, 17), cipherAlg: c as NeaAlgorithm, integrityAlg: i as NiaAlgorithm },
    pdu: body.subarray(19),
    clear: body.subarray(0, 19),
  };
}

/** Keys of one relay link. */
export interface RelayLinkKeys {
  kd: Uint8Array;
  kdSess: Uint8Array;
  pek: Uint8Array;
  pik: Uint8Array;
}

/** Step 3: KD from the MSK bound to the RSC (FC 0xF2), KD-sess from the nonces (FC 0xF0), PEK/PIK (FC 0xF1). */
export function deriveRelayLinkKeys(
  msk: Uint8Array,
  rsc: Uint8Array,
  nonce1: Uint8Array,
  nonce2: Uint8Array,
  cipherAlg: NeaAlgorithm,
  integrityAlg: NiaAlgorithm,
): RelayLinkKeys {
  const kd = deriveKdFromMsk(msk, rsc);
  const kdSess = deriveKdSess(kd, nonce1, nonce2);
  return { kd, kdSess, pek: derivePek(kdSess, cipherAlg), pik: derivePik(kdSess, integrityAlg) };
}

/** Protection contexts for one side of the link: signalling (integrity mandatory) and user data. */
export interface RelayLinkContexts {
  sigTx: Pc5TxContext;
  sigRx: Pc5RxContext;
  dataTx: Pc5TxContext;
  dataRx: Pc5RxContext;
}

export function relayLinkContexts(
  side: 'remote-ue' | 'relay',
  keys: RelayLinkKeys,
  p: DsmcParams,
  dataPolicy: ProtectionPolicy,
): RelayLinkContexts {
  const txDir = side === 'remote-ue' ? DIR_UPLINK : DIR_DOWNLINK;
  const rxDir = side === 'remote-ue' ? DIR_DOWNLINK : DIR_UPLINK;
  const base = {
    ksi: p.ksi,
    cipherAlg: p.cipherAlg,
    integrityAlg: p.integrityAlg,
    pek: keys.pek,
    pik: keys.pik,
  };
  const sigPolicy: ProtectionPolicy = { ciphering: p.cipherAlg !== 0, integrity: true };
  return {
    sigTx: new Pc5TxContext({ ...base, bearer: BEARER_SIGNALLING, direction: txDir }, sigPolicy),
    sigRx: new Pc5RxContext({ ...base, bearer: BEARER_SIGNALLING, direction: rxDir }, sigPolicy),
    dataTx: new Pc5TxContext({ ...base, bearer: BEARER_USER_DATA, direction: txDir }, dataPolicy),
    dataRx: new Pc5RxContext({ ...base, bearer: BEARER_USER_DATA, direction: rxDir }, dataPolicy),
  };
}
