// The contract between the direct link state machine and a KD establishment method (TR 33.833 sol. #4.1 leaves
// the method open; prosec offers certificates, IDENTITY (sol. #4.3, MIKEY-SAKKE) and the relay MSK).
import type { KdMethodName } from './messages.js';

/** A KD establishment failure; `reason` is counted (low cardinality) and the message dropped. */
export class KdError extends Error {
  override readonly name = 'KdError';
  constructor(
    readonly reason:
      | 'cert_invalid'
      | 'cert_revoked'
      | 'cert_identity'
      | 'signature'
      | 'key_data'
      | 'identity_kd'
      | 'unknown_kd'
      | 'method_unavailable',
    message: string,
  ) {
    super(message);
  }
}

/** What both sides bind the KD establishment to (all from the Direct Communication Request). */
export interface KdContext {
  nonce1: Uint8Array;
  /** Supported_algs and security policy octets as sent in the request. */
  transcript: Uint8Array;
  /** Permanent identity of the initiator's target (the responder). */
  target: string;
  /** Milliseconds since the epoch (the clock the state machine was given). */
  now: number;
}

/** Initiator side of one KD establishment run. */
export interface KdInitiatorRun {
  /** Key-establishment data for the Direct Communication Request. */
  readonly keyData: Uint8Array;
  /** On the DSMC: KD from the responder's key data (throws KdError), and the peer's verified identity. */
  complete(responderKeyData: Uint8Array | undefined, nonce2: Uint8Array): { kd: Uint8Array; peerId: string };
}

/** Responder side: KD from the initiator's data, plus the responder's key data for the DSMC (throws KdError). */
export interface KdResponderResult {
  kd: Uint8Array;
  keyData?: Uint8Array;
  peerId: string;
}

export interface KdMethod {
  readonly name: Exclude<KdMethodName, 'existing' | 'msk'>;
  initiate(ctx: KdContext): KdInitiatorRun;
  respond(keyData: Uint8Array, ctx: KdContext, nonce2: Uint8Array, selfId: string): KdResponderResult;
}
