// TR 33.833 key issue #3.2 (replay in one-to-many communication): the adversary captures group media PDUs and sends
// each once more, 50 ms later, under the original sender's L2 ID. Whether it worked is seen at the members
// (replays rejected vs. duplicates accepted: the run summary); the adversary counts what it captured and replayed.
import { createHash } from 'node:crypto';
import type { Attack, AttackIo } from './attack.js';

const MAX_REPLAYS = 300;

export function groupReplay(io: AttackIo): Attack {
  const sent = new Set<string>();
  let captured = 0;
  let replayed = 0;
  return {
    onFrame(frame, group) {
      if (frame.type !== 'group_media') return;
      // Our own replays loop back on the group: never replay a replay.
      const id = createHash('sha256').update(frame.payload).digest('hex');
      if (sent.has(id)) return;
      captured++;
      if (replayed >= MAX_REPLAYS) return;
      sent.add(id);
      replayed++;
      const copy = frame.payload.slice();
      io.later(50, () =>
        io.send(group, {
          type: 'group_media',
          srcL2Id: frame.srcL2Id,
          dstL2Id: frame.dstL2Id,
          payload: copy,
        }),
      );
    },
    evidence: () => ({ captured, replayed }),
  };
}
