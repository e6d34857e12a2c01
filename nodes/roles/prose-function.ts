// ProSe Function role: PC3 server (TLS 1.3, mutual certificates; TR 33.833 solution #6.1) that authorizes UEs
// against the subscription list and provisions their ProSe configuration (groups, multicast addresses, validity).
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import type { Pc3Message, Pc3Reply, ProseConfig, RegisterRejectCause } from '../../transport/pc3/messages.js';
import type { Pc3Peer } from '../../transport/pc3/server.js';
import { enrollWithKms, nodePc3Server } from '../runtime/enrollment.js';
import type { Logger } from '../runtime/logger.js';
import {
  attachProseFunctionDiscovery,
  DEFAULT_THROTTLE,
  discoveryPolicySchema,
  throttleConfigSchema,
} from './prose-function-discovery.js';
import { GroupKeyService, groupKeysConfigSchema } from './prose-function-group-keys.js';
import type { RoleContext, RoleInstance } from './role.js';

const roleConfigSchema = z
  .object({
    subscribers: z.array(z.string()).max(100_000),
    groups: z.array(
      z
        .object({
          groupId: z.string(),
          multicastAddress: z.string(),
          port: z.number().int(),
          members: z.array(z.string()),
        })
        .strict(),
    ),
    discovery: z.object({ multicastAddress: z.string(), port: z.number().int() }).strict(),
    configValidityMs: z.number().int().positive(),
    /** Groups whose key the ProSe Function provisions over PC3 (TR 33.833 sol. #3.5); none when absent. */
    groupKeys: groupKeysConfigSchema.optional(),
    /** Discovery allocation policy (docs/discovery.md); none when absent. */
    discoveryPolicy: discoveryPolicySchema.optional(),
    /** Registration DoS throttle (TR 33.833 key issue #2.5); defaults when absent, off with false. */
    throttle: z.union([throttleConfigSchema, z.literal(false)]).optional(),
  })
  .strict();
export type ProseFunctionConfig = z.output<typeof roleConfigSchema>;
/** The ProSe Function's roleConfig schema (for configuration generators: deploy/k8s/render.ts). */
export const proseFunctionConfigSchema = roleConfigSchema;

/** The subscription database and configuration policy, separate from the transport so tests can drive it. */
export class ProseFunctionPolicy {
  private readonly subscribers: Map<string, number>;
  private readonly groupL2: Map<string, number>;
  private readonly registered = new Set<string>();

  constructor(
    private readonly cfg: ProseFunctionConfig,
    private readonly now: () => Date = () => new Date(),
  ) {
    // ProSe Layer-2 IDs are 24-bit (TS 23.303); allocate from random bases so runs differ.
    const ueBase = randomInt(1, 0x800000);
    this.subscribers = new Map(cfg.subscribers.map((id, i) => [id, (ueBase + i) & 0xffffff]));
    const groupBase = randomInt(0x800000, 0xff0000);
    this.groupL2 = new Map(cfg.groups.map((g, i) => [g.groupId, groupBase + i]));
  }

  get registeredCount(): number {
    return this.registered.size;
  }

  /** Authorizes a register_request from the UE authenticated as `peer`. */
  register(
    ueId: string,
    peer: Pc3Peer,
  ): { ok: true; config: ProseConfig } | { ok: false; cause: RegisterRejectCause; detail: string } {
    if (peer.role !== 'ue')
      return { ok: false, cause: 'not_authorized', detail: `a ${peer.role} cannot register as a UE` };
    // Key issue #1.1: the identity in the request must be the one the certificate proves.
    if (peer.nodeId !== ueId) {
      return { ok: false, cause: 'identity_mismatch', detail: 'ueId differs from the certificate identity' };
    }
    if (!this.subscribers.has(ueId))
      return { ok: false, cause: 'unknown_ue', detail: 'no ProSe subscription for this UE' };
    this.registered.add(ueId);
    return { ok: true, config: this.configFor(ueId) };
  }

  configFor(ueId: string): ProseConfig {
    const issued = this.now();
    return {
      ueId,
      l2Id: this.subscribers.get(ueId)!,
      groups: this.cfg.groups
        .filter((g) => g.members.includes(ueId))
        .map((g) => ({
          groupId: g.groupId,
          multicastAddress: g.multicastAddress,
          port: g.port,
          l2GroupId: this.groupL2.get(g.groupId)!,
        })),
      discovery: this.cfg.discovery,
      issuedAt: issued.toISOString(),
      validUntil: new Date(issued.getTime() + this.cfg.configValidityMs).toISOString(),
    };
  }

