// UE role: enrolls for a certificate, registers with the ProSe Function over PC3 (TLS 1.3, mutual
// authentication), receives its ProSe configuration, joins its groups on PC5 and exchanges one-to-many frames.

import { X509Certificate } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { Pc3Client, Pc3RequestError } from '../../transport/pc3/client.js';
import type { ProseConfig } from '../../transport/pc3/messages.js';
import { groupKey, type Pc5Group, type Pc5Medium } from '../../transport/pc5/medium.js';
import { type ProximityConfig, ProximityPolicy } from '../../transport/pc5/proximity.js';
import { UdpPc5Medium } from '../../transport/pc5/udp-medium.js';
import { enrollWithKms } from '../runtime/enrollment.js';
import { pc5NetnsOptions } from '../runtime/pc5-netns.js';
import { pc3Sink, pc5Sink } from '../runtime/sinks.js';
import type { RoleContext, RoleInstance } from './role.js';
import { startUeDirectLinks, type UeDirectLinks } from './ue-direct-link.js';
import { startUeDiscovery, type UeDiscovery, ueDiscoveryConfigSchema } from './ue-discovery.js';
import { startUeGroupSecurity, type UeGroupSecurity } from './ue-group.js';
import { uePc5ConfigSchema, uePc5Libp2pOptions, uePc5UdpOptions } from './ue-pc5.js';
import { movedGroups, reRegistrationClient } from './ue-reregistration.js';

export const ueRoleConfigSchema = z
  .object({
    traffic: z
      .object({
        groupRate: z.number().nonnegative(),
        payloadBytes: z.number().int().min(16).max(1400),
        /** Re-register over a fresh PC3 connection this often during the traffic phase (scenario traffic.reRegisterEvery). */
        reRegisterEvery: z.number().int().positive().optional(),
      })
      .strict(),
    /**
     * Where this UE sends its re-registrations (traffic.reRegisterEvery), when not to the ProSe Function it registered
     * with: the threat matrix's rogue configuration server (scenario adversary.rogueConfigServer, TR 33.833 #1.1).
     */
    reRegisterTo: z
      .object({ host: z.string(), port: z.number().int().min(1).max(65535) })
      .strict()
      .optional(),
    /** Defences switched off for the threat matrix's control run only (logged INSECURE). */
    insecure: z
      .object({
        /** Re-registration: accept a PC3 server certificate of the run's CA for any role, not only prose-function. */
        acceptAnyConfigServer: z.boolean().default(false),
      })
      .strict()
      .optional(),
    /** This UE is deliberately not subscribed: a register_reject is the expected outcome. */
    expectRejection: z.boolean().default(false),
    /** PC5 one-to-one direct link settings (nodes/roles/ue-direct-link.ts validates them). */
    directLink: z.object({ unicastPort: z.number().int() }).passthrough().optional(),
    /** One-to-many group security (nodes/roles/ue-group.ts validates it). */
    groupSecurity: z.object({}).passthrough().optional(),
    /** ProSe discovery (nodes/roles/ue-discovery.ts; docs/discovery.md). */
    discovery: ueDiscoveryConfigSchema.optional(),
    /** netns mode: positions, PC5 range, emulated link delay (transport/pc5/proximity.ts; docs/netns.md). */
    proximity: z
      .object({ self: z.string(), windowMs: z.number().positive(), peers: z.array(z.unknown()) })
      .passthrough()
      .optional(),
    /** PC5 medium (scenario pc5.medium): UDP multicast on loopback (default) or libp2p (docs/pc5.md, ue-pc5.ts). */
    pc5: uePc5ConfigSchema.optional(),
  })
  .strict();

/** Test-traffic payload: 8-octet send time (monotonic ns, comparable between processes on one host) + filler. */
function testPayload(size: number): Uint8Array {
  const p = new Uint8Array(size);
  new DataView(p.buffer).setBigUint64(0, process.hrtime.bigint());
  return p;
}

