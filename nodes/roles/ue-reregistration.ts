// A UE's re-registration over PC3 (scenario traffic.reRegisterEvery) and the configuration it brings: who may
// configure the UE (TR 33.833 key issue #1.1, rogue configuration server) and which groups a new configuration moves.
import { Pc3Client } from '../../transport/pc3/client.js';
import type { ProseConfig } from '../../transport/pc3/messages.js';
import type { Pc3MetricsSink } from '../../transport/pc3/metrics.js';
import { groupKey } from '../../transport/pc5/medium.js';

/**
 * A PC3 client for re-registration. The server's certificate must name the prose-function role (TS 33.303 PC3:
 * only the ProSe Function provisions the UE; a certificate of the same CA for a group manager or a UE is refused,
 * Pc3RequestError `server_identity`). `acceptAnyConfigServer` (INSECURE, threat-matrix control only) drops that check:
 * any certificate of the CA may then configure the UE.
 */
export function reRegistrationClient(o: {
  target: { host: string; port: number };
  creds: { certPem: string; keyPem: string; caCertPem: string };
  acceptAnyConfigServer?: boolean;
  metrics?: Pc3MetricsSink;
}): Pc3Client {
  return new Pc3Client({
    host: o.target.host,
    port: o.target.port,
    certPem: o.creds.certPem,
    keyPem: o.creds.keyPem,
    caCertPem: o.creds.caCertPem,
    ...(o.acceptAnyConfigServer ? {} : { expectedServer: { role: 'prose-function' } }),
    ...(o.metrics ? { metrics: o.metrics } : {}),
  });
}

/** The groups of `next` not at an address and port in use (`inUse`: "address:port" keys): the ones to (re-)join. */
export function movedGroups(inUse: ReadonlySet<string>, next: ProseConfig): ProseConfig['groups'] {
  return next.groups.filter((g) => !inUse.has(groupKey({ address: g.multicastAddress, port: g.port })));
}
