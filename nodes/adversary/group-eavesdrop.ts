// TR 33.833 key issue #3.x (confidentiality of one-to-many communication): a non-member captures group media on
// the PC5 multicast group and looks for the plaintext structure of the media payload (the UEs send an 8-octet
// timestamp followed by zero octets). Evidence: media frames captured, frames whose plaintext was readable.
import type { Attack } from './attack.js';
import { hasZeroRun } from './link-eavesdrop.js';

/** Group media header (7) + PC5 protection header (5): where the (ciphered) payload starts. */
const PAYLOAD_AT = 12;
const ZERO_RUN = 32;

export function groupEavesdrop(): Attack {
  let frames = 0;
  let plaintextFrames = 0;
  return {
    onFrame(frame) {
      if (frame.type !== 'group_media') return;
      frames++;
      if (hasZeroRun(frame.payload, PAYLOAD_AT, ZERO_RUN)) plaintextFrames++;
    },
    evidence: () => ({ frames, plaintextFrames }),
  };
}
