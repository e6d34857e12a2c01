// IDENTITY KD establishment (TR 33.833 sol. #4.3): UE_1 picks an SSV, SAKKE-encapsulates it to UE_2's identity
// (RFC 6508) and sends it in a MIKEY-SAKKE I_MESSAGE (RFC 6509) signed with its ECCSI key (RFC 6507).
// RAND = Nonce_1 binds the I_MESSAGE to this request; KD = KDF(SSV, FC 0xF5, URI_1, URI_2).
import { randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../../crypto-core/bytes.js';
import { CryptoInputError } from '../../crypto-core/errors.js';
import type { UeKeyBundle } from '../../crypto-core/kms-bundle.js';
import { ntpFromUnixMs, ntpToUnixMs } from '../../crypto-core/mikey.js';
import { buildSakkeIMessage, parseSakkeIMessage } from '../../crypto-core/mikey-sakke.js';
import { deriveKdFromSsv } from '../../crypto-core/prose-kdf.js';
import { eccsiSign, eccsiVerify } from '../../crypto-core/rfc6507-eccsi.js';
import { SAKKE_SSV_BYTES, sakkeDecapsulate, sakkeEncapsulate } from '../../crypto-core/rfc6508-sakke.js';
import { identityFor } from '../../crypto-core/rfc6509-identity.js';
import {
  type KdContext,
  KdError,
  type KdInitiatorRun,
  type KdMethod,
  type KdResponderResult,
} from './kd-method.js';

/** The RFC 6509 URI of a UE's permanent identity. */
export function ueIdentityUri(nodeId: string): string {
  return `prose-ue:${nodeId}`;
}

/** Largest accepted difference between the I_MESSAGE timestamp and the receiver's clock (replay window). */
export const IMESSAGE_MAX_SKEW_MS = 5 * 60_000;

export class IdentityKdMethod implements KdMethod {
  readonly name = 'identity' as const;

  /** `bundle`: this UE's KMS bundle (validated on receipt, crypto-core/kms-bundle.ts validateBundle). */
  constructor(
    private readonly selfId: string,
    private readonly bundle: UeKeyBundle,
  ) {}

  initiate(ctx: KdContext): KdInitiatorRun {
    const b = this.bundle;
    const now = new Date(ctx.now);
    const selfUri = ueIdentityUri(this.selfId);
    const peerUri = ueIdentityUri(ctx.target);
    const ssv = new Uint8Array(randomBytes(SAKKE_SSV_BYTES));
    const sakkeData = sakkeEncapsulate(ssv, identityFor(peerUri, now, b.keyPeriod), b.Z_S);
    const keyData = buildSakkeIMessage({
      csbId: 0,
      timestamp: ntpFromUnixMs(ctx.now),
      rand: ctx.nonce1,
      initiatorUri: selfUri,
      responderUri: peerUri,
      kmsUri: b.kmsUri,
      sakkeData,
      sign: (m) => eccsiSign(m, b.identity, b.SSK, b.PVT, b.KPAK),
    });
    const kd = deriveKdFromSsv(ssv, selfUri, peerUri);
    return { keyData, complete: () => ({ kd, peerId: ctx.target }) };
  }

  respond(keyData: Uint8Array, ctx: KdContext, _nonce2: Uint8Array, selfId: string): KdResponderResult {
    const b = this.bundle;
    const now = new Date(ctx.now);
    let msg: ReturnType<typeof parseSakkeIMessage>;
    try {
      msg = parseSakkeIMessage(keyData, (signed, sig, uri) =>
        eccsiVerify(signed, sig, identityFor(uri, now, b.keyPeriod), b.KPAK),
      );
    } catch (e) {
      if (e instanceof CryptoInputError) {
        throw new KdError(e.code === 'signature' ? 'signature' : 'identity_kd', `I_MESSAGE: ${e.message}`);
      }
      throw e;
    }
    const selfUri = ueIdentityUri(selfId);
    if (msg.responderUri !== selfUri) throw new KdError('identity_kd', 'I_MESSAGE is for another identity');
    if (!msg.initiatorUri.startsWith('prose-ue:')) throw new KdError('identity_kd', 'initiator is not a UE');
    if (!constantTimeEqual(msg.rand, ctx.nonce1)) throw new KdError('identity_kd', 'RAND is not Nonce_1');
    if (Math.abs(ntpToUnixMs(msg.timestamp) - ctx.now) > IMESSAGE_MAX_SKEW_MS)
      throw new KdError('identity_kd', 'I_MESSAGE timestamp outside the accepted window');
    let ssv: Uint8Array;
    try {
      ssv = sakkeDecapsulate(msg.sakkeData, identityFor(selfUri, now, b.keyPeriod), b.RSK, b.Z_S);
    } catch (e) {
      if (e instanceof CryptoInputError) throw new KdError('identity_kd', `SAKKE: ${e.message}`);
      throw e;
    }
    return {
      kd: deriveKdFromSsv(ssv, msg.initiatorUri, selfUri),
      peerId: msg.initiatorUri.slice('prose-ue:'.length),
    };
  }
}
