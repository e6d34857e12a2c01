// PC5 over libp2p (scenario pc5.medium: libp2p): who dials whom. Every subscribed UE gets a TCP listen port
// chosen here (its direct-link port when it has one: that is the address its peer sends to) and the
// multiaddrs of every lower-numbered UE as its bootstrap list, so each pair is connected exactly once and the
// UEs form a full mesh; a peer that is not up yet is retried by the medium. No mDNS, no DHT. docs/pc5.md.
import { createServer } from 'node:net';

/** At most this many UEs on the libp2p medium: a full mesh holds n(n-1)/2 TCP connections. */
export const LIBP2P_MAX_UES = 100;

export interface UeLibp2pConfig {
  medium: 'libp2p';
  listenPort: number;
  bootstrap: string[];
}

/** A free TCP port on 127.0.0.1 (the kernel picks it; free when this returns). */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** libp2p PC5 settings per UE id: subscribed UEs in order dial all the ones before them. */
export async function planLibp2pPeers(
  subscribed: readonly string[],
  unsubscribed: readonly string[],
  fixedPorts: ReadonlyMap<string, number>,
): Promise<Map<string, UeLibp2pConfig>> {
  const out = new Map<string, UeLibp2pConfig>();
  const before: string[] = [];
  for (const id of subscribed) {
    const listenPort = fixedPorts.get(id) ?? (await freeTcpPort());
    out.set(id, { medium: 'libp2p', listenPort, bootstrap: [...before] });
    before.push(`/ip4/127.0.0.1/tcp/${listenPort}`);
  }
  // Unsubscribed UEs are rejected at registration and never start a medium.
  for (const id of unsubscribed) out.set(id, { medium: 'libp2p', listenPort: 0, bootstrap: [] });
  return out;
}
