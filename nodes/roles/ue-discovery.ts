// UE side of ProSe discovery (docs/discovery.md): registers its application user (ALUID) with the ProSe
// Function over PC3, receives its allocation (own ProSe Application Codes and Key, the codes it may monitor) and
// its updates (pushed on revocation), announces on the PC5 discovery group (restricted, rotating ID; open, signed)
// and matches what it hears. The procedures are sans-I/O (procedures/discovery/); this file wires them.
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import {
  DiscoveryRequester,
  DiscoveryResponder,
  discoveryIdKey,
  type RequestTarget,
} from '../../procedures/discovery/discovery-request-response.js';
import { RotatingL2Id } from '../../procedures/discovery/l2-rotation.js';
import { DISCOVERY_KINDS, timeSlot } from '../../procedures/discovery/messages.js';
import {
  ecdsaSigner,
  ecdsaVerifier,
  OpenAnnouncer,
  OpenMonitor,
} from '../../procedures/discovery/open-discovery.js';
import { RestrictedAnnouncer, RestrictedMonitor } from '../../procedures/discovery/restricted-discovery.js';
import { Pc3Client } from '../../transport/pc3/client.js';
import type { DiscoveryAllocation, Pc3Message } from '../../transport/pc3/messages.js';
import type { Pc5Group, Pc5Medium } from '../../transport/pc5/medium.js';
import type { NodeCredentials } from '../runtime/enrollment.js';
import {
  loadOrCreateDeviceKey,
  loadProtectedConfig,
  ProtectedConfigError,
  saveProtectedConfig,
} from '../runtime/protected-config.js';
import { pc3Sink } from '../runtime/sinks.js';
import type { RoleContext } from './role.js';

/** The `discovery` part of a UE's roleConfig (built by deploy/discovery-plan.ts). */
export const ueDiscoveryConfigSchema = z
  .object({
    aluid: z.string(),
    applicationId: z.string(),
    /** Registers this ALUID instead of its own (an impostor: the ProSe Function must reject it, key issue #2.6). */
    claimAluid: z.string().optional(),
    announceEveryMs: z.number().int().positive(),
    restricted: z.boolean(),
    open: z.boolean(),
    rotateL2Id: z.boolean().default(true),
    /** INSECURE (threat-matrix control): no replay cache at the restricted-discovery monitor. */
    noReplayProtection: z.boolean().default(false),
    /** INSECURE (threat-matrix control): the open-discovery monitor accepts announcements whose signature fails. */
    acceptUnsigned: z.boolean().default(false),
    /** Model B (solution #2.2) requests for the permitted targets, verified locally or by the ProSe Function. */
    modelB: z
      .object({ verifyAt: z.enum(['local', 'prose-function']), requestEveryMs: z.number().int().positive() })
      .strict()
      .optional(),
  })
  .strict();
export type UeDiscoveryConfig = z.output<typeof ueDiscoveryConfigSchema>;

export interface DiscoveredPeer {
  count: number;
  firstMs: number;
  lastMs: number;
}

export interface UeDiscoveryStatus {
  aluid: string;
  registered: boolean;
  rejected?: string;
  expectRejection: boolean;
  epoch: number;
  allocationsReceived: number;
  watchedRestricted: number;
  watchedOpen: number;
  announcementsSent: number;
  /** Per mode ('restricted', 'open'): ALUID -> matches (wall-clock ms of the first and last). */
  discovered: Record<'restricted' | 'open' | 'modelB', Record<string, DiscoveredPeer>>;
  rejectedByCause: Record<string, number>;
  /** Restricted announcements matched although the same announcement had matched before (replays accepted). */
  replaysAccepted: number;
  /** Open announcements matched although their signature is not the owner's (forgeries that got through). */
  forgeriesAccepted: number;
  hmacs: number;
  verifications: number;
  errors: number;
  /** Configuration at rest (key issue #1.1): allocations stored sealed, and stored copies refused at load. */
  configStored: number;
  configRefused: number;
}

export interface UeDiscovery {
  startTraffic(): void;
  stopTraffic(): void;
  status(): UeDiscoveryStatus;
  stop(): Promise<void>;
}

