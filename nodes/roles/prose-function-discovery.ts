// ProSe Function side of discovery (docs/discovery.md): allocates ProSe Application Codes and Keys over PC3,
// the set of UEs each announcer permits, revocation ("unfriend": new code and key to the remaining permitted
// set), the EPSID-ALUID binding check (TR 33.833 key issue #2.6), Model B match reports, and the registration
// DoS throttle (key issue #2.5). DiscoveryAllocator is transport-free; attachProseFunctionDiscovery wires it.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { verifyMatchReport } from '../../procedures/discovery/discovery-request-response.js';
import { BoundedSeenSet } from '../../procedures/discovery/messages.js';
import {
  RegistrationThrottle,
  type ThrottleOptions,
} from '../../procedures/discovery/registration-throttle.js';
import type { DiscoveryAllocation, Pc3Message, Pc3Reply } from '../../transport/pc3/messages.js';
import type { Pc3Peer, Pc3Server } from '../../transport/pc3/server.js';
import type { Logger } from '../runtime/logger.js';
import type { NodeMetrics } from '../runtime/metrics.js';

export const discoveryPolicySchema = z
  .object({
    applicationId: z.string(),
    option: z.enum(['nonce', 'time-slot']),
    slotMs: z.number().int().min(10),
    /** EPSID (the UE's subscription identity, its certificate nodeId) -> ALUID, and whom each user permits. */
    users: z.array(z.object({ ueId: z.string(), aluid: z.string(), permits: z.array(z.string()) }).strict()),
  })
  .strict();
export type DiscoveryPolicyConfig = z.output<typeof discoveryPolicySchema>;

export const throttleConfigSchema = z
  .object({
    connectionsPerSecond: z.number().positive(),
    connectionBurst: z.number().positive(),
    requestsPerSecond: z.number().positive(),
    requestBurst: z.number().positive(),
    failurePenalty: z.number().nonnegative(),
    banAfterRefusals: z.number().int().nonnegative(),
    banMs: z.number().int().nonnegative(),
    /** Tokens a failed or throttled registration costs its source address (misbehaving sources get cut off). */
    addressFailurePenalty: z.number().nonnegative(),
  })
  .strict();
export type ThrottleConfig = z.output<typeof throttleConfigSchema>;

/** Defaults: generous for legitimate start-up storms from one address, tight per certified identity. */
export const DEFAULT_THROTTLE: ThrottleConfig = {
  connectionsPerSecond: 100,
  connectionBurst: 300,
  requestsPerSecond: 2,
  requestBurst: 5,
  failurePenalty: 4,
  banAfterRefusals: 20,
  banMs: 10_000,
  addressFailurePenalty: 30,
};

interface UserState {
  ueId: string;
  aluid: string;
  permits: Set<string>;
  restrictedCode: Uint8Array;
  restrictedKey: Uint8Array;
  openCode: Uint8Array;
  publicKeyPem?: string;
  epoch: number;
}

export type DiscoveryRegisterResult =
  | { ok: true; allocation: DiscoveryAllocation }
  | { ok: false; cause: 'aluid_mismatch' | 'unknown_application' | 'not_registered'; detail: string };

/** The discovery allocation database (transport-free). */
export class DiscoveryAllocator {
  private readonly byAluid = new Map<string, UserState>();
  private readonly byUe = new Map<string, UserState>();
  revocations = 0;

  constructor(private readonly cfg: DiscoveryPolicyConfig) {
    for (const u of cfg.users) {
      const s: UserState = {
        ueId: u.ueId,
        aluid: u.aluid,
        permits: new Set(u.permits),
        // ProSe Application Code and Key (TS 33.303 6.1.3 restricted discovery roles): fresh random values.
        restrictedCode: randomBytes(8),
        restrictedKey: randomBytes(32),
        openCode: randomBytes(8),
        epoch: 0,
      };
      this.byAluid.set(u.aluid, s);
      this.byUe.set(u.ueId, s);
    }
  }

  /** Discovery registration by the UE whose certificate says `ueId` (EPSID), for application user `aluid`. */
  register(
    ueId: string,
    aluid: string,
    applicationId: string,
    publicKeyPem: string,
  ): DiscoveryRegisterResult {
    if (applicationId !== this.cfg.applicationId)
      return { ok: false, cause: 'unknown_application', detail: 'no such ProSe Application ID' };
    const s = this.byAluid.get(aluid);
    // Key issue #2.6: the ALUID must belong to the same user as the EPSID the certificate proves.
    if (!s || s.ueId !== ueId)
      return { ok: false, cause: 'aluid_mismatch', detail: 'the ALUID is not bound to this subscription' };
    s.publicKeyPem = publicKeyPem;
    return { ok: true, allocation: this.allocationFor(ueId)! };
  }

  isRegistered(ueId: string): boolean {
    return this.byUe.get(ueId)?.publicKeyPem !== undefined;
  }