export async function start(ctx: RoleContext): Promise<RoleInstance> {
  const { config, log, metrics } = ctx;
  const cfg = ueRoleConfigSchema.parse(config.roleConfig);
  // libp2p listen address and bootstrap list (env-named ones in a pod), checked before enrolling.
  const libp2pOptions = cfg.pc5?.medium === 'libp2p' ? uePc5Libp2pOptions(cfg.pc5, process.env) : undefined;
  // UDP through a named interface (a pod's Multus network), also checked before enrolling.
  const udpOptions = uePc5UdpOptions(cfg.pc5);
  if (!config.proseFunction) throw new Error('a UE needs the ProSe Function endpoint (config.proseFunction)');
  const creds = await enrollWithKms(ctx);
  // Public fingerprint of this UE's own certificate (status: shows every UE, packed or not, is its own identity).
  const certSha256 = new X509Certificate(creds.certPem).fingerprint256;
  let errors = 0;

  // PC3: register and download the ProSe configuration.
  const t0 = performance.now();
  const pc3 = new Pc3Client({
    host: config.proseFunction.host,
    port: config.proseFunction.port,
    certPem: creds.certPem,
    keyPem: creds.keyPem,
    caCertPem: creds.caCertPem,
    expectedServer: { role: 'prose-function' },
    metrics: pc3Sink(metrics),
    // Hundreds of UEs start at once (packed mode): a bounded but generous wait for the handshake and the reply.
    connectTimeoutMs: 20_000,
    timeoutMs: 20_000,
  });
  // PC3 key establishment: the TLS 1.3 handshake (ECDHE, mutual certificates) that protects the registration.
  const tKey = performance.now();
  const keySetup = (result: string) =>
    metrics.keySetupSeconds.observe(
      { procedure: 'pc3_tls', method: 'tls13_ecdhe_cert', result },
      (performance.now() - tKey) / 1000,
    );
  await pc3.connect().then(
    () => keySetup('ok'),
    (e: unknown) => {
      keySetup('failed');
      throw e;
    },
  );
  const reply = await pc3.request('register_request', { ueId: config.id });
  await pc3.close();
  let proseConfig: ProseConfig | undefined;
  let rejected: string | undefined;
  if (reply.type === 'register_accept') {
    proseConfig = reply.body.config;
    metrics.registrationSeconds.observe({ result: 'accepted' }, (performance.now() - t0) / 1000);
    log.info({ l2Id: proseConfig.l2Id, groups: proseConfig.groups.map((g) => g.groupId) }, 'registered');
  } else if (reply.type === 'register_reject') {
    rejected = reply.body.cause;
    metrics.registrationSeconds.observe({ result: 'rejected' }, (performance.now() - t0) / 1000);
    if (cfg.expectRejection) log.info({ cause: rejected }, 'registration rejected, as expected for this UE');
    else {
      errors++;
      log.error({ cause: rejected, detail: reply.body.detail }, 'registration rejected');
    }
  } else {
    errors++;
    log.error({ type: reply.type }, 'unexpected PC3 reply to register_request');
  }
  if (proseConfig && cfg.expectRejection) {
    errors++;
    log.error('registered although this UE has no subscription');
  }

  // PC5: join the configured groups and exchange one-to-many test frames.
  const peersHeard = new Map<string, Set<number>>();
  const groupByKey = new Map<string, { id: string; group: Pc5Group; l2GroupId: number }>();
  /** Where each group's one-to-many test traffic goes: its address in the configuration in use. */
  const sendTo = new Map<string, { group: Pc5Group; l2GroupId: number }>();
  let medium: Pc5Medium | undefined;
  // Ad-hoc group members have a fixed unicast port so the group's creator can reach them (docs/group.md).
  const adhocPort = (cfg.groupSecurity as { adhoc?: { unicastPort?: number } } | undefined)?.adhoc
    ?.unicastPort;
  const proximity = cfg.proximity
    ? new ProximityPolicy(cfg.proximity as unknown as ProximityConfig)
    : undefined;
  if (proseConfig) {
    const onError = (e: Error) => log.warn({ err: e.message }, 'PC5 medium error');
    if (libp2pOptions) {
      // Loaded only when used: libp2p costs about 0.5 s and 25 MiB per process (shared/notes/machine-facts.md).
      const { Libp2pPc5Medium } = await import('../../transport/pc5/libp2p-medium.js');
      medium = new Libp2pPc5Medium({
        ...libp2pOptions,
        l2Id: proseConfig.l2Id,
        listenPort: libp2pOptions.listenPort || (cfg.directLink?.unicastPort ?? adhocPort ?? 0),
        metrics: pc5Sink(metrics),
        onError,
      });
    } else {
      medium = new UdpPc5Medium({
        ...pc5NetnsOptions(config),
        ...udpOptions,
        ...(proximity ? { receivePolicy: proximity } : {}),
        l2Id: proseConfig.l2Id,
        ...(cfg.directLink ? { unicastPort: cfg.directLink.unicastPort } : {}),
        ...(adhocPort !== undefined ? { unicastPort: adhocPort } : {}),
        metrics: pc5Sink(metrics),
        onError,
      });
    }
    await medium.start();
    metrics.pc5MediumInfo.set({ medium: medium.kind }, 1);
    for (const g of proseConfig.groups) {
      const group = { address: g.multicastAddress, port: g.port };
      groupByKey.set(groupKey(group), { id: g.groupId, group, l2GroupId: g.l2GroupId });
      sendTo.set(g.groupId, { group, l2GroupId: g.l2GroupId });
      peersHeard.set(g.groupId, new Set());
      await medium.joinGroup(group);
    }
    await medium.joinGroup({
      address: proseConfig.discovery.multicastAddress,
      port: proseConfig.discovery.port,
    });
    medium.onFrame((frame, meta) => {
      if (!meta.group) return;
      const g = groupByKey.get(groupKey(meta.group));
      if (g && frame.dstL2Id === g.l2GroupId) peersHeard.get(g.id)!.add(frame.srcL2Id);
      if (g && proximity && frame.type === 'test' && frame.payload.length >= 8) {
        const sentAt = new DataView(frame.payload.buffer, frame.payload.byteOffset, 8).getBigUint64(0);
        proximity.recordLatency(Number(meta.receivedAt - sentAt) / 1e6);
      }
    });
  }

  let directLinks: UeDirectLinks | undefined;
  if (medium && cfg.directLink) directLinks = await startUeDirectLinks(ctx, medium, creds, cfg.directLink);
  let groupSec: UeGroupSecurity | undefined;
  if (medium && proseConfig && cfg.groupSecurity)
    groupSec = await startUeGroupSecurity(ctx, medium, creds, proseConfig, cfg.groupSecurity);
  let discovery: UeDiscovery | undefined;
  if (medium && proseConfig && cfg.discovery) {
    const group = { address: proseConfig.discovery.multicastAddress, port: proseConfig.discovery.port };
    discovery = await startUeDiscovery(ctx, medium, creds, group, cfg.discovery, (aluid) =>
      proximity?.recordDiscovery(aluid),
    );
  }

  const timers: NodeJS.Timeout[] = [];
  // Re-registration during the traffic phase (as after the configuration's validity expires): a new TLS 1.3
  // connection and a register_request each time. Its success and latency show whether the ProSe Function still
  // serves legitimate UEs (the threat matrix's registration-flood row); failures are counted, not errors.
  // serverRefused: the server's certificate does not name a ProSe Function (TLS session refused, configuration kept);
  // configsApplied: a configuration with other group addresses than the one in use was applied (groups re-joined).
  const reReg = {
    attempts: 0,
    ok: 0,
    failed: 0,
    serverRefused: 0,
    configsApplied: 0,
    latenciesMs: [] as number[],
  };
  const acceptAnyServer = cfg.insecure?.acceptAnyConfigServer ?? false;
  if (acceptAnyServer)
    log.warn(
      'INSECURE: re-registration accepts a PC3 server certificate of any role (acceptAnyConfigServer; threat-matrix control only)',
    );
  const reRegTarget = cfg.reRegisterTo ?? config.proseFunction;
  let reRegTimer: NodeJS.Timeout | undefined;
  let reRegClient: Pc3Client | undefined;
  const reRegister = async () => {
    // TR 33.833 #1.1: only a ProSe Function may configure the UE (the server certificate's role).
    reRegClient ??= reRegistrationClient({
      target: reRegTarget,
      creds,
      acceptAnyConfigServer: acceptAnyServer,
      metrics: pc3Sink(metrics),
    });
    reReg.attempts++;
    const t = performance.now();
    try {
      const r = await reRegClient.request('register_request', { ueId: config.id });
      const ms = performance.now() - t;
      metrics.registrationSeconds.observe(
        { result: r.type === 'register_accept' ? 'accepted' : 'rejected' },
        ms / 1000,
      );
      if (r.type === 'register_accept') {
        reReg.ok++;
        if (reReg.latenciesMs.length < 10_000) reReg.latenciesMs.push(Math.round(ms * 10) / 10);
        await applyConfig(r.body.config);
      } else {
        reReg.failed++;
        log.warn({ type: r.type }, 're-registration refused');
      }
    } catch (e) {
      reReg.failed++;
      if (e instanceof Pc3RequestError && e.code === 'server_identity') reReg.serverRefused++;
      log.warn({ err: (e as Error).message }, 're-registration failed');
    } finally {
      await reRegClient.close().catch(() => undefined);
    }
  };
  // A configuration obtained at re-registration is applied: a group whose address or port changed is joined at the
  // new address and its one-to-many traffic goes there (the old address is kept joined: group security uses it).
  const applyConfig = async (next: ProseConfig) => {
    if (!medium || !proseConfig) return;
    const moved = movedGroups(new Set(groupByKey.keys()), next);
    for (const g of moved) {
      const group = { address: g.multicastAddress, port: g.port };
      // Groups moved to one address share one membership (received frames count for the first group ID there).
      if (!groupByKey.has(groupKey(group))) {
        await medium.joinGroup(group);
        groupByKey.set(groupKey(group), { id: g.groupId, group, l2GroupId: g.l2GroupId });
      }
      sendTo.set(g.groupId, { group, l2GroupId: g.l2GroupId });
      if (!peersHeard.has(g.groupId)) peersHeard.set(g.groupId, new Set());
      if (trafficOn) startGroupSender(g.groupId);
    }
    if (moved.length === 0) return;
    reReg.configsApplied++;
    proseConfig = { ...next, l2Id: proseConfig.l2Id };
    log.warn(
      { groups: next.groups.map((g) => `${g.groupId}@${g.multicastAddress}:${g.port}`) },
      'applied a new ProSe configuration from re-registration',
    );
  };
  const startReRegistration = () => {
    const every = cfg.traffic.reRegisterEvery;
    if (!every || !proseConfig || reRegTimer) return;
    let busy = false;
    const tick = () => {
      if (busy) return;
      busy = true;
      void reRegister().finally(() => {
        busy = false;
      });
    };
    // Spread the UEs over the period.
    reRegTimer = setTimeout(() => {
      tick();
      reRegTimer = setInterval(tick, every);
    }, Math.random() * every);
  };
  const stopTraffic = () => {
    trafficOn = false;
    sending.clear();
    for (const t of timers.splice(0)) clearInterval(t);
    clearInterval(reRegTimer);
  };
  let trafficOn = false;
  const sending = new Set<string>();
  /** One-to-many test frames to a group, at whatever address the configuration in use gives it. */
  const startGroupSender = (groupId: string) => {
    if (!medium || cfg.traffic.groupRate <= 0 || sending.has(groupId)) return;
    sending.add(groupId);
    const periodMs = 1000 / cfg.traffic.groupRate;
    const send = () => {
      const g = sendTo.get(groupId);
      if (g)
        medium?.sendToGroup(g.group, {
          type: 'test',
          dstL2Id: g.l2GroupId,
          payload: testPayload(cfg.traffic.payloadBytes),
        });
    };
    // Spread senders over the period so the group is not hit by synchronized bursts.
    const first = setTimeout(() => {
      send();
      timers.push(setInterval(send, periodMs));
    }, Math.random() * periodMs);
    timers.push(first);
  };
  const startTraffic = () => {
    if (!medium || cfg.traffic.groupRate <= 0 || trafficOn) return;
    trafficOn = true;
    for (const id of sendTo.keys()) startGroupSender(id);
  };

  return {
    endpoints: medium ? { pc5: medium.unicastAddress.port } : {},
    command: (name) => {
      if (name === 'start-traffic') proximity?.startClock();
      if (name === 'start-traffic') startReRegistration();
      if (name === 'start-traffic') startTraffic();
      else if (name === 'stop-traffic') stopTraffic();
      if (name === 'start-traffic') directLinks?.startTraffic();
      else if (name === 'stop-traffic') directLinks?.stopTraffic();
      if (name === 'start-traffic') groupSec?.startTraffic();
      else if (name === 'stop-traffic') groupSec?.stopTraffic();
      if (name === 'start-traffic') discovery?.startTraffic();
      else if (name === 'stop-traffic') discovery?.stopTraffic();
    },
    status: () => ({
      provisioned: proseConfig !== undefined,
      errors: errors + (discovery?.status().errors ?? 0),
      details: {
        rejected,
        certSha256,
        l2Id: proseConfig?.l2Id,
        peersHeard: Object.fromEntries([...peersHeard].map(([k, v]) => [k, v.size])),
        pc5: medium?.stats(),
        /** Which PC5 medium carried this UE's frames ('udp' or 'libp2p'). */
        pc5Medium: medium?.kind,
        ...(directLinks ? { directLink: directLinks.status() } : {}),
        ...(groupSec ? { groupSecurity: groupSec.status() } : {}),
        ...(discovery ? { discovery: discovery.status() } : {}),
        ...(proximity ? { proximity: proximity.report() } : {}),
        ...(cfg.traffic.reRegisterEvery ? { reRegistrations: reReg } : {}),
      },
    }),
    stop: async () => {
      stopTraffic();
      await reRegClient?.close().catch(() => undefined);
      await directLinks?.stop();
      await groupSec?.stop();
      await discovery?.stop();
      await medium?.close();
    },
  };
}
