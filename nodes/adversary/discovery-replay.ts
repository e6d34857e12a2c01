// TR 33.833 key issue #2.3 (replay of discovery messages): the adversary captures restricted announcements and sends
// each once more 50 ms later (inside the acceptance window, so freshness alone cannot stop it) under the original
// source L2 ID. Whether a monitor matched it again is counted at the monitors (run summary: replays accepted).
import { isRestrictedKind } from '../../procedures/discovery/messages.js';
import type { Attack, AttackIo } from './attack.js';
import { replayOnce } from './replay.js';

export function discoveryReplay(io: AttackIo): Attack {
  return replayOnce(io, 'discovery_announce', (f) => isRestrictedKind(f.payload[1]));
}