  isRegistered(ueId: string): boolean {
    return this.registered.has(ueId);
  }
}

/** Counts what the PC3 handler does (the role wires it to Prometheus). */
export interface ProseFunctionCounters {
  registration(result: string): void;
  unexpected(): void;
}

/** The ProSe Function's PC3 request handler: register_request and config_request. */
export function createProseFunctionHandler(
  policy: ProseFunctionPolicy,
  counters: ProseFunctionCounters,
  log?: Logger,
): (msg: Pc3Message, peer: Pc3Peer) => Pc3Reply {
  return (msg, peer) => {
    if (msg.type === 'register_request') {
      const r = policy.register(msg.body.ueId, peer);
      counters.registration(r.ok ? 'accepted' : r.cause);
      if (!r.ok) {
        log?.info({ ueId: peer.nodeId, cause: r.cause }, 'registration rejected');
        return { type: 'register_reject', body: { cause: r.cause, detail: r.detail } };
      }
      log?.debug({ ueId: peer.nodeId, l2Id: r.config.l2Id }, 'UE registered');
      return { type: 'register_accept', body: { config: r.config } };
    }
    if (msg.type === 'config_request') {
      if (!policy.isRegistered(peer.nodeId)) {
        return { type: 'error', body: { cause: 'not_authorized', detail: 'register first' } };
      }
      return { type: 'config_response', body: { config: policy.configFor(peer.nodeId) } };
    }
    counters.unexpected();
    return { type: 'error', body: { cause: 'unexpected_message', detail: `${msg.type} is not a request` } };
  };
}

export async function start(ctx: RoleContext): Promise<RoleInstance> {
  const { config, log, metrics } = ctx;
  const cfg = roleConfigSchema.parse(config.roleConfig);
  const policy = new ProseFunctionPolicy(cfg);
  const creds = await enrollWithKms(ctx);
  let errors = 0;
  const handler = createProseFunctionHandler(
    policy,
    {
      registration: (result) => metrics.registrations.inc({ result }),
      unexpected: () => {
        errors++;
      },
    },
    log,
  );
  const groupKeys = new GroupKeyService(
    cfg.groupKeys ?? [],
    (g, ue) => policy.isRegistered(ue) && cfg.groups.some((x) => x.groupId === g && x.members.includes(ue)),
    Date.now,
    (ue) => policy.isRegistered(ue),
  );
  for (const g of cfg.groupKeys ?? [])
    if (g.insecure?.anyoneMayFetch)
      log.warn(
        { group: g.groupId },
        'INSECURE group key handed to any registered UE (threat-matrix control)',
      );
  if (cfg.throttle === false) log.warn('INSECURE registration DoS throttle off (threat-matrix control)');
  const discovery = attachProseFunctionDiscovery({
    ...(cfg.discoveryPolicy ? { policy: cfg.discoveryPolicy } : {}),
    throttle: cfg.throttle ?? DEFAULT_THROTTLE,
    metrics,
    log,
  });
  const server = nodePc3Server(ctx, creds, {
    port: config.ports?.pc3 ?? 0,
    handler: discovery.wrap((msg, peer) => groupKeys.handle(msg, peer) ?? handler(msg, peer)),
    admitConnection: discovery.admitConnection,
    acceptTypes: ['register_request', 'config_request', 'group_key_request', ...discovery.acceptTypes],
  });
  discovery.setServer(server);
  const { port } = await server.listen();
  log.info({ port, subscribers: cfg.subscribers.length, groups: cfg.groups.length }, 'PC3 server listening');
  return {
    endpoints: { pc3: port },
    status: () => ({
      errors,
      details: {
        registered: policy.registeredCount,
        groupKeys: {
          issued: groupKeys.issued,
          rotations: groupKeys.rotated,
          issuedToNonMembers: groupKeys.issuedToNonMembers,
        },
        ...discovery.status(),
      },
    }),
    command: (name) => discovery.command(name),
    stop: () => server.close(),
  };
}
