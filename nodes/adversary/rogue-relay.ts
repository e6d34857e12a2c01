// Rogue UE-to-network relay (threat matrix row `rogue-relay`, TR 33.833 relay solution #5.1): the relay is the EAP
// pass-through authenticator, so every EAP-Request the AAA sends a remote UE passes through it. A rogue relay
// (scenario `relay.rogue`) flips one bit of an attribute of each EAP-Request/AKA'-Challenge before forwarding it:
// AT_MAC (the message's integrity check under K_aut, RFC 4187 10.15) or AT_AUTN (the network's authentication token
// checked by the USIM, TS 33.102 6.3.3). Not an adversary module: the relay process (nodes/roles/relay.ts) calls it.
import { AKA_SUBTYPE, AT, decodeAka, EAP_CODE, EAP_TYPE, findAttr } from '../../procedures/eap/eap-codec.js';

export type RogueRelayTamper = 'at_mac' | 'at_autn';

/**
 * A copy of `eap` with the last bit of the AT_MAC (or AT_AUTN) value flipped, if `eap` is an EAP-Request/AKA'-Challenge
 * carrying that attribute; undefined otherwise (the relay then forwards the message unchanged). Never throws.
 */
export function tamperChallenge(eap: Uint8Array, tamper: RogueRelayTamper): Uint8Array | undefined {
  // EAP-Request (1), Type EAP-AKA' (50), Subtype Challenge (1): RFC 3748 4.1, RFC 5448 3.
  if (eap[0] !== EAP_CODE.REQUEST || eap[4] !== EAP_TYPE.AKA_PRIME || eap[5] !== AKA_SUBTYPE.CHALLENGE)
    return;
  let a: ReturnType<typeof findAttr>;
  try {
    a = findAttr(decodeAka(eap), tamper === 'at_mac' ? AT.MAC : AT.AUTN);
  } catch {
    return;
  }
  // Both carry 2 reserved octets then a 16-octet value (RFC 4187 10.7, 10.15).
  if (a?.value.length !== 18) return;
  const out = eap.slice();
  out[a.offset + 4 + 15]! ^= 0x01;
  return out;
}
