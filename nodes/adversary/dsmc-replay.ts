// TR 33.833 key issue #4.1 (one-to-one link set-up and re-keying): a man in the middle between the two UEs (scenario
// adversary.mitmDirectLink) records every Direct Security Mode Command it relays and, when a later set-up or re-key
// sends a fresh DSMC to the same UE, first hands that UE a recorded one. It picks a DSMC whose DKSI is neither the
// one of the fresh DSMC nor one of the two key sets the UE holds (the DKSIs of the last two DSMCs seen on the link),
// so the UE's DKSI check lets it through and only the binding of KD-sess to the procedure's Nonce_1 can refuse it
// (its MAC-I no longer verifies: cause `mac`). The fresh DSMC is relayed right after, so a defended link carries on.
// Evidence: DSMCs recorded and replayed; acceptance is counted by the victim UEs (dsmcReplaysAccepted).
import type { Pc5Frame } from '../../transport/pc5/frame.js';
import type { Attack, RelayEnd } from './attack.js';
import { relayedDsmc } from './link-downgrade.js';

const MAX_RECORDED = 16;
const MAX_REPLAYS = 50;

export function dsmcReplay(): Attack {
  const recorded: Record<RelayEnd, { dksi: number; frame: Pc5Frame }[]> = { initiator: [], responder: [] };
  /** DKSIs of the last two DSMCs relayed: the key sets the UEs now hold (active, previous). */
  let recent: number[] = [];
  let dsmcs = 0;
  let replayed = 0;
  return {
    onFrame() {
      // Nothing on the multicast groups: this attack acts on the relayed link (onRelay).
    },
    onRelay(frame, toward) {
      const dsmc = relayedDsmc(frame);
      if (!dsmc) return undefined;
      dsmcs++;
      const mine = recorded[toward];
      const old =
        replayed < MAX_REPLAYS
          ? mine.find((r) => r.dksi !== dsmc.dksi && !recent.includes(r.dksi))
          : undefined;
      if (mine.length < MAX_RECORDED)
        mine.push({ dksi: dsmc.dksi, frame: { ...frame, payload: frame.payload.slice() } });
      recent = [dsmc.dksi, ...recent].slice(0, 2);
      if (!old) return undefined;
      replayed++;
      return [old.frame, frame];
    },
    evidence: () => ({ dsmcs, recorded: recorded.initiator.length + recorded.responder.length, replayed }),
  };
}
