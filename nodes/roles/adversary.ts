// Adversary role (docs/threat-matrix.md): its own OS process on the run's PC5 medium. It joins the PC5 groups it is
// given (discovery and one-to-many groups), holds no key of the run, and runs attack modules (nodes/adversary/) during
// the traffic phase; their evidence is in its status, which `prosec attack` puts in the threat matrix.
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseBundle, validateBundle } from '../../crypto-core/kms-bundle.js';
import { Pc3Client } from '../../transport/pc3/client.js';
import { enroll } from '../../transport/pc3/enrollment.js';
import type { Pc3Server } from '../../transport/pc3/server.js';
import type { Pc5Frame } from '../../transport/pc5/frame.js';
import { decodePc5Frame, Pc5FrameError } from '../../transport/pc5/frame.js';
import { UdpPc5Medium } from '../../transport/pc5/udp-medium.js';
import type { Attack, AttackIo, RelayEnd } from '../adversary/attack.js';
import { type LoopbackCapture, NO_CAPTURE_TOOL, startLoopbackCapture } from '../adversary/capture.js';
import { ATTACK_IDS, ATTACKS, type AttackId } from '../adversary/index.js';
import { kmsKeysClient, nodePc3Server } from '../runtime/enrollment.js';
import { pc3Sink, pc5Sink } from '../runtime/sinks.js';
import type { RoleContext, RoleInstance } from './role.js';

const configSchema = z
  .object({
    attacks: z.array(z.enum(ATTACK_IDS as [AttackId, ...AttackId[]])).min(1),
    groups: z
      .array(z.object({ address: z.string(), port: z.number().int().min(1).max(65535) }).strict())
      .min(1)
      .max(20),
    /** The UEs' PC5 unicast ports (direct links): the loopback capture's filter, for attacks that need a tap. */
    unicastPorts: z.array(z.number().int().min(1).max(65535)).max(5000).default([]),
    /** Upper bound of the capture's lifetime (the capture tool stops by itself after it). */
    captureSeconds: z.number().int().min(5).max(86_400).default(900),
    /**
     * A compromised subscribed UE whose credentials the adversary holds (enrollment token in
     * PROSEC_INSIDER_TOKEN), and the ProSe Function-keyed groups that UE is not a member of.
     */
    insider: z
      .object({ ueId: z.string(), targetGroups: z.array(z.string()).max(64) })
      .strict()
      .optional(),
    /**
     * A man in the middle on one direct link (scenario adversary.mitmDirectLink, deploy/direct-links.ts planMitm):
     * the port both UEs were given as their peer's, which the adversary binds, and the two UEs' own ports.
     */
    mitm: z
      .object({
        port: z.number().int().min(1).max(65535),
        initiator: z.object({ id: z.string(), port: z.number().int().min(1).max(65535) }).strict(),
        responder: z.object({ id: z.string(), port: z.number().int().min(1).max(65535) }).strict(),
      })
      .strict()
      .optional(),
    /**
     * Serve as the manager of this standard group (its members but the insider are pointed here): enrolled as a
     * group manager named `nodeId` (token in PROSEC_ROGUE_GM_TOKEN); needs the insider and the KMS key service.
     */
    rogueGroupManager: z.object({ groupId: z.string(), nodeId: z.string() }).strict().optional(),
    /**
     * Serve PC3 register_request to this UE (whose re-registrations are pointed here) with a forged ProSe
     * configuration: its groups (`groupIds`) at a multicast group of the adversary's own. TLS with the same
     * group-manager certificate (`nodeId`, token in PROSEC_ROGUE_GM_TOKEN): of the run's CA, not a ProSe Function's.
     */
    rogueConfigServer: z
      .object({ ueId: z.string(), groupIds: z.array(z.string()).min(1).max(64), nodeId: z.string() })
      .strict()
      .optional(),
    kmsKeys: z
      .object({ host: z.string(), port: z.number().int().min(1).max(65535) })
      .strict()
      .optional(),
  })
  .strict();

