// TR 33.833 key issue #2.3 (announcer impersonation in open discovery): the ProSe Application Code of an open
// announcement is public, so the adversary copies a victim's code from an announcement it hears and forges its own
// announcement for it — current time slot, fresh nonce, signed with the adversary's own ECDSA key (it does not hold
// the victim's) — sent 50 ms later under a random source L2 ID. Whether a monitor took it for the victim is counted
// at the monitors (run summary: forgeries accepted, `bad_signature` rejections); the adversary counts what it forged.
import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import {
  DISCOVERY_KINDS,
  DiscoveryFormatError,
  decodeDiscovery,
  encodeDiscovery,
  NONCE_BYTES,
  type OpenAnnounce,
  signedPart,
} from '../../procedures/discovery/messages.js';
import { ecdsaSigner } from '../../procedures/discovery/open-discovery.js';
import type { Attack, AttackIo } from './attack.js';

const MAX_FORGERIES = 300;
const DELAY_MS = 50;

export function openImpersonation(io: AttackIo): Attack {
  const signer = ecdsaSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  /** Source L2 IDs of our forgeries: they loop back on the group and are not forged again. */
  const own = new Set<number>();
  let heard = 0;
  let forged = 0;
  return {
    onFrame(frame, group) {
      if (frame.type !== 'discovery_announce' || frame.payload[1] !== DISCOVERY_KINDS.open) return;
      if (own.has(frame.srcL2Id)) return;
      let m: OpenAnnounce;
      try {
        const d = decodeDiscovery(frame.payload);
        if (d.kind !== 'open') return;
        m = d;
      } catch (e) {
        if (e instanceof DiscoveryFormatError) return;
        throw e;
      }
      heard++;
      if (forged >= MAX_FORGERIES) return;
      forged++;
      const fake: OpenAnnounce = { ...m, nonce: randomBytes(NONCE_BYTES), alg: signer.alg };
      fake.signature = signer.sign(signedPart(fake));
      const payload = encodeDiscovery(fake);
      const srcL2Id = randomInt(1, 0xfffffe);
      own.add(srcL2Id);
      io.later(DELAY_MS, () =>
        io.send(group, {
          type: 'discovery_announce',
          srcL2Id,
          dstL2Id: frame.dstL2Id,
          payload,
        }),
      );
    },
    evidence: () => ({ heard, forged }),
  };
}
