// TR 33.833 key issue #2.3 (replay of discovery messages): the adversary captures restricted announcements and sends
// each once more 50 ms later (inside the acceptance window, so freshness alone cannot stop it) under the original
// source L2 ID. Whether a monitor matched it again is counted at the monitors (run summary: replays accepted).
import { createHash } from 'node:crypto';
import { DISCOVERY_KINDS } from '../../procedures/discovery/messages.js';
import type { Attack, AttackIo } from './attack.js';

const MAX_REPLAYS = 300;

export function discoveryReplay(io: AttackIo): Attack {
  const sent = new Set<string>();
  let captured = 0;
  let replayed = 0;
  return {
    onFrame(frame, group) {
      if (frame.type !== 'discovery_announce') return;
      const kind = frame.payload[1];
      if (kind !== DISCOVERY_KINDS.restricted_slot && kind !== DISCOVERY_KINDS.restricted_nonce) return;
      const id = createHash('sha256').update(frame.payload).digest('hex');
      if (sent.has(id)) return; // our own replay, looped back
      captured++;
      if (replayed >= MAX_REPLAYS) return;
      sent.add(id);
      replayed++;
      const copy = frame.payload.slice();
      io.later(50, () =>
        io.send(group, {
          type: 'discovery_announce',
          srcL2Id: frame.srcL2Id,
          dstL2Id: frame.dstL2Id,
          payload: copy,
        }),
      );
    },
    evidence: () => ({ captured, replayed }),
  };
}
