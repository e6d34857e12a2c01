// TR 33.833 key issue #3.2 (replay in one-to-many communication): the adversary captures group media PDUs and sends
// each once more, 50 ms later, under the original sender's L2 ID. Whether it worked is seen at the members
// (replays rejected vs. duplicates accepted: the run summary); the adversary counts what it captured and replayed.
import type { Attack, AttackIo } from './attack.js';
import { replayOnce } from './replay.js';

export function groupReplay(io: AttackIo): Attack {
  return replayOnce(io, 'group_media');
}
