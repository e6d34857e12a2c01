// TR 33.833 key issue #4.1 (confidentiality of one-to-one communication): a passive eavesdropper with a capture
// point on the medium (the adversary's loopback capture, capture.ts) records the user data of direct links and
// looks for the plaintext structure of the UEs' test payload (counter and send time, then zero octets).
// Evidence: user-data frames captured, frames whose plaintext was readable.
import type { Attack } from './attack.js';

/** The 2-octet connection ID before the protected PDU of a unicast_data frame. */
const PAYLOAD_FROM = 2;
const ZERO_RUN = 32;

export function hasZeroRun(p: Uint8Array, from: number, run: number): boolean {
  let n = 0;
  for (let i = from; i < p.length; i++) {
    n = p[i] === 0 ? n + 1 : 0;
    if (n >= run) return true;
  }
  return false;
}

export function linkEavesdrop(): Attack {
  let frames = 0;
  let plaintextFrames = 0;
  let signalling = 0;
  return {
    onFrame() {
      // Nothing on the multicast groups: one-to-one traffic is unicast and reaches the adversary only through its tap.
    },
    onCaptured(frame) {
      if (frame.type === 'unicast_signalling') signalling++;
      if (frame.type !== 'unicast_data') return;
      frames++;
      if (hasZeroRun(frame.payload, PAYLOAD_FROM, ZERO_RUN)) plaintextFrames++;
    },
    evidence: () => ({ frames, plaintextFrames, signalling }),
  };
}