  registeredUes(): string[] {
    return [...this.byUe.values()].filter((s) => s.publicKeyPem).map((s) => s.ueId);
  }

  allocationFor(ueId: string): DiscoveryAllocation | undefined {
    const me = this.byUe.get(ueId);
    if (!me) return undefined;
    const others = [...this.byAluid.values()].filter((u) => u !== me);
    return {
      epoch: me.epoch,
      applicationId: this.cfg.applicationId,
      aluid: me.aluid,
      option: this.cfg.option,
      slotMs: this.cfg.slotMs,
      announce: {
        restricted: { code: toHex(me.restrictedCode), key: toHex(me.restrictedKey) },
        open: { code: toHex(me.openCode) },
      },
      monitor: {
        restricted: others
          .filter((u) => u.permits.has(me.aluid))
          .map((u) => ({ aluid: u.aluid, code: toHex(u.restrictedCode), key: toHex(u.restrictedKey) })),
        open: others
          .filter((u) => u.publicKeyPem)
          .map((u) => ({ aluid: u.aluid, code: toHex(u.openCode), publicKeyPem: u.publicKeyPem! })),
      },
    };
  }

  /**
   * "Unfriend": `announcer` stops permitting `monitor`. A new code and key go to the announcer and the
   * remaining permitted set; the revoked monitor's copy of the old key no longer matches anything. Returns the
   * UEs whose allocation changed (to push to).
   */
  revoke(announcer: string, monitor: string): string[] {
    const a = this.byAluid.get(announcer);
    if (!a?.permits.has(monitor)) return [];
    const before = [...a.permits];
    a.permits.delete(monitor);
    a.restrictedCode = randomBytes(8);
    a.restrictedKey = randomBytes(32);
    a.epoch++;
    this.revocations++;
    const affected = [a.ueId, ...before.map((m) => this.byAluid.get(m)?.ueId)];
    for (const id of affected) {
      const s = id ? this.byUe.get(id) : undefined;
      if (s && s !== a) s.epoch++;
    }
    return affected.filter((x): x is string => x !== undefined);
  }

  /** The (code, key) of an announcer by its restricted code, for match reports. */
  restrictedByCode(codeHex: string): UserState | undefined {
    for (const u of this.byAluid.values()) if (toHex(u.restrictedCode) === codeHex) return u;
    return undefined;
  }
}

type Handler = (msg: Pc3Message, peer: Pc3Peer) => Pc3Reply | Promise<Pc3Reply>;

export interface ProseFunctionDiscovery {
  acceptTypes: readonly Pc3Message['type'][];
  wrap(handler: Handler): Handler;
  admitConnection(remoteAddress: string | undefined): boolean;
  setServer(server: Pc3Server): void;
  command(name: string): void;
  status(): Record<string, unknown>;
}

