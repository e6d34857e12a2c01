// PC5 source Layer-2 ID rotation for discovery (TR 33.833 key issue #2.1 privacy; TS 23.303 lets the UE choose its
// source Layer-2 ID for discovery itself): the ID changes whenever the over-the-air discovery ID changes, so an
// observer cannot link a UE's announcements through the PC5 header while the payload IDs rotate.
import { randomInt } from 'node:crypto';

/** 24-bit Layer-2 IDs; 0 and 0xFFFFFF (broadcast) are never chosen. */
const MAX_L2 = 0xffffff;

export class RotatingL2Id {
  private epoch: string | undefined;
  private id = 0;

  constructor(private readonly random: () => number = () => randomInt(1, MAX_L2)) {}

  /**
   * The source L2 ID for an announcement made in rotation `epoch` (the time slot for option 2, the announcement
   * itself for option 1): the same within an epoch, fresh and random when the epoch changes.
   */
  idFor(epoch: string): number {
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      let next = this.random();
      while (next === this.id) next = this.random();
      this.id = next;
    }
    return this.id;
  }
}
