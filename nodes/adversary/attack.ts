// The contract of an attack module run by the adversary node (nodes/roles/adversary.ts): it sees every frame on the
// PC5 groups the adversary joined, may send frames there, and reports its evidence as counters (docs/threat-matrix.md).

import type { UeKeyBundle } from '../../crypto-core/kms-bundle.js';
import type { Pc3Client } from '../../transport/pc3/client.js';
import type { Pc3Body, Pc3Message, Pc3Reply, Pc3Type, ProseConfig } from '../../transport/pc3/messages.js';
import type { Pc3Peer } from '../../transport/pc3/server.js';
import type { Pc5Frame } from '../../transport/pc5/frame.js';
import type { Pc5Group, Pc5OutgoingFrame } from '../../transport/pc5/medium.js';

export interface AttackIo {
  /** Sends on a PC5 group (the adversary's own socket, any source L2 ID it likes). */
  send(group: Pc5Group, frame: Pc5OutgoingFrame): void;
  /** Timers the adversary clears when it stops. */
  later(ms: number, f: () => void): void;
  /**
   * With the scenario's `adversary.insider`: PC3 to the ProSe Function as that (compromised, subscribed) UE — its
   * certificate, already registered — and the groups with a ProSe Function key it is not a member of.
   */
  insider?: {
    ueId: string;
    targetGroups: string[];
    request<T extends Pc3Type>(type: T, body: Pc3Body<T>): Promise<Pc3Message>;
    /** A new PC3 client to the ProSe Function with the insider's certificate (its own TLS connections). */
    newPc3Client(opts?: { localAddress?: string; timeoutMs?: number }): Pc3Client;
    /** The ProSe configuration the insider's registration returned (its groups' addresses and L2 IDs). */
    config?: ProseConfig;
    /** The insider's MIKEY-SAKKE key bundle from the KMS (with `rogueGroupManager` only). */
    keys?: UeKeyBundle;
  };
  /**
   * With the scenario's `adversary.rogueGroupManager`: the group whose members are pointed at the adversary's PC3
   * server (a group-manager certificate of the run's CA); `groupKeyRefusedByKms` when the KMS refused it the group
   * identity's key.
   */
  rogueGroupManager?: { groupId: string; groupKeyRefusedByKms: boolean };
  /**
   * With the scenario's `adversary.rogueConfigServer`: the UE whose re-registrations are pointed at the adversary's
   * PC3 server, its groups, and the adversary's own multicast group (joined) the forged configuration puts them at.
   */
  rogueConfigServer?: {
    ueId: string;
    groupIds: string[];
    group: Pc5Group;
    l2GroupId: number;
    /** A discovery group for the forged configuration (one of the run's). */
    discovery: Pc5Group;
  };
}

export interface Attack {
  /** Called for every frame heard on a joined group while the traffic phase runs. */
  onFrame(frame: Pc5Frame, group: Pc5Group): void;
  /**
   * PC5 frames of the run's one-to-one links (unicast UDP), seen through the adversary's loopback capture (capture.ts);
   * the role starts the capture only when an attack has this method.
   */
  onCaptured?(frame: Pc5Frame): void;
  /**
   * Man in the middle on one direct link (scenario adversary.mitmDirectLink; nodes/roles/adversary.ts relays every
   * frame between the two UEs): called for each relayed frame, heading `toward` one of them, while the traffic phase
   * runs. Returns the frames to send on instead (modified, injected before it, or none), or undefined for as is.
   */
  onRelay?(frame: Pc5Frame, toward: RelayEnd): Pc5Frame[] | undefined;
  /** Called once when the traffic phase starts (attacks that act on their own rather than on frames). */
  start?(): void;
  /** PC3 requests to the adversary's rogue server (`rogueGroupManager`). */
  onPc3Request?(msg: Pc3Message, peer: Pc3Peer): Promise<Pc3Reply | undefined> | Pc3Reply | undefined;
  /** Called when the adversary stops (attacks that hold connections). */
  stop?(): Promise<void>;
  /** Counters shown in the threat matrix as evidence. */
  evidence(): Record<string, number>;
}

/** The two UEs of the link the adversary sits between: the one that sent the Direct Communication Request, the other. */
export type RelayEnd = 'initiator' | 'responder';

export type AttackFactory = (io: AttackIo) => Attack;
