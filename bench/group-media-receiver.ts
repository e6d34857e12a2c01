// Child process of bench/group.bench.ts (media part): joins the multicast group, deciphers (or just counts)
// group media frames and reports payload octets and the time between the first and last frame. Bounded: it
// reports after `count` frames or 1.5 s without a frame, and exits when the parent says so or disconnects.
import { type GroupMediaAlgorithms, GroupMediaReceiver } from '../procedures/group/group-media.js';
import type { Pc5Group } from '../transport/pc5/medium.js';
import { UdpPc5Medium } from '../transport/pc5/udp-medium.js';

interface Start {
  cmd: 'start';
  group: Pc5Group;
  protectedMode: boolean;
  gsk: number[];
  gskId: number;
  groupL2: number;
  count: number;
  /** The protection profile (ciphering only, + 128-NIA2, or AES-128-GCM). */
  profile: GroupMediaAlgorithms;
}

process.on('disconnect', () => process.exit(0));
process.on('message', async (m: Start | { cmd: 'exit' }) => {
  if (m.cmd === 'exit') process.exit(0);
  const rx = new UdpPc5Medium({ l2Id: 0xb00099 });
  await rx.start();
  await rx.joinGroup(m.group);
  const receiver = new GroupMediaReceiver(m.groupL2, m.profile);
  receiver.addCall(m.gskId, Uint8Array.from(m.gsk));
  let got = 0;
  let bytes = 0;
  let bad = 0;
  let first = 0;
  let last = 0;
  let idle: NodeJS.Timeout | undefined;
  const finish = async () => {
    clearTimeout(idle);
    await rx.close();
    process.send!({ ok: 'done', got, bytes, bad, seconds: (last - first) / 1000 });
  };
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => void finish(), 1500);
  };
  rx.onFrame((f) => {
    if (f.type === 'group_media' && m.protectedMode) {
      const r = receiver.unprotect(f.srcL2Id, f.payload, true);
      if (!r.ok) {
        bad++;
        return;
      }
      bytes += r.payload.length;
    } else if (f.type === 'test' && !m.protectedMode) bytes += f.payload.length;
    else return;
    const t = performance.now();
    if (got === 0) first = t;
    last = t;
    got++;
    if (got >= m.count) void finish();
    else arm();
  });
  arm();
  process.send!({ ok: 'ready' });
});
process.send!({ ok: 'up' });
