// ProSe key derivations (TS 33.303 Annex A where its FC values are confirmed, project-private FC values otherwise),
// all built on the TS 33.220 Annex B KDF. This file is the ONE place that lists the FC values the project uses.
import { CryptoInputError, requireLength } from './errors.js';
import { kdf } from './kdf-ts33220.js';

/**
 * FC values. `source` says where each comes from:
 * - 'TS 33.303': confirmed from TS 33.303 (see ../shared/vectors/prose_kdf_constants.json);
 * - 'prosec-private': chosen by this project in the private range 0xF0..0xFF, which no 3GPP specification
 *   allocates (3GPP allocations stop well below it). They interoperate only with prosec itself.
 */
export const PROSE_FC = {
  /** TS 33.303 A.3: PTK from PGK. */
  PTK: 0x4a,
  /** prosec-private: KD-sess from KD, Nonce_1, Nonce_2 (one-to-one direct link, TS 33.303 6.5.5 / A.9 analogue). */
  KD_SESS: 0xf0,
  /** prosec-private: algorithm keys (PEK/PIK) from KD-sess or PTK (TS 33.401 A.7 construction). */
  ALGORITHM_KEY: 0xf1,
  /** prosec-private: KD for the UE-to-network relay from the EAP-AKA' MSK (KDF variant; see deriveKdFromMsk). */
  KD_FROM_MSK: 0xf2,
  /** prosec-private: GSK (group session key) from GMK, GSK-ID and group identity. */
  GSK: 0xf3,
  /** prosec-private: KD from a P-256 ECDH shared secret (certificate-based KD, TR 33.833 sol. #4.1). */
  KD_FROM_ECDH: 0xf4,
  /** prosec-private: KD from the SAKKE-carried SSV (IDENTITY KD, TR 33.833 sol. #4.3). */
  KD_FROM_SSV: 0xf5,
  /** prosec-private: discovery keys (rotating-ID key and discovery MIC key) from a ProSe Application Key. */
  DISCOVERY_KEY: 0xfa,
} as const;

/** Where each FC value comes from (for docs and logs). */
export const PROSE_FC_SOURCE: Record<keyof typeof PROSE_FC, 'TS 33.303' | 'prosec-private'> = {
  PTK: 'TS 33.303',
  KD_SESS: 'prosec-private',
  ALGORITHM_KEY: 'prosec-private',
  KD_FROM_MSK: 'prosec-private',
  GSK: 'prosec-private',
  KD_FROM_ECDH: 'prosec-private',
  KD_FROM_SSV: 'prosec-private',
  DISCOVERY_KEY: 'prosec-private',
};

/**
 * Algorithm type distinguishers (P0 of the algorithm key derivation). TS 33.303 values are not confirmed;
 * prosec uses 0x00 / 0x01 as TS 33.536 A.3 does for the analogous PC5 keys (NRPEK/NRPIK).
 */
export const ALG_DISTINGUISHER = { ENCRYPTION: 0x00, INTEGRITY: 0x01 } as const;
export type AlgDistinguisher = (typeof ALG_DISTINGUISHER)[keyof typeof ALG_DISTINGUISHER];

/** Algorithm identities (P1): 128-NEA0..3 / 128-NIA0..3 as in TS 33.401 5.1.3/5.1.4. */
export type AlgorithmId = 0 | 1 | 2 | 3;

function requireKey256(what: string, key: Uint8Array): void {
  requireLength(what, key, 32);
}

/** KD-sess = KDF(KD, FC=0xF0, P0=Nonce_1, P1=Nonce_2): 256-bit session key of a direct link (TS 33.303 6.5.5.2 role). */
export function deriveKdSess(kd: Uint8Array, nonce1: Uint8Array, nonce2: Uint8Array): Uint8Array {
  requireKey256('KD', kd);
  requireLength('Nonce_1', nonce1, 16);
  requireLength('Nonce_2', nonce2, 16);
  return kdf(kd, PROSE_FC.KD_SESS, nonce1, nonce2);
}

/**
 * PEK/PIK = LSB-128 of KDF(key, FC=0xF1, P0=algorithm type distinguisher, P1=algorithm identity),
 * the TS 33.401 A.7 construction applied to KD-sess (one-to-one) or PTK (one-to-many, TS 33.303 A.4 role).
 */
export function deriveAlgorithmKey(
  key: Uint8Array,
  distinguisher: AlgDistinguisher,
  algId: AlgorithmId | typeof PROSEC_AES_GCM_ALG_ID,
): Uint8Array {
  requireKey256('KD-sess/PTK', key);
  if (distinguisher !== 0 && distinguisher !== 1) {
    throw new CryptoInputError(
      'distinguisher',
      `algorithm type distinguisher must be 0 or 1, got ${distinguisher}`,
    );
  }
  if (!Number.isInteger(algId) || algId < 0 || algId > 15) {
    throw new CryptoInputError('alg_id', `algorithm identity must be 0..15, got ${algId}`);
  }
  const out = kdf(key, PROSE_FC.ALGORITHM_KEY, Uint8Array.of(distinguisher), Uint8Array.of(algId));
  return out.slice(16);
}

/**
 * Algorithm identity prosec uses for AES-128-GCM group media (an option of issue #6; 3GPP defines 0-3 only, 4-15
 * are reserved, so 8 cannot collide with a 128-NEA key). Its key is deriveAlgorithmKey(PTK, encryption, 8).
 */
export const PROSEC_AES_GCM_ALG_ID = 8;

