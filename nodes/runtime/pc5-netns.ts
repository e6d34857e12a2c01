// PC5 medium options of a node in network-namespace mode (deploy/netns.ts, docs/netns.md): bind to the node's bridge
// address, multicast through eth0 with TTL 1 (to the run's bridge), and check the namespace before any group use.
import type { UdpPc5MediumOptions } from '../../transport/pc5/udp-medium.js';
import type { NodeConfig } from './protocol.js';

export function pc5NetnsOptions(config: NodeConfig): Partial<UdpPc5MediumOptions> {
  if (!config.netns) return {};
  const a = config.netns.address;
  return { bindAddress: a, multicastInterface: a, multicastTtl: 1, runNamespace: true };
}
