// A passive observer of discovery announcements (TR 33.833 key issue #2.1/#2.2, privacy): it holds no key and
// tries to link announcements over time by what it sees in the payload. With a static identifier every
// announcement of a UE links to the previous one; with rotating identifiers (solution #2.1) nothing repeats.
// The observer also tries the PC5 source Layer-2 ID of the frame, when given: a static L2 ID links everything the
// payload rotation hides (procedures/discovery/l2-rotation.ts rotates it with the payload ID).
import { toHex } from '../../crypto-core/bytes.js';
import { decodeDiscovery } from './messages.js';

/** The identifier an observer can read from an announcement (the over-the-air ID or the open code). */
export function observableId(payload: Uint8Array): string | undefined {
  try {
    const m = decodeDiscovery(payload);
    if (m.kind === 'restricted_nonce' || m.kind === 'restricted_slot') return toHex(m.rotatingId);
    if (m.kind === 'open') return toHex(m.code);
    return undefined;
  } catch {
    return undefined;
  }
}

/**
 * Records (true sender, payload) pairs; the truth is used only to score the observer. The observer links an
 * announcement to an earlier one when their observable IDs are equal. Link rate = correctly linked announcements
 * / announcements that had an earlier one from the same sender.
 */
export class LinkabilityObserver {
  private readonly lastSenderById = new Map<string, string>();
  private readonly lastSenderByL2 = new Map<number, string>();
  private readonly sendersSeen = new Set<string>();
  linkable = 0;
  /** Announcements linked to the same sender's earlier one by the payload ID. */
  linked = 0;
  wrongLinks = 0;
  /** Announcements linked to the same sender's earlier one by the PC5 source L2 ID. */
  linkedByL2 = 0;

  observe(trueSender: string, payload: Uint8Array, srcL2Id?: number): void {
    const id = observableId(payload);
    if (this.sendersSeen.has(trueSender)) this.linkable++;
    this.sendersSeen.add(trueSender);
    if (srcL2Id !== undefined) {
      if (this.lastSenderByL2.get(srcL2Id) === trueSender) this.linkedByL2++;
      this.lastSenderByL2.set(srcL2Id, trueSender);
    }
    if (id === undefined) return;
    const prev = this.lastSenderById.get(id);
    if (prev !== undefined) {
      if (prev === trueSender) this.linked++;
      else this.wrongLinks++;
    }
    this.lastSenderById.set(id, trueSender);
  }

  get linkRate(): number {
    return this.linkable === 0 ? 0 : this.linked / this.linkable;
  }

  /** Link rate through the PC5 source L2 ID (0 when no L2 IDs were given). */
  get l2LinkRate(): number {
    return this.linkable === 0 ? 0 : this.linkedByL2 / this.linkable;
  }
}
