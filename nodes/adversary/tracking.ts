// TR 33.833 key issue #2.1 (privacy of restricted discovery): a passive observer tries to link a UE's restricted
// announcements over time through what every frame shows in clear, the PC5 source Layer-2 ID (the payload's ID
// rotates). Evidence: restricted announcements heard and how many came from a source L2 ID heard in an earlier one
// (each such one is linked to its predecessor). Open announcements carry a public code: linkable by design.
import { isRestrictedKind } from '../../procedures/discovery/messages.js';
import type { Attack } from './attack.js';

export function tracking(): Attack {
  const seen = new Set<number>();
  let announcements = 0;
  let linked = 0;
  return {
    onFrame(frame) {
      if (frame.type !== 'discovery_announce') return;
      if (!isRestrictedKind(frame.payload[1])) return;
      announcements++;
      if (seen.has(frame.srcL2Id)) linked++;
      else seen.add(frame.srcL2Id);
    },
    evidence: () => ({ announcements, linked, distinctL2Ids: seen.size }),
  };
}
