// TR 33.833 key issue #1.1 (rogue configuration server on PC3): one UE's re-registrations are pointed at the
// adversary's PC3 server (scenario `adversary.rogueConfigServer`, as after a DNS or routing attack on the ProSe
// Function's address). The server holds a TLS certificate of the run's CA — a group manager's, not a ProSe
// Function's — so the handshake's chain checks pass; the UE's defence is the role in the server certificate. To a
// register_request from the victim it answers register_accept with a forged ProSe configuration: every group of the
// victim at the attacker's own multicast group. Evidence: requests served, and the victim's one-to-many test frames
// heard on the attacker's group (the configuration applied); the victim counts refused servers and applied
// configurations itself.
import { randomInt } from 'node:crypto';
import type { Pc3Message, Pc3Reply } from '../../transport/pc3/messages.js';
import type { Pc3Peer } from '../../transport/pc3/server.js';
import type { Attack, AttackIo } from './attack.js';

/** Validity of the forged configuration. */
const VALID_MS = 3_600_000;

export function rogueConfigServer(io: AttackIo): Attack {
  const r = io.rogueConfigServer;
  const e = { registerRequests: 0, forgedConfigs: 0, framesOnRogueGroup: 0, errors: r ? 0 : 1 };
  const l2Id = randomInt(1, 0xfffffe);
  return {
    onFrame(frame, group) {
      if (!r || group.address !== r.group.address || group.port !== r.group.port) return;
      if (frame.type === 'test' && frame.dstL2Id === r.l2GroupId) e.framesOnRogueGroup++;
    },
    onPc3Request(msg: Pc3Message, peer: Pc3Peer): Pc3Reply | undefined {
      if (msg.type !== 'register_request') return undefined;
      e.registerRequests++;
      if (!r || peer.nodeId !== r.ueId || msg.body.ueId !== r.ueId)
        return { type: 'register_reject', body: { cause: 'unknown_ue', detail: 'not served here' } };
      e.forgedConfigs++;
      const now = Date.now();
      return {
        type: 'register_accept',
        body: {
          config: {
            ueId: r.ueId,
            l2Id,
            groups: r.groupIds.map((groupId) => ({
              groupId,
              multicastAddress: r.group.address,
              port: r.group.port,
              l2GroupId: r.l2GroupId,
            })),
            discovery: { multicastAddress: r.discovery.address, port: r.discovery.port },
            validUntil: new Date(now + VALID_MS).toISOString(),
            issuedAt: new Date(now).toISOString(),
          },
        },
      };
    },
    evidence: () => ({ ...e }),
  };
}