/** AES-128-GCM key for group media from a PTK (prosec-private algorithm identity 8, docs/group.md). */
export function deriveAesGcmKey(ptk: Uint8Array): Uint8Array {
  return deriveAlgorithmKey(ptk, ALG_DISTINGUISHER.ENCRYPTION, PROSEC_AES_GCM_ALG_ID);
}

/** PEK: encryption key from KD-sess or PTK for 128-NEA<algId> (deriveAlgorithmKey with the encryption distinguisher). */
export function derivePek(key: Uint8Array, algId: AlgorithmId): Uint8Array {
  return deriveAlgorithmKey(key, ALG_DISTINGUISHER.ENCRYPTION, algId);
}

/** PIK: integrity key from KD-sess or PTK for 128-NIA<algId> (deriveAlgorithmKey with the integrity distinguisher). */
export function derivePik(key: Uint8Array, algId: AlgorithmId): Uint8Array {
  return deriveAlgorithmKey(key, ALG_DISTINGUISHER.INTEGRITY, algId);
}

/**
 * TS 33.303 A.3: PTK = KDF(PGK, FC=0x4A, P0=Group Member Identity (3 octets, L2 source),
 * P1=PTK Identity (2 octets), P2=Group Identity (3 octets)).
 */
export function derivePtk(
  pgk: Uint8Array,
  groupMemberId: Uint8Array,
  ptkId: number,
  groupId: Uint8Array,
): Uint8Array {
  requireKey256('PGK', pgk);
  requireLength('Group Member Identity', groupMemberId, 3);
  requireLength('Group Identity', groupId, 3);
  if (!Number.isInteger(ptkId) || ptkId < 0 || ptkId > 0xffff) {
    throw new CryptoInputError('ptk_id_range', `PTK Identity must be a 16-bit counter, got ${ptkId}`);
  }
  return kdf(pgk, PROSE_FC.PTK, groupMemberId, Uint8Array.of(ptkId >>> 8, ptkId & 0xff), groupId);
}

/** UE-to-network relay: KD = the first 256 bits of the EAP-AKA' MSK (the MSK-to-KD mapping prosec uses by default). */
export function kdFromMsk(msk: Uint8Array): Uint8Array {
  requireLength('MSK', msk, 64);
  return msk.slice(0, 32);
}

/** UE-to-network relay, KDF variant: KD = KDF(MSK, FC=0xF2, P0=Relay Service Code (3 octets)), binding KD to the RSC. */
export function deriveKdFromMsk(msk: Uint8Array, relayServiceCode: Uint8Array): Uint8Array {
  requireLength('MSK', msk, 64);
  requireLength('Relay Service Code', relayServiceCode, 3);
  return kdf(msk, PROSE_FC.KD_FROM_MSK, relayServiceCode);
}

/** Group session key: GSK = KDF(GMK, FC=0xF3, P0=GSK-ID (4 octets), P1=Group Identity), 256 bits. */
export function deriveGsk(gmk: Uint8Array, gskId: Uint8Array, groupId: Uint8Array): Uint8Array {
  requireKey256('GMK', gmk);
  requireLength('GSK-ID', gskId, 4);
  if (!(groupId instanceof Uint8Array) || groupId.length === 0) {
    throw new CryptoInputError('group_id', 'Group Identity must be a non-empty Uint8Array');
  }
  return kdf(gmk, PROSE_FC.GSK, gskId, groupId);
}

/**
 * Certificate-based KD: KD = KDF(Z, FC=0xF4, P0=initiator's ephemeral public key, P1=responder's), Z the P-256
 * ECDH shared secret (x-coordinate, 32 octets), public keys uncompressed (65 octets each).
 */
export function deriveKdFromEcdh(z: Uint8Array, pub1: Uint8Array, pub2: Uint8Array): Uint8Array {
  requireLength('ECDH shared secret', z, 32);
  requireLength('initiator public key', pub1, 65);
  requireLength('responder public key', pub2, 65);
  return kdf(z, PROSE_FC.KD_FROM_ECDH, pub1, pub2);
}

/**
 * IDENTITY KD (MIKEY-SAKKE): KD = KDF(SSV, FC=0xF5, P0=initiator URI, P1=responder URI), binding the 128-bit
 * SAKKE SSV to both identities and stretching it to the 256-bit KD.
 */
export function deriveKdFromSsv(ssv: Uint8Array, initiatorUri: string, responderUri: string): Uint8Array {
  requireLength('SSV', ssv, 16);
  const enc = new TextEncoder();
  return kdf(ssv, PROSE_FC.KD_FROM_SSV, enc.encode(initiatorUri), enc.encode(responderUri));
}

/** Discovery key purposes (P1 of deriveDiscoveryKey): the over-the-air ID key and the discovery MIC key. */
export const DISCOVERY_KEY_PURPOSE = { ROTATING_ID: 0x01, MIC: 0x02 } as const;

/**
 * Discovery keys (TR 33.833 solution #2.1/#2.2): K = KDF(ProSe Application Key, FC=0xFA, P0=ProSe Application
 * Code, P1=purpose), 256 bits; separate keys let a monitor hold the ID key while the ProSe Function keeps the MIC key.
 */
export function deriveDiscoveryKey(
  proseAppKey: Uint8Array,
  proseAppCode: Uint8Array,
  purpose: (typeof DISCOVERY_KEY_PURPOSE)[keyof typeof DISCOVERY_KEY_PURPOSE],
): Uint8Array {
  requireKey256('ProSe Application Key', proseAppKey);
  if (proseAppCode.length < 1 || proseAppCode.length > 64)
    throw new CryptoInputError('bad_length', 'ProSe Application Code must be 1..64 octets');
  return kdf(proseAppKey, PROSE_FC.DISCOVERY_KEY, proseAppCode, Uint8Array.of(purpose));
}
