// Shared by the replay attacks: capture frames of one PC5 type (filtered further by `wanted`) and send each once
// more, 50 ms later, under the original source L2 ID; at most MAX_REPLAYS. Our own replays loop back on the
// group and are recognised by their hash, so a replay is never replayed.
import { createHash } from 'node:crypto';
import type { Pc5Frame, Pc5FrameType } from '../../transport/pc5/frame.js';
import type { Attack, AttackIo } from './attack.js';

const MAX_REPLAYS = 300;
const DELAY_MS = 50;

export function replayOnce(
  io: AttackIo,
  type: Pc5FrameType,
  wanted: (f: Pc5Frame) => boolean = () => true,
): Attack {
  const sent = new Set<string>();
  let captured = 0;
  let replayed = 0;
  return {
    onFrame(frame, group) {
      if (frame.type !== type || !wanted(frame)) return;
      const id = createHash('sha256').update(frame.payload).digest('hex');
      if (sent.has(id)) return;
      captured++;
      if (replayed >= MAX_REPLAYS) return;
      sent.add(id);
      replayed++;
      const copy = frame.payload.slice();
      io.later(DELAY_MS, () =>
        io.send(group, { type, srcL2Id: frame.srcL2Id, dstL2Id: frame.dstL2Id, payload: copy }),
      );
    },
    evidence: () => ({ captured, replayed }),
  };
}