export async function startUeDiscovery(
  ctx: RoleContext,
  medium: Pc5Medium,
  creds: NodeCredentials,
  group: Pc5Group,
  cfg: UeDiscoveryConfig,
  /** Called on every match with the discovered ALUID (netns mode counts them per time window). */
  onMatch?: (aluid: string) => void,
): Promise<UeDiscovery> {
  const { config, log, metrics } = ctx;
  const now = () => Date.now(); // UTC: the time slots are UTC-based counters shared by every UE
  const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKeyPem = String(signing.publicKey.export({ type: 'spki', format: 'pem' }));
  const signer = ecdsaSigner(signing.privateKey);
  const st: UeDiscoveryStatus = {
    aluid: cfg.aluid,
    registered: false,
    expectRejection: cfg.claimAluid !== undefined,
    epoch: -1,
    allocationsReceived: 0,
    watchedRestricted: 0,
    watchedOpen: 0,
    announcementsSent: 0,
    discovered: { restricted: {}, open: {}, modelB: {} },
    rejectedByCause: {},
    replaysAccepted: 0,
    forgeriesAccepted: 0,
    hmacs: 0,
    verifications: 0,
    errors: 0,
    configStored: 0,
    configRefused: 0,
  };
  // Configuration protection at rest: sealed with a device key (AES-256-GCM), bound to this UE.
  const stateDir = join(config.runDir, 'ue-state');
  const storeFile = join(stateDir, `${config.id}.pcfg`);
  const deviceKey = loadOrCreateDeviceKey(join(stateDir, `${config.id}.device-key`));
  try {
    loadProtectedConfig(storeFile, deviceKey, config.id); // a previous run of this UE left one
    log.info('stored discovery configuration verified');
  } catch (e) {
    if (!(e instanceof ProtectedConfigError)) throw e;
    if (e.code !== 'missing') {
      st.configRefused++;
      log.warn({ cause: e.code }, 'stored discovery configuration refused; registering afresh');
    }
  }
  if (cfg.noReplayProtection)
    log.warn('INSECURE discovery monitor without replay cache (threat-matrix control)');
  if (cfg.acceptUnsigned)
    log.warn('INSECURE open-discovery monitor accepts bad signatures (threat-matrix control)');
  let errors = 0;
  let restrictedAnn: RestrictedAnnouncer | undefined;
  let openAnn: OpenAnnouncer | undefined;
  let restrictedMon: RestrictedMonitor | undefined;
  let openMon: OpenMonitor | undefined;
  // Model B: this UE answers requests for its own code and asks for the users that permit it.
  let responder: DiscoveryResponder | undefined;
  let requester: DiscoveryRequester | undefined;
  let modelBTargets: RequestTarget[] = [];
  const requestL2 = new RotatingL2Id();
  let requestNo = 0;
  let option: 'nonce' | 'time-slot' = 'nonce';
  let slotMs = 500;
  let announcerKey = '';
  // Source L2 IDs of our announcements: rotating with the over-the-air ID (restricted) or per slot (open), or the
  // node's own L2 ID when rotation is off.
  const restrictedL2 = new RotatingL2Id();
  const openL2 = new RotatingL2Id();
  let announcementNo = 0;

  const apply = (a: DiscoveryAllocation) => {
    st.allocationsReceived++;
    st.epoch = a.epoch;
    option = a.option;
    slotMs = a.slotMs;
    // Keep the announcer while its code and key are unchanged: option 2 allows one announcement per slot.
    const ownKey = `${a.announce.restricted.code}:${a.announce.restricted.key}:${a.option}`;
    if (ownKey !== announcerKey) {
      restrictedAnn = new RestrictedAnnouncer(
        { code: fromHex(a.announce.restricted.code), key: fromHex(a.announce.restricted.key) },
        { option: a.option, slotMs: a.slotMs },
      );
      announcerKey = ownKey;
    }
    openAnn = new OpenAnnouncer(fromHex(a.announce.open.code), signer, { slotMs: a.slotMs });
    const rm = new RestrictedMonitor({ slotMs: a.slotMs, replayCheck: !cfg.noReplayProtection });
    rm.setEntries(
      a.monitor.restricted.map((e) => ({ owner: e.aluid, code: fromHex(e.code), key: fromHex(e.key) })),
    );
    if (restrictedMon) st.hmacs += restrictedMon.hmacs;
    restrictedMon = rm;
    const om = new OpenMonitor({ slotMs: a.slotMs, acceptUnsigned: cfg.acceptUnsigned });
    om.setEntries(
      a.monitor.open.map((e) => ({
        owner: e.aluid,
        code: fromHex(e.code),
        verifier: ecdsaVerifier(e.publicKeyPem),
      })),
    );
    if (openMon) st.verifications += openMon.verifications;
    openMon = om;
    if (cfg.modelB) {
      const own = { code: fromHex(a.announce.restricted.code), key: fromHex(a.announce.restricted.key) };
      responder = new DiscoveryResponder({ mode: 'mic', slotMs: a.slotMs, own });
      requester = new DiscoveryRequester({ mode: 'mic', slotMs: a.slotMs, verifyAt: cfg.modelB.verifyAt });
      modelBTargets = a.monitor.restricted.map((e) => {
        const c = { code: fromHex(e.code), key: fromHex(e.key) };
        // With the ProSe Function in the loop the discoverer keeps only K_id, never the MIC key.
        return cfg.modelB!.verifyAt === 'local'
          ? { owner: e.aluid, code: c.code, key: c.key }
          : { owner: e.aluid, code: c.code, idKey: discoveryIdKey(c) };
      });
    }
    saveProtectedConfig(storeFile, deviceKey, config.id, a);
    st.configStored++;
    st.watchedRestricted = a.monitor.restricted.length;
    st.watchedOpen = a.monitor.open.length;
    // Keys are never logged: only counts and the epoch.
    log.info(
      { epoch: a.epoch, restricted: st.watchedRestricted, open: st.watchedOpen },
      'discovery allocation applied',
    );
  };

  const pc3 = new Pc3Client({
    host: config.proseFunction!.host,
    port: config.proseFunction!.port,
    certPem: creds.certPem,
    keyPem: creds.keyPem,
    caCertPem: creds.caCertPem,
    expectedServer: { role: 'prose-function' },
    metrics: pc3Sink(metrics),
    onUnsolicited: (msg: Pc3Message) => {
      if (msg.type === 'discovery_allocation') apply(msg.body.allocation);
    },
  });
  const reply = await pc3.request('discovery_register_request', {
    aluid: cfg.claimAluid ?? cfg.aluid,
    applicationId: cfg.applicationId,
    publicKeyPem,
  });
  if (reply.type === 'discovery_register_accept') {
    st.registered = true;
    apply(reply.body.allocation);
    if (st.expectRejection) {
      errors++;
      log.error('the ProSe Function accepted an ALUID bound to another user');
    }
  } else if (reply.type === 'discovery_register_reject') {
    st.rejected = reply.body.cause;
    if (st.expectRejection) log.info({ cause: st.rejected }, 'discovery registration rejected, as expected');
    else {
      errors++;
      log.error({ cause: st.rejected }, 'discovery registration rejected');
    }
    await pc3.close();
  } else {
    errors++;
    log.error({ type: reply.type }, 'unexpected reply to discovery_register_request');
  }

  log.info(
    {
      group: group.address,
      port: group.port,
      l2Id: medium.l2Id,
      aluid: cfg.aluid,
      registered: st.registered,
    },
    'discovery started',
  );
  // Discovery latency: listening started -> first match of each announcer (owner) per mode. Announcers rotate their
  // PC5 source L2 IDs, so a monitor cannot tell which unmatched announcement came from whom (that is the point).
  const matched = new Set<string>();
  const matchedAnnouncements = new Set<string>();
  let listenStart = 0;
  let running = false;
  const myL2 = medium.l2Id;
  const record = (mode: 'restricted' | 'open' | 'modelB', owner: string, label: string) => {
    const t = now();
    const d = st.discovered[mode][owner];
    if (d) {
      d.count++;
      d.lastMs = t;
    } else st.discovered[mode][owner] = { count: 1, firstMs: t, lastMs: t };
    metrics.discoveryMatches.inc({ mode: label });
    onMatch?.(owner);
    const key = `${mode}:${owner}`;
    if (!matched.has(key)) {
      matched.add(key);
      metrics.discoveryLatencySeconds.observe({ mode: label }, (performance.now() - listenStart) / 1000);
    }
  };
  const ownL2 = new Set<number>();
  const onModelB = (type: 'discovery_request' | 'discovery_response', p: Uint8Array) => {
    const t = now();
    if (type === 'discovery_request') {
      if (!responder) return;
      const ev = responder.receive(p, t);
      if (ev.type === 'respond') {
        medium.sendToGroup(group, {
          type: 'discovery_response',
          dstL2Id: 0xffffff,
          srcL2Id: srcL2(requestL2, `q${requestNo++}`),
          payload: ev.payload,
        });
      } else if (ev.cause !== 'unknown') reject(ev.cause); // requests for other UEs are not rejections
      return;
    }
    if (!requester) return;
    const ev = requester.receive(p, t);
    if (ev.type === 'match') record('modelB', ev.owner, 'model_b');
    else if (ev.type === 'match_report') {
      void pc3
        .request('discovery_match_report', {
          code: toHex(ev.code),
          requestNonce: toHex(ev.requestNonce),
          response: toHex(ev.response),
        })
        .then((r) => {
          if (r.type === 'discovery_match_ack' && r.body.ok) record('modelB', ev.owner, 'model_b_pf');
          else if (r.type === 'discovery_match_ack') reject(r.body.cause ?? 'unknown');
        })
        .catch((e) => log.warn({ err: (e as Error).message }, 'match report failed'));
    } else if (ev.cause !== 'unknown') reject(ev.cause); // responses to other UEs' requests
  };
  const offFrame = medium.onFrame((frame, meta) => {
    if (!meta.group || meta.group.address !== group.address || meta.group.port !== group.port) return;
    // Our own frames (node L2 ID, or one of our rotated ones) loop back on the group.
    if (!running || frame.srcL2Id === myL2 || ownL2.has(frame.srcL2Id)) return;
    if (frame.type === 'discovery_request' || frame.type === 'discovery_response') {
      onModelB(frame.type, frame.payload);
      return;
    }
    if (frame.type !== 'discovery_announce') return;
    const p = frame.payload;
    const isOpen = p.length > 1 && p[1] === DISCOVERY_KINDS.open;
    const t = now();
    if (isOpen) {
      if (!openMon) return;
      const ev = openMon.receive(p, t);
      if (ev.type === 'match' && ev.forged) st.forgeriesAccepted++;
      if (ev.type === 'match') record('open', ev.owner, 'open');
      else reject(ev.cause);
    } else {
      if (!restrictedMon) return;
      const ev = restrictedMon.receive(p, t);
      if (ev.type === 'match') {
        // Ground truth for the threat matrix: an announcement (same octets) matched twice is a replay that got through.
        const id = toHex(p);
        if (matchedAnnouncements.has(id)) st.replaysAccepted++;
        else {
          if (matchedAnnouncements.size >= 50_000) matchedAnnouncements.clear();
          matchedAnnouncements.add(id);
        }
      }
      if (ev.type === 'match')
        record('restricted', ev.owner, ev.option === 'nonce' ? 'restricted_nonce' : 'restricted_slot');
      else reject(ev.cause);
    }
  });
  const reject = (cause: string) => {
    st.rejectedByCause[cause] = (st.rejectedByCause[cause] ?? 0) + 1;
    metrics.discoveryRejected.inc({ cause });
  };

  let timer: NodeJS.Timeout | undefined;
  let requestTimer: NodeJS.Timeout | undefined;
  const srcL2 = (rot: RotatingL2Id, epoch: string): number => {
    if (!cfg.rotateL2Id) return myL2;
    const id = rot.idFor(epoch);
    ownL2.add(id);
    if (ownL2.size > 64) ownL2.delete(ownL2.values().next().value!);
    return id;
  };
  const requestAll = () => {
    if (!requester) return;
    const t = now();
    for (const target of modelBTargets) {
      medium.sendToGroup(group, {
        type: 'discovery_request',
        dstL2Id: 0xffffff,
        srcL2Id: srcL2(requestL2, `q${requestNo++}`),
        payload: requester.request(target, t),
      });
    }
  };
  const announce = () => {
    const t = now();
    const slot = timeSlot(t, slotMs);
    if (cfg.restricted && restrictedAnn) {
      const p = restrictedAnn.announce(t);
      if (p) {
        // Option 2's ID changes per slot, option 1's per announcement: the L2 ID follows it.
        const epoch = option === 'time-slot' ? `s${slot}` : `n${announcementNo++}`;
        medium.sendToGroup(group, {
          type: 'discovery_announce',
          dstL2Id: 0xffffff,
          srcL2Id: srcL2(restrictedL2, epoch),
          payload: p,
        });
        st.announcementsSent++;
        metrics.discoveryAnnouncements.inc({
          mode: option === 'nonce' ? 'restricted_nonce' : 'restricted_slot',
        });
      }
    }
    if (cfg.open && openAnn) {
      medium.sendToGroup(group, {
        type: 'discovery_announce',
        dstL2Id: 0xffffff,
        srcL2Id: srcL2(openL2, `s${slot}`),
        payload: openAnn.announce(t),
      });
      st.announcementsSent++;
      metrics.discoveryAnnouncements.inc({ mode: 'open' });
    }
  };

  return {
    startTraffic() {
      running = true;
      listenStart = performance.now();
      if (!st.registered || timer) return;
      const first = setTimeout(() => {
        announce();
        timer = setInterval(announce, cfg.announceEveryMs);
      }, Math.random() * Math.min(cfg.announceEveryMs, 200));
      timer = first;
      if (cfg.modelB) requestTimer = setInterval(requestAll, cfg.modelB.requestEveryMs);
    },
    stopTraffic() {
      if (requestTimer) clearInterval(requestTimer);
      requestTimer = undefined;
      if (timer) {
        clearTimeout(timer);
        clearInterval(timer);
      }
      timer = undefined;
      // Keep listening a little: announcements in flight still count.
      setTimeout(() => {
        running = false;
      }, 300).unref();
    },
    status() {
      return {
        ...st,
        hmacs: st.hmacs + (restrictedMon?.hmacs ?? 0),
        verifications: st.verifications + (openMon?.verifications ?? 0),
        errors,
      };
    },
    async stop() {
      if (timer) {
        clearTimeout(timer);
        clearInterval(timer);
      }
      offFrame();
      await pc3.close();
    },
  };
}
