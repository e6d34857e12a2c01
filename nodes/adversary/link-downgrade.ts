// TR 33.833 key issue #4.1 (one-to-one link set-up): a man in the middle between the two UEs (scenario
// adversary.mitmDirectLink) rewrites Supported_algs in the first Direct Communication Request it relays to only
// 128-NEA0 and 128-NIA1 (bidding down: no ciphering, the weakest integrity), and forwards everything else as is.
// Defences: UE_1 signs Supported_algs in its certificate KD data (UE_2 checks), and UE_2 echoes what it received
// in the DSMC (UE_1 compares). The security policy bits are left alone: UE_2 refuses a weaker policy than its own
// (policy_not_acceptable) whatever the knobs. Evidence: requests rewritten, and the Chosen_algs of the DSMCs that
// came back for them (the DSMC is integrity protected only, so a MITM reads it).
import {
  DirectLinkMessageError,
  DL_MSG,
  decodeMessage,
  decodePdu,
  encodeMessage,
  encodePdu,
} from '../../procedures/direct-link/messages.js';
import { MAC_I_BYTES, PROTECTED_HEADER_BYTES } from '../../procedures/pc5/protection.js';
import type { Pc5Frame } from '../../transport/pc5/frame.js';
import type { Attack } from './attack.js';

/** Supported_algs after the rewrite: bit n = 128-NEAn / 128-NIAn. */
export const DOWNGRADED_ALGS = { nea: 0b0001, nia: 0b0010 } as const;
/** Requests rewritten per run: one, so that the link can still come up (and carry the other attacks). */
const MAX_REWRITES = 1;

/** The DSMC inside a relayed signalling frame, or undefined. */
export function relayedDsmc(frame: Pc5Frame): { dksi: number; body: Uint8Array } | undefined {
  if (frame.type !== 'unicast_signalling') return undefined;
  try {
    const pdu = decodePdu(frame.payload);
    const b = pdu.body;
    // Protected, not ciphered (a DSMC is integrity protected only), inner type DSMC.
    if (!pdu.protected || b.length < PROTECTED_HEADER_BYTES + MAC_I_BYTES + 3 || (b[0]! & 0x40) !== 0)
      return undefined;
    if (b[PROTECTED_HEADER_BYTES] !== DL_MSG.DIRECT_SECURITY_MODE_COMMAND) return undefined;
    return { dksi: b[0]! & 0x0f, body: b };
  } catch (e) {
    if (e instanceof DirectLinkMessageError) return undefined;
    throw e;
  }
}

/** The frame with its Direct Communication Request's Supported_algs rewritten, or undefined if it carries none. */
export function downgradeRequest(frame: Pc5Frame): Pc5Frame | undefined {
  if (frame.type !== 'unicast_signalling') return undefined;
  try {
    const pdu = decodePdu(frame.payload);
    if (pdu.protected) return undefined;
    const msg = decodeMessage(pdu.body);
    if (msg.type !== DL_MSG.DIRECT_COMMUNICATION_REQUEST) return undefined;
    msg.supportedAlgs = { ...DOWNGRADED_ALGS };
    return { ...frame, payload: encodePdu({ ...pdu, body: encodeMessage(msg) }) };
  } catch (e) {
    if (e instanceof DirectLinkMessageError) return undefined;
    throw e;
  }
}

export function linkDowngrade(): Attack {
  let requestsRewritten = 0;
  let dsmcAfterRewrite = 0;
  let nullCipherChosen = 0;
  let awaitingDsmc = false;
  return {
    onFrame() {
      // Nothing on the multicast groups: this attack acts on the relayed link (onRelay).
    },
    onRelay(frame, toward) {
      if (toward === 'responder') {
        if (requestsRewritten >= MAX_REWRITES) return undefined;
        const changed = downgradeRequest(frame);
        if (!changed) return undefined;
        requestsRewritten++;
        awaitingDsmc = true;
        return [changed];
      }
      const dsmc = awaitingDsmc ? relayedDsmc(frame) : undefined;
      if (dsmc) {
        awaitingDsmc = false;
        dsmcAfterRewrite++;
        try {
          const m = decodeMessage(dsmc.body.subarray(PROTECTED_HEADER_BYTES, dsmc.body.length - MAC_I_BYTES));
          if (m.chosenAlgs?.nea === 0) nullCipherChosen++;
        } catch (e) {
          if (!(e instanceof DirectLinkMessageError)) throw e;
        }
      }
      return undefined;
    },
    evidence: () => ({ requestsRewritten, dsmcAfterRewrite, nullCipherChosen }),
  };
}
