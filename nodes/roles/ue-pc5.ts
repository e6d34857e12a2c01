// UE role: the `pc5` part of its configuration (scenario pc5.medium, or a Kubernetes pod's ue.json) and how it
// becomes libp2p medium options. A pod's listen address and bootstrap list differ per pod while the ConfigMap is
// shared, so both may be named by environment variable (the downward API's POD_IP; a list the pod's start line
// computes from its StatefulSet ordinal). Everything is validated here, before any socket opens. docs/k8s.md.
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { z } from 'zod';
import type { Libp2pPc5MediumOptions } from '../../transport/pc5/libp2p-medium.js';
import type { UdpPc5MediumOptions } from '../../transport/pc5/udp-medium.js';

/** RFC 1123 host name (a pod's `ue-0.ue.<ns>.svc.cluster.local`, or `localhost`). */
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;
const PEER_ID = /^[1-9A-HJ-NP-Za-km-z]{30,100}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Why a bootstrap entry is not `/ip4/H/tcp/P` or `/dns4/NAME/tcp/P` (optionally `/p2p/<PeerId>`), or undefined. */
export function bootstrapEntryProblem(ma: string): string | undefined {
  if (ma.length > 300) return 'longer than 300 characters';
  const p = ma.split('/');
  if (p[0] !== '' || (p.length !== 5 && p.length !== 7)) return 'not /ip4|dns4/HOST/tcp/PORT[/p2p/ID]';
  const [, proto, host, tcp, port, p2p, id] = p as [string, string, string, string, string, string?, string?];
  if (proto === 'ip4' ? !isIPv4(host) : proto === 'dns4' ? !HOSTNAME.test(host) : true)
    return `bad host '${proto}/${host}'`;
  if (tcp !== 'tcp' || !/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    return 'bad /tcp/PORT';
  if (p.length === 7 && (p2p !== 'p2p' || !PEER_ID.test(id ?? ''))) return 'bad /p2p/<PeerId>';
  return undefined;
}

const bootstrapEntry = z.string().superRefine((s, ctx) => {
  const why = bootstrapEntryProblem(s);
  if (why) ctx.addIssue({ code: 'custom', message: `bootstrap multiaddr '${s.slice(0, 80)}': ${why}` });
});

export const uePc5ConfigSchema = z
  .object({
    medium: z.enum(['udp', 'libp2p']),
    /** libp2p: TCP listen port (0: any; the direct-link port when the UE has one). */
    listenPort: z.number().int().min(0).max(65535).default(0),
    /** libp2p: multiaddrs of the peers this UE dials (the orchestrator: every lower-numbered UE). */
    bootstrap: z.array(bootstrapEntry).max(5000).default([]),
    /** libp2p: IPv4 address to listen on (default 127.0.0.1). */
    listenHost: z
      .string()
      .refine((h) => isIPv4(h), 'listenHost must be an IPv4 address')
      .optional(),
    /** libp2p: environment variable holding the listen address instead (a pod: POD_IP from the downward API). */
    listenHostEnv: z.string().regex(ENV_NAME).optional(),
    /** libp2p: environment variable with more bootstrap multiaddrs, whitespace-separated (a pod's lower ordinals). */
    bootstrapEnv: z.string().regex(ENV_NAME).optional(),
    /** libp2p: listen on and dial addresses outside 127.0.0.0/8 (a pod network). Default false. */
    allowNonLoopback: z.boolean().default(false),
    /** libp2p: how long unreachable (or not yet resolvable) bootstrap peers are retried (medium default 30 s). */
    bootstrapRetryMs: z.number().int().min(0).max(3_600_000).optional(),
    /**
     * udp: send and receive PC5 through this network interface's IPv4 address, multicast TTL 1 (a pod's Multus
     * macvlan interface, `net1`); a non-loopback address needs allowNonLoopback. Absent: loopback.
     */
    interface: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,15}$/)
      .optional(),
  })
  .strict()
  .refine((c) => !(c.listenHost && c.listenHostEnv), 'give listenHost or listenHostEnv, not both')
  .refine((c) => c.interface === undefined || c.medium === 'udp', 'interface is for the udp medium');

export type UePc5Config = z.output<typeof uePc5ConfigSchema>;

/**
 * libp2p medium options of a UE from its validated `pc5` config and the environment. Throws (the node does not
 * start) when a named variable is missing or malformed, or a non-loopback listen address is not allowed.
 */
export function uePc5Libp2pOptions(
  cfg: UePc5Config,
  env: Readonly<Record<string, string | undefined>>,
): Pick<Libp2pPc5MediumOptions, 'listenAddress' | 'bootstrap' | 'allowNonLoopback' | 'bootstrapRetryMs'> & {
  listenPort: number;
} {
  let listenAddress = cfg.listenHost ?? '127.0.0.1';
  if (cfg.listenHostEnv) {
    const v = env[cfg.listenHostEnv]?.trim();
    if (!v || !isIPv4(v))
      throw new Error(`pc5.listenHostEnv: ${cfg.listenHostEnv} must hold an IPv4 address, got '${v ?? ''}'`);
    listenAddress = v;
  }
  if (!cfg.allowNonLoopback && !listenAddress.startsWith('127.'))
    throw new Error(`pc5 listen address ${listenAddress} is not loopback; set pc5.allowNonLoopback`);
  const bootstrap = [...cfg.bootstrap];
  if (cfg.bootstrapEnv) {
    const extra = (env[cfg.bootstrapEnv] ?? '').split(/\s+/).filter((s) => s !== '');
    if (extra.length > 5000)
      throw new Error(`pc5.bootstrapEnv: ${cfg.bootstrapEnv} lists more than 5000 peers`);
    for (const ma of extra) {
      const why = bootstrapEntryProblem(ma);
      if (why) throw new Error(`pc5.bootstrapEnv: ${cfg.bootstrapEnv}: '${ma.slice(0, 80)}': ${why}`);
    }
    bootstrap.push(...extra);
  }
  return {
    listenAddress,
    listenPort: cfg.listenPort,
    bootstrap,
    allowNonLoopback: cfg.allowNonLoopback,
    ...(cfg.bootstrapRetryMs !== undefined ? { bootstrapRetryMs: cfg.bootstrapRetryMs } : {}),
  };
}

/**
 * UDP medium options of a UE from its validated `pc5` config: with `interface`, bind and multicast through that
 * interface's IPv4 address (TTL 1 when it is not loopback, where the loopback-route check does not apply). Throws
 * (the node does not start) when the interface has no IPv4 address or a non-loopback one is not allowed.
 */
export function uePc5UdpOptions(
  cfg: UePc5Config | undefined,
  interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces(),
): Partial<UdpPc5MediumOptions> {
  if (cfg?.medium !== 'udp' || cfg.interface === undefined) return {};
  const address = interfaces[cfg.interface]?.find((a) => a.family === 'IPv4')?.address;
  if (!address)
    throw new Error(`pc5.interface ${cfg.interface} has no IPv4 address (is the network attached?)`);
  if (address.startsWith('127.')) return { bindAddress: address, multicastInterface: address };
  if (!cfg.allowNonLoopback)
    throw new Error(
      `pc5.interface ${cfg.interface} has address ${address}, not loopback; set pc5.allowNonLoopback`,
    );
  return {
    bindAddress: address,
    multicastInterface: address,
    multicastTtl: 1,
    allowNonLoopback: true,
    requireLoopbackRoute: false,
  };
}
