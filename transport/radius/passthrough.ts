// EAP pass-through authenticator (RFC 3748 2.3 / RFC 3579): sends EAP-Request/Identity to the peer, then shuttles
// EAP between the peer and the RADIUS server until Access-Accept (MSK from the MPPE keys) or Access-Reject.
import type { RadiusClient } from './client.js';

export type PassThroughResult =
  | { result: 'accept'; msk: Uint8Array; rounds: number }
  | { result: 'reject'; rounds: number }
  | { result: 'error'; reason: string; rounds: number };

/** `toPeer` delivers an EAP packet to the peer and resolves with its EAP response (undefined: no more answer). */
export async function eapPassThrough(
  client: RadiusClient,
  callingStationId: string,
  toPeer: (eap: Uint8Array, final: boolean) => Promise<Uint8Array | undefined>,
  identityRequestId = 0,
  maxRounds = 10,
): Promise<PassThroughResult> {
  // RFC 3748 5.1: EAP-Request/Identity with no type data.
  let resp = await toPeer(Uint8Array.of(1, identityRequestId & 0xff, 0, 5, 1), false);
  let state: Uint8Array | undefined;
  for (let rounds = 1; rounds <= maxRounds; rounds++) {
    if (!resp) return { result: 'error', reason: 'peer_silent', rounds };
    const a = await client.send(resp, state, callingStationId);
    if (a.kind === 'challenge') {
      state = a.state;
      resp = await toPeer(a.eap, false);
      continue;
    }
    if (a.eap) await toPeer(a.eap, true);
    if (a.kind === 'accept') {
      if (!a.msk) return { result: 'error', reason: 'no_mppe_keys', rounds };
      return { result: 'accept', msk: a.msk, rounds };
    }
    return { result: 'reject', rounds };
  }
  return { result: 'error', reason: 'too_many_rounds', rounds: maxRounds };
}