export async function start(ctx: RoleContext): Promise<RoleInstance> {
  const { config, log, metrics } = ctx;
  const cfg = configSchema.parse(config.roleConfig);
  const medium = new UdpPc5Medium({ l2Id: randomInt(1, 0xfffffe), metrics: pc5Sink(metrics) });
  await medium.start();
  metrics.pc5MediumInfo.set({ medium: medium.kind }, 1);
  for (const g of cfg.groups) await medium.joinGroup(g);
  const timers = new Set<NodeJS.Timeout>();
  let active = false;
  let errors = 0;
  const io: AttackIo = {
    send: (group, frame) => {
      try {
        medium.sendToGroup(group, frame);
      } catch (e) {
        errors++;
        log.warn({ err: (e as Error).message }, 'adversary send failed');
      }
    },
    later: (ms: number, f: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        if (active) f();
      }, ms);
      timers.add(t);
    },
  };
  let insiderPc3: Pc3Client | undefined;
  if (cfg.insider) {
    const token = process.env.PROSEC_INSIDER_TOKEN;
    delete process.env.PROSEC_INSIDER_TOKEN;
    if (!token || !config.kms || !config.proseFunction)
      throw new Error('adversary.insider needs the insider token, the KMS and the ProSe Function endpoints');
    // The insider's certificate: role ue, its node id (a second enrollment of a real UE of the run).
    const caCertPem = readFileSync(config.kms.caCertFile, 'utf8');
    const c = await enroll({
      host: config.kms.host,
      port: config.kms.port,
      caCertPem,
      nodeId: cfg.insider.ueId,
      role: 'ue',
      token,
    });
    const pf = config.proseFunction;
    const newPc3Client = (o: { localAddress?: string; timeoutMs?: number } = {}) =>
      new Pc3Client({
        host: pf.host,
        port: pf.port,
        certPem: c.certPem,
        keyPem: c.privateKeyPem,
        caCertPem: c.caCertPem,
        expectedServer: { role: 'prose-function' },
        metrics: pc3Sink(metrics),
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
        ...(o.timeoutMs ? { timeoutMs: o.timeoutMs, connectTimeoutMs: o.timeoutMs } : {}),
      });
    insiderPc3 = newPc3Client();
    const reg = await insiderPc3.request('register_request', { ueId: cfg.insider.ueId });
    if (reg.type !== 'register_accept')
      throw new Error(`the insider's registration was refused (${reg.type})`);
    // The insider's own MIKEY-SAKKE keys (a UE gets its own from the KMS): the rogue group manager signs with them.
    let keys: ReturnType<typeof parseBundle> | undefined;
    if (cfg.rogueGroupManager && cfg.kmsKeys) {
      const kms = kmsKeysClient(cfg.kmsKeys, { ...c, keyPem: c.privateKeyPem }, metrics, 30_000);
      try {
        const r = await kms.request('kms_bundle_request', {});
        if (r.type !== 'kms_bundle_response') throw new Error(`KMS key service answered ${r.type}`);
        keys = parseBundle(r.body.bundle);
        validateBundle(keys, new Date());
      } finally {
        await kms.close();
      }
    }
    log.info(
      { insider: cfg.insider.ueId, targetGroups: cfg.insider.targetGroups },
      'holding a subscribed UE’s credentials (registered with the ProSe Function)',
    );
    const pc3 = insiderPc3;
    io.insider = {
      ueId: cfg.insider.ueId,
      targetGroups: cfg.insider.targetGroups,
      request: (type, body) => pc3.request(type, body),
      newPc3Client,
      config: reg.body.config,
      ...(keys ? { keys } : {}),
    };
  }
  // A rogue group manager: a group-manager certificate of the run's CA (the TLS checks of a UE pass), no group key.
  // The rogue configuration server serves with the same certificate (a group manager's, not a ProSe Function's).
  let rogueCreds: { certPem: string; keyPem: string; caCertPem: string } | undefined;
  const rogueNodeId = cfg.rogueGroupManager?.nodeId ?? cfg.rogueConfigServer?.nodeId;
  if (rogueNodeId) {
    const token = process.env.PROSEC_ROGUE_GM_TOKEN;
    delete process.env.PROSEC_ROGUE_GM_TOKEN;
    if (!token || !config.kms) throw new Error('a rogue PC3 server needs its token and the KMS');
    const c = await enroll({
      host: config.kms.host,
      port: config.kms.port,
      caCertPem: readFileSync(config.kms.caCertFile, 'utf8'),
      nodeId: rogueNodeId,
      role: 'group-manager',
      token,
    });
    rogueCreds = { certPem: c.certPem, keyPem: c.privateKeyPem, caCertPem: c.caCertPem };
  }
  if (cfg.rogueConfigServer) {
    // The attacker's own multicast group (239.0.0.0/8 stays on loopback), where the forged configuration sends the
    // victim's groups.
    const group = {
      address: `239.${randomInt(200, 250)}.${randomInt(0, 256)}.${randomInt(1, 255)}`,
      port: await freeUdpPort(),
    };
    await medium.joinGroup(group);
    io.rogueConfigServer = {
      ueId: cfg.rogueConfigServer.ueId,
      groupIds: cfg.rogueConfigServer.groupIds,
      group,
      l2GroupId: randomInt(1, 0xfffffe),
      discovery: cfg.groups[0]!,
    };
    log.info(
      { victim: cfg.rogueConfigServer.ueId, group },
      'rogue configuration server: forged groups at our own group',
    );
  }
  if (cfg.rogueGroupManager) {
    if (!rogueCreds || !cfg.kmsKeys || !io.insider?.keys)
      throw new Error(
        'adversary.rogueGroupManager needs its token, the KMS, the key service and the insider',
      );
    // It asks the KMS for the group identity's signing key, as the group's manager would: refused (not its manager).
    const kms = kmsKeysClient(cfg.kmsKeys, rogueCreds, metrics, 30_000);
    let refused = false;
    try {
      const r = await kms.request('kms_bundle_request', { groupId: cfg.rogueGroupManager.groupId });
      refused = r.type === 'error';
    } finally {
      await kms.close();
    }
    io.rogueGroupManager = { groupId: cfg.rogueGroupManager.groupId, groupKeyRefusedByKms: refused };
    log.info(
      { groupId: cfg.rogueGroupManager.groupId, groupKeyRefusedByKms: refused },
      'rogue group manager: holds a group-manager certificate, not the group identity key',
    );
  }
  const attacks = new Map<AttackId, Attack>(cfg.attacks.map((id) => [id, ATTACKS[id](io)]));
  let rogueServer: Pc3Server | undefined;
  let roguePort: number | undefined;
  if (rogueCreds) {
    const serving = [...attacks.values()].filter((a) => a.onPc3Request);
    rogueServer = nodePc3Server(ctx, rogueCreds, {
      port: 0,
      allowedRoles: ['ue'],
      acceptTypes: ['gmk_request', 'register_request'],
      handler: async (msg, peer) => {
        for (const a of serving) {
          const r = await a.onPc3Request!(msg, peer);
          if (r) return r;
        }
        return { type: 'error', body: { cause: 'unexpected_message', detail: 'not served' } };
      },
    });
    roguePort = (await rogueServer.listen()).port;
    log.info({ port: roguePort }, 'rogue PC3 server listening (group-manager certificate)');
  }
  medium.onFrame((frame, meta) => {
    if (!active || !meta.group) return;
    for (const a of attacks.values()) a.onFrame(frame, meta.group);
  });
  // A passive tap on the one-to-one links, for the attacks that read unicast traffic.
  const tapped = [...attacks.values()].filter((a) => a.onCaptured);
  const tap = { packets: 0, frames: 0, notPc5: 0, failed: 0 };
  let capture: LoopbackCapture | undefined;
  if (tapped.length > 0) {
    const started = startLoopbackCapture(
      cfg.unicastPorts,
      (u) => {
        if (!active) return;
        tap.packets++;
        try {
          const frame = decodePc5Frame(u.payload);
          tap.frames++;
          for (const a of tapped) a.onCaptured!(frame);
        } catch (e) {
          if (!(e instanceof Pc5FrameError)) throw e;
          tap.notPc5++;
        }
      },
      { maxSeconds: cfg.captureSeconds },
    );
    if (!started) {
      tap.failed = 1;
      log.warn(
        { reason: cfg.unicastPorts.length ? NO_CAPTURE_TOOL : 'no PC5 unicast ports in this run' },
        'no capture point',
      );
    } else {
      capture = started.capture;
      await started.ready;
      log.info(
        { tool: capture.tool, ports: cfg.unicastPorts.length },
        'loopback capture on the PC5 unicast ports',
      );
    }
  }
  // The man in the middle: a second PC5 socket on the port both UEs of the link take for their peer's. Every frame
  // is relayed, from start-up to shutdown (so the link works as long as no attack touches it); attack modules with
  // onRelay may change, inject or drop frames during the traffic phase.
  const relayers = [...attacks.values()].filter((a) => a.onRelay);
  const relayStats = { toResponder: 0, toInitiator: 0, injected: 0, dropped: 0, unknownSource: 0, errors: 0 };
  let relay: UdpPc5Medium | undefined;
  if (cfg.mitm) {
    const m = cfg.mitm;
    relay = new UdpPc5Medium({
      l2Id: randomInt(1, 0xfffffe),
      unicastPort: m.port,
      metrics: pc5Sink(metrics),
    });
    await relay.start();
    const out = relay;
    out.onFrame((frame, meta) => {
      if (meta.group) return;
      const from = meta.from.port;
      const toward: RelayEnd | undefined =
        from === m.initiator.port ? 'responder' : from === m.responder.port ? 'initiator' : undefined;
      if (!toward || meta.from.host !== '127.0.0.1') {
        relayStats.unknownSource++;
        return;
      }
      let frames: Pc5Frame[] = [frame];
      if (active) for (const a of relayers) frames = frames.flatMap((f) => a.onRelay!(f, toward) ?? [f]);
      if (frames.length === 0) relayStats.dropped++;
      relayStats.injected += Math.max(0, frames.length - 1);
      const to = { host: '127.0.0.1', port: toward === 'responder' ? m.responder.port : m.initiator.port };
      for (const f of frames) {
        try {
          // The UEs' own L2 IDs, sequence numbers and flags: the relay is invisible at layer 2.
          out.sendUnicast(to, {
            type: f.type,
            srcL2Id: f.srcL2Id,
            dstL2Id: f.dstL2Id,
            seq: f.seq,
            flags: f.flags,
            payload: f.payload,
          });
          if (toward === 'responder') relayStats.toResponder++;
          else relayStats.toInitiator++;
        } catch (e) {
          relayStats.errors++;
          log.warn({ err: (e as Error).message }, 'adversary relay send failed');
        }
      }
    });
    log.info(
      { port: m.port, initiator: m.initiator.id, responder: m.responder.id },
      'man in the middle on a direct link: relaying every frame between its two UEs',
    );
  } else if (relayers.length > 0) log.warn('relay attacks selected but no direct link to sit on (no mitm)');
  log.info({ attacks: cfg.attacks, groups: cfg.groups.length }, 'adversary listening on the PC5 groups');
  return {
    endpoints: { pc5: medium.unicastAddress.port, ...(roguePort ? { pc3: roguePort } : {}) },
    command(name) {
      if (name === 'start-traffic' && !active) {
        active = true;
        for (const a of attacks.values()) a.start?.();
      }
      if (name === 'stop-traffic') active = false;
    },
    status: () => ({
      errors,
      details: {
        adversary: {
          ...Object.fromEntries([...attacks].map(([id, a]) => [id, a.evidence()])),
          ...(tapped.length
            ? {
                capture: {
                  ...tap,
                  failed: tap.failed || (capture?.failure() ? 1 : 0),
                  skipped: capture?.parser.skipped ?? 0,
                },
              }
            : {}),
          ...(cfg.mitm ? { relay: { ...relayStats } } : {}),
        },
      },
    }),
    async stop() {
      active = false;
      for (const t of timers) clearTimeout(t);
      const failure = capture?.failure();
      if (failure) log.warn({ failure }, 'loopback capture failed');
      await capture?.stop();
      await Promise.all([...attacks.values()].map((a) => a.stop?.().catch(() => undefined)));
      await insiderPc3?.close();
      await rogueServer?.close(100);
      await relay?.close();
      await medium.close();
    },
  };
}

/** A free UDP port on loopback (bound and released). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => resolve(port));
    });
  });
}