export function attachProseFunctionDiscovery(opts: {
  policy?: DiscoveryPolicyConfig;
  throttle: ThrottleConfig | false;
  metrics: NodeMetrics;
  log: Logger;
  now?: () => number;
}): ProseFunctionDiscovery {
  const now = opts.now ?? (() => performance.timeOrigin + performance.now());
  const allocator = opts.policy ? new DiscoveryAllocator(opts.policy) : undefined;
  const pm = {
    throttled: opts.metrics.registrationThrottled,
    matchReports: opts.metrics.discoveryMatchReports,
  };
  const t = opts.throttle;
  const connThrottle = t
    ? new RegistrationThrottle({
        ratePerSecond: t.connectionsPerSecond,
        burst: t.connectionBurst,
        failurePenalty: t.addressFailurePenalty,
        banAfterRefusals: t.banAfterRefusals,
        banMs: t.banMs,
        maxSources: 65_536,
      })
    : undefined;
  const reqThrottle = t
    ? new RegistrationThrottle({
        ratePerSecond: t.requestsPerSecond,
        burst: t.requestBurst,
        failurePenalty: t.failurePenalty,
        banAfterRefusals: t.banAfterRefusals,
        banMs: t.banMs,
        maxSources: 100_000,
      } satisfies ThrottleOptions)
    : undefined;
  const reportsSeen = new BoundedSeenSet(16_384);
  // A source address whose registrations fail (unsubscribed, impostor, throttled) loses connection tokens, so a
  // flooding address is soon refused at TCP accept, before the TLS handshake (the expensive part).
  const penalizeAddress = (peer: Pc3Peer) =>
    connThrottle?.penalize(`addr:${peer.remoteAddress || '?'}`, now());
  let server: Pc3Server | undefined;
  let pushes = 0;

  const push = (ueIds: string[]) => {
    if (!server || !allocator) return;
    for (const id of new Set(ueIds)) {
      if (!allocator.isRegistered(id)) continue;
      const allocation = allocator.allocationFor(id)!;
      pushes += server.push((p) => p.nodeId === id && p.role === 'ue', 'discovery_allocation', {
        allocation,
      });
    }
  };

  return {
    acceptTypes: ['discovery_register_request', 'discovery_match_report'],
    admitConnection(remoteAddress) {
      if (!connThrottle) return true;
      const d = connThrottle.admit(`addr:${remoteAddress ?? '?'}`, now());
      if (!d.ok) pm.throttled.inc({ stage: 'connection', cause: d.cause });
      return d.ok;
    },
    setServer(s) {
      server = s;
    },
    wrap(inner) {
      return (msg, peer) => {
        const isRegistration = msg.type === 'register_request' || msg.type === 'discovery_register_request';
        if (isRegistration && reqThrottle) {
          // Cheap rejection first: a map lookup per certified identity, before policy or crypto.
          const d = reqThrottle.admit(`id:${peer.role}:${peer.nodeId}`, now());
          if (!d.ok) {
            penalizeAddress(peer);
            pm.throttled.inc({ stage: 'request', cause: d.cause });
            opts.metrics.registrations.inc({ result: 'throttled' });
            const detail = 'too many registration attempts; retry later';
            return msg.type === 'register_request'
              ? { type: 'register_reject', body: { cause: 'rate_limited', detail } }
              : { type: 'discovery_register_reject', body: { cause: 'rate_limited', detail } };
          }
        }
        if (msg.type === 'discovery_register_request') {
          if (!allocator)
            return {
              type: 'discovery_register_reject',
              body: { cause: 'unknown_application', detail: 'no discovery' },
            };
          const r = allocator.register(
            peer.nodeId,
            msg.body.aluid,
            msg.body.applicationId,
            msg.body.publicKeyPem,
          );
          opts.metrics.registrations.inc({ result: r.ok ? 'discovery_accepted' : r.cause });
          if (!r.ok) {
            reqThrottle?.penalize(`id:${peer.role}:${peer.nodeId}`, now());
            penalizeAddress(peer);
            opts.log.info({ ueId: peer.nodeId, cause: r.cause }, 'discovery registration rejected');
            return { type: 'discovery_register_reject', body: { cause: r.cause, detail: r.detail } };
          }
          // Every other registered user's open-discovery list grows by this one.
          queueMicrotask(() => push(allocator.registeredUes().filter((id) => id !== peer.nodeId)));
          return { type: 'discovery_register_accept', body: { allocation: r.allocation } };
        }
        if (msg.type === 'discovery_match_report') {
          if (!allocator?.isRegistered(peer.nodeId))
            return {
              type: 'error',
              body: { cause: 'not_authorized', detail: 'register for discovery first' },
            };
          const target = allocator.restrictedByCode(msg.body.code);
          const key = `${msg.body.code}:${msg.body.requestNonce}`;
          let result:
            | { ok: true }
            | {
                ok: false;
                cause: 'unknown' | 'replay' | 'malformed' | 'bad_mic' | 'stale' | 'bad_signature';
              };
          if (!target) result = { ok: false, cause: 'unknown' };
          else if (reportsSeen.has(key)) result = { ok: false, cause: 'replay' };
          else
            result = verifyMatchReport(
              { code: target.restrictedCode, key: target.restrictedKey },
              fromHex(msg.body.requestNonce),
              fromHex(msg.body.response),
              now(),
              opts.policy!.slotMs,
            );
          pm.matchReports.inc({ result: result.ok ? 'ok' : result.cause });
          if (result.ok) {
            reportsSeen.add(key);
            return { type: 'discovery_match_ack', body: { ok: true, aluid: target!.aluid } };
          }
          return { type: 'discovery_match_ack', body: { ok: false, cause: result.cause } };
        }
        const reply = inner(msg, peer);
        if (msg.type === 'register_request' && reqThrottle) {
          void Promise.resolve(reply).then((r) => {
            if (r?.type === 'register_reject') {
              reqThrottle.penalize(`id:${peer.role}:${peer.nodeId}`, now());
              penalizeAddress(peer);
            }
          });
        }
        return reply;
      };
    },
    command(name) {
      const m = /^discovery-revoke ([A-Za-z0-9._-]+) ([A-Za-z0-9._-]+)$/.exec(name);
      if (!m || !allocator) return;
      const affected = allocator.revoke(m[1]!, m[2]!);
      opts.log.info(
        { announcer: m[1], monitor: m[2], affected: affected.length },
        'discovery permission revoked',
      );
      push(affected);
    },
    status() {
      return {
        discovery: allocator
          ? { registered: allocator.registeredUes().length, revocations: allocator.revocations, pushes }
          : undefined,
        throttle: reqThrottle
          ? {
              requestsAdmitted: reqThrottle.admitted,
              requestsRefused: reqThrottle.refused,
              connectionsAdmitted: connThrottle!.admitted,
              connectionsRefused: connThrottle!.refused,
            }
          : undefined,
      };
    },
  };
}
