// Network role: the user-plane sink behind a UE-to-network relay (stands in for the PDN / application server).
// A UDP echo on loopback: every datagram from a relay is sent back unchanged, so the remote UE sees a round trip.
import { createSocket } from 'node:dgram';
import type { RoleContext, RoleInstance } from './role.js';

export async function start(ctx: RoleContext): Promise<RoleInstance> {
  const { config, log } = ctx;
  const counts = { datagrams: 0, bytes: 0 };
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  socket.on('message', (msg, r) => {
    counts.datagrams++;
    counts.bytes += msg.length;
    socket.send(msg, r.port, r.address);
  });
  socket.on('error', (e) => log.warn({ err: e.message }, 'user-plane socket error'));
  await new Promise<void>((res) => socket.bind(0, config.host, () => res()));
  const port = socket.address().port;
  log.info({ port }, 'network user-plane echo listening');
  return {
    endpoints: { userPlane: port },
    status: () => ({ errors: 0, details: { ...counts } }),
    stop: () => new Promise<void>((res) => socket.close(() => res())),
  };
}
