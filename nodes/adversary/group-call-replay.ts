// TR 33.833 key issue #3.2 (replay of a group call set-up): the adversary captures the MIKEY call-init frames
// (PC5 group_signalling) of group calls and sends each once more, 50 ms later (well inside the call-init's
// timestamp window, so freshness alone cannot stop it), under the initiator's L2 ID. Whether a member set the call
// up again is counted at the members (run summary: call replays accepted, `call.replay` rejections).
import type { Attack, AttackIo } from './attack.js';
import { replayOnce } from './replay.js';

export function groupCallReplay(io: AttackIo): Attack {
  return replayOnce(io, 'group_signalling');
}
