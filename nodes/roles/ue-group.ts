// UE side of one-to-many group security (docs/group.md): obtains each group's GMK by the group's solution
// (standard: MIKEY-SAKKE I_MESSAGEs from the group manager, TR 33.833 sol. #3.1; pc3: the ProSe Function's
// pre-provisioned group key, sol. #3.5), sets up group calls (signed MIKEY PSK message with a fresh GSK over PC5
// multicast) and protects/deciphers the call media with per-sender keys. Hooked from ue.ts with a few lines.
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { SqnArray } from '../../crypto-core/aka-sqn.js';
import { fromHex } from '../../crypto-core/bytes.js';
import { parseBundle, validateBundle } from '../../crypto-core/kms-bundle.js';
import { Milenage } from '../../crypto-core/milenage.js';
import { eccsiPrecompute } from '../../crypto-core/rfc6507-eccsi.js';
import { sakkePrecompute } from '../../crypto-core/rfc6508-sakke.js';
import { nafId } from '../../crypto-core/ts33220-gba.js';
import { ueIdentityUri } from '../../procedures/direct-link/kd-identity.js';
import {
  DEFAULT_NAF_FQDN,
  impiOf,
  openGroupKeyPush,
  PROSEC_UA_PROTOCOL_ID,
} from '../../procedures/group/gba-push.js';
import { GmkReceiver, type GmkRecord, groupIdentityUri } from '../../procedures/group/gmk-distribution.js';
import { GroupCallReceiver, prepareCallInit } from '../../procedures/group/group-call.js';
import {
  type GroupCrypto,
  inlineGroupCrypto,
  receiveCallInit,
  receiveGmk,
  receiveGmkWithoutSignatureCheck,
  shareVerifications,
  signCallInit,
} from '../../procedures/group/group-crypto.js';
import {
  AES_GCM_GROUP_MEDIA_ALGS,
  DEFAULT_GROUP_MEDIA_ALGS,
  type GroupMediaAlgorithms,
  GroupMediaReceiver,
  GroupMediaSender,
  TS33303_GROUP_MEDIA_ALGS,
} from '../../procedures/group/group-media.js';
import { decodeGroupSignalling, encodeGroupSignalling } from '../../procedures/group/signalling.js';
import { Pc3Client } from '../../transport/pc3/client.js';
import type { ProseConfig } from '../../transport/pc3/messages.js';
import type { Pc5Group, Pc5Medium } from '../../transport/pc5/medium.js';
import { groupKey } from '../../transport/pc5/medium.js';
import type { NodeCredentials } from '../runtime/enrollment.js';
import { pc3Sink } from '../runtime/sinks.js';
import type { RoleContext } from './role.js';
import { type AdhocGroups, adhocConfigSchema, startAdhocGroups } from './ue-group-adhoc.js';

const endpoint = z.object({ host: z.string(), port: z.number().int().min(1).max(65535) }).strict();

export const ueGroupConfigSchema = z
  .object({
    kmsKeys: endpoint,
    groupManager: endpoint.optional(),
    groups: z
      .array(
        z
          .object({
            groupId: z.string(),
            solution: z.enum(['standard', 'pc3', 'adhoc', 'network']),
            mediaIntegrity: z.boolean().default(true),
            mediaCipher: z.enum(['128-nea2', 'aes-128-gcm']).default('128-nea2'),
            /** network groups: white-list or invitation variant. */
            variant: z.enum(['whitelist', 'invitation']).optional(),
            /** standard groups: this group's manager, when not the run's one (the threat matrix's rogue manager). */
            groupManager: endpoint.optional(),
            insecure: z
              .object({
                nullCipher: z.boolean(),
                noReplayProtection: z.boolean(),
                noCallReplayProtection: z.boolean().default(false),
                /** INSECURE (threat-matrix control): install GMKs without verifying the I_MESSAGE's ECCSI signature. */
                skipGmkSignatureCheck: z.boolean().default(false),
              })
              .strict()
              .default({
                nullCipher: false,
                noReplayProtection: false,
                noCallReplayProtection: false,
                skipGmkSignatureCheck: false,
              }),
          })
          .strict(),
      )
      .max(64),
    /** Calls this UE initiates, relative to the start of the traffic phase. */
    calls: z
      .array(
        z
          .object({ groupId: z.string(), atMs: z.number().int().min(0), durationMs: z.number().int().min(1) })
          .strict(),
      )
      .max(1000),
    media: z.object({ rate: z.number().min(0).max(2000), payloadBytes: z.number().int().min(16).max(1400) }),
    /** Network-supported groups (sol. #3.2): the key server and this UE's USIM (secrets: never logged). */
    keyServer: endpoint.optional(),
    usim: z
      .object({
        imsi: z.string().regex(/^\d{6,15}$/),
        k: z.string().regex(/^[0-9a-f]{32}$/),
        opc: z.string().regex(/^[0-9a-f]{32}$/),
      })
      .strict()
      .optional(),
    /** Group owner of invitation groups: whom to invite at start-up. */
    invite: z
      .array(z.object({ groupId: z.string(), members: z.array(z.string()).max(5000) }).strict())
      .max(64)
      .optional(),
    /** Ad-hoc groups (GMK over one-to-one links): ports and, for creators, members and removals. */
    adhoc: adhocConfigSchema.optional(),
  })
  .strict();
export type UeGroupConfig = z.output<typeof ueGroupConfigSchema>;

export interface UeGroupStatus {
  groups: Record<
    string,
    {
      solution: string;
      gmkInstalls: number;
      gmkId?: number;
      removedAtMs?: number;
      /** Media PDUs deciphered from calls set up after this UE was removed (must stay 0). */
      decryptedAfterRemoval: number;
      /** Media PDUs deciphered in any call after the removal time. */
      decryptedAnyAfterRemoval: number;
      /** Media PDUs received after the removal and not deciphered. */
      rejectedAfterRemoval: number;
      callsSetUpAfterRemoval: number;
    }
  >;
  gmkInstallMs: Record<string, number[]>;
  callsInitiated: number;
  callSetupMs: Record<string, number[]>;
  mediaSent: number;
  mediaReceived: number;
  /** Media PDUs accepted although an identical (GSK, sender, COUNT) was accepted before: replays that got through. */
  mediaDuplicatesAccepted: number;
  /** Call-inits accepted for a GSK-ID already installed here: replayed call set-ups that got through. */
  callReplaysAccepted: number;
  /**
   * Ground truth for the threat matrix: GMKs installed although the I_MESSAGE's ECCSI signature does not verify
   * (possible only with insecure.skipGmkSignatureCheck; the signature is still checked, for this count only).
   */
  forgedGmksInstalled: number;
  /** Media PDUs deciphered in calls set up under such a forged GMK. */
  forgedKeyMediaReceived: number;
  mediaBytesReceived: number;
  failures: Record<string, number>;
}

export interface UeGroupSecurity {
  startTraffic(): void;
  stopTraffic(): void;
  status(): UeGroupStatus;
  stop(): Promise<void>;
}

/** Media payload: 8-octet send time (monotonic ns) + filler, as the UE test traffic. */
function mediaPayload(size: number): Uint8Array {
  const p = new Uint8Array(size);
  new DataView(p.buffer).setBigUint64(0, process.hrtime.bigint());
  return p;
}

export async function startUeGroupSecurity(
  ctx: RoleContext,
  medium: Pc5Medium,
  creds: NodeCredentials,
  prose: ProseConfig,
  raw: unknown,
): Promise<UeGroupSecurity> {
  const { config, log, metrics } = ctx;
  const cfg = ueGroupConfigSchema.parse(raw);
  const selfUri = ueIdentityUri(config.id);
  const client = (ep: { host: string; port: number }, role: string) =>
    new Pc3Client({
      host: ep.host,
      port: ep.port,
      certPem: creds.certPem,
      keyPem: creds.keyPem,
      caCertPem: creds.caCertPem,
      expectedServer: { role },
      metrics: pc3Sink(metrics),
      timeoutMs: 20_000,
      // Start-up of many UEs at once keeps the servers busy: connect (TLS handshake included) gets the same bound.
      connectTimeoutMs: 20_000,
    });
  const kms = client(cfg.kmsKeys, 'kms');
  let crypto: GroupCrypto;
  try {
    const reply = await kms.request('kms_bundle_request', {});
    if (reply.type !== 'kms_bundle_response') throw new Error(`KMS key service answered ${reply.type}`);
    const bundle = parseBundle(reply.body.bundle);
    validateBundle(bundle, new Date());
    // SAKKE tables only when a standard group will send this UE I_MESSAGEs (seconds of CPU on a loaded host).
    if (cfg.groups.some((g) => g.solution === 'standard')) sakkePrecompute(bundle.Z_S, bundle.RSK);
    eccsiPrecompute(bundle.KPAK);
    crypto = ctx.packed
      ? shareVerifications(inlineGroupCrypto(bundle), bundle.KPAK)
      : inlineGroupCrypto(bundle);
  } finally {
    await kms.close();
  }

  const solutionOf = new Map(cfg.groups.map((g) => [g.groupId, g.solution]));
  const gmks = new GmkReceiver({
    selfUri,
    trustedSigner: (g) => (solutionOf.get(g) === 'standard' ? groupIdentityUri(g) : undefined),
  });
  const calls = new GroupCallReceiver({
    gmks,
    noReplayCheck: new Set(cfg.groups.filter((g) => g.insecure.noCallReplayProtection).map((g) => g.groupId)),
  });
  const st: UeGroupStatus = {
    groups: {},
    gmkInstallMs: {},
    callsInitiated: 0,
    callSetupMs: {},
    mediaSent: 0,
    mediaReceived: 0,
    mediaDuplicatesAccepted: 0,
    callReplaysAccepted: 0,
    forgedGmksInstalled: 0,
    forgedKeyMediaReceived: 0,
    mediaBytesReceived: 0,
    failures: {},
  };
  const fail = (stage: string, cause: string) => {
    metrics.groupDecryptFailures.inc({ stage, cause });
    st.failures[`${stage}.${cause}`] = (st.failures[`${stage}.${cause}`] ?? 0) + 1;
  };
  interface Joined {
    id: string;
    solution: 'standard' | 'pc3' | 'adhoc' | 'network';
    group: Pc5Group;
    l2: number;
    rx: GroupMediaReceiver;
    /** Media protection profile of the group (scenario `mediaIntegrity`). */
    algs: GroupMediaAlgorithms;
    /** GSK-ID -> call set-up time (Date.now()), to tell calls set up after a removal. */
    callStart: Map<number, number>;
    /** GSK-IDs of calls set up under a forged GMK (ground truth, threat matrix). */
    forgedCalls: Set<number>;
    groupManager?: { host: string; port: number };
    skipGmkSignatureCheck: boolean;
  }
  /** GMK-IDs installed from I_MESSAGEs whose signature does not verify (ground truth, threat matrix). */
  const forgedGmkIds = new Set<number>();
  const joined = new Map<string, Joined>();
  const mediaSeen = new Set<string>();
  const byKey = new Map<string, Joined>();
  for (const g of cfg.groups) {
    const pg = prose.groups.find((x) => x.groupId === g.groupId);
    if (!pg) continue; // not a member according to the ProSe configuration
    const base =
      g.mediaCipher === 'aes-128-gcm'
        ? AES_GCM_GROUP_MEDIA_ALGS
        : g.mediaIntegrity
          ? DEFAULT_GROUP_MEDIA_ALGS
          : TS33303_GROUP_MEDIA_ALGS;
    // Insecure controls (threat matrix only): NEA0 leaves the media in clear.
    const algs: GroupMediaAlgorithms = g.insecure.nullCipher
      ? { cipherAlg: 0, integrityAlg: base.aead ? 0 : base.integrityAlg }
      : base;
    if (
      g.insecure.nullCipher ||
      g.insecure.noReplayProtection ||
      g.insecure.noCallReplayProtection ||
      g.insecure.skipGmkSignatureCheck
    )
      log.warn(
        { group: g.groupId, insecure: g.insecure },
        'INSECURE group media configuration (threat-matrix control)',
      );
    const j: Joined = {
      id: g.groupId,
      solution: g.solution,
      group: { address: pg.multicastAddress, port: pg.port },
      l2: pg.l2GroupId,
      rx: new GroupMediaReceiver(pg.l2GroupId, algs, 4096, 1024, !g.insecure.noReplayProtection),
      algs,
      callStart: new Map(),
      forgedCalls: new Set(),
      ...(g.groupManager ? { groupManager: g.groupManager } : {}),
      skipGmkSignatureCheck: g.insecure.skipGmkSignatureCheck,
    };
    joined.set(g.groupId, j);
    byKey.set(groupKey(j.group), j);
    st.groups[g.groupId] = {
      solution: g.solution,
      gmkInstalls: 0,
      decryptedAfterRemoval: 0,
      decryptedAnyAfterRemoval: 0,
      rejectedAfterRemoval: 0,
      callsSetUpAfterRemoval: 0,
    };
    st.gmkInstallMs[g.groupId] = [];
    st.callSetupMs[g.groupId] = [];
  }

  let stopped = false;
  const closers: (() => Promise<void>)[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  // Standard GMK distribution: long poll on the group manager for each group.
  const pollStandard = async (j: Joined) => {
    const endpoint = j.groupManager ?? cfg.groupManager;
    if (!endpoint) throw new Error('standard groups need the group manager endpoint');
    if (j.groupManager) log.info({ groupId: j.id, port: j.groupManager.port }, 'group manager of this group');
    const gm = client(endpoint, 'group-manager');
    closers.push(() => gm.close());
    let first = true;
    while (!stopped) {
      const have = gmks.current(j.id)?.gmkId;
      const askedAt = Date.now();
      let reply: Awaited<ReturnType<typeof gm.request>>;
      try {
        reply = await gm.request('gmk_request', {
          groupId: j.id,
          ...(have !== undefined ? { haveGmkId: have } : {}),
        });
      } catch (e) {
        if (stopped) return;
        log.warn({ err: (e as Error).message, groupId: j.id }, 'gmk_request failed; retrying');
        await new Promise((r) => later(500, () => r(undefined)));
        continue;
      }
      if (reply.type === 'gmk_reject') {
        if (reply.body.cause === 'not_member') {
          st.groups[j.id]!.removedAtMs = Date.now();
          log.info({ groupId: j.id }, 'removed from the group by the group manager');
        }
        return;
      }
      if (reply.type !== 'gmk_response') continue;
      for (const hex of reply.body.imessages) {
        const r = j.skipGmkSignatureCheck
          ? await receiveGmkWithoutSignatureCheck(gmks, fromHex(hex), crypto, Date.now())
          : await receiveGmk(gmks, fromHex(hex), crypto, Date.now());
        if (!r.ok) {
          fail('gmk', r.reason);
          continue;
        }
        if ('signatureValid' in r && !r.signatureValid) {
          st.forgedGmksInstalled++;
          forgedGmkIds.add(r.record.gmkId);
        }
        st.groups[j.id]!.gmkInstalls++;
        st.groups[j.id]!.gmkId = r.record.gmkId;
        // Per member: rekey started at the group manager (GMK activation), or this member's request when it
        // came later (first GMK after start-up), to GMK installed here.
        const ms = Math.max(0, Date.now() - Math.max(r.record.activatedAtMs, askedAt));
        st.gmkInstallMs[j.id]!.push(ms);
        metrics.groupGmkDistributionSeconds.observe({ solution: 'standard', scope: 'member' }, ms / 1000);
      }
      if (first) {
        first = false;
        firstKey.get(j.id)?.();
      }
    }
  };

  /**
   * Installs a key that came as a record (PC3, GBA push, ad-hoc link; not an I_MESSAGE) and counts it; `ms` is the
   * member's delivery time when it has one, observed as a metric for `solution` when given.
   */
  const installKey = (j: Joined, rec: GmkRecord, ms?: number, solution?: 'pc3' | 'network'): boolean => {
    if (!gmks.installDirect(rec, rec.activatedAtMs).ok) return false;
    const gs = st.groups[j.id]!;
    gs.gmkInstalls++;
    gs.gmkId = rec.gmkId;
    if (ms !== undefined) {
      st.gmkInstallMs[j.id]!.push(Math.round(ms * 1000) / 1000);
      if (solution) metrics.groupGmkDistributionSeconds.observe({ solution, scope: 'member' }, ms / 1000);
    }
    return true;
  };
  /**
   * Reconfiguration on expiry: ask again once 80% of the key's period of use is over (the network then hands out
   * the next key), well before this one expires.
   */
  const refetchBeforeExpiry = (rec: GmkRecord, fetch: () => void) => {
    const at = rec.activatedAtMs + 0.8 * (rec.expiresAtMs - rec.activatedAtMs) + 20;
    later(Math.max(50, at - Date.now()), fetch);
  };

  // Pre-provisioned group key over PC3 (sol. #3.5): fetch, then fetch again when its period of use ends.
  const fetchPc3 = async (j: Joined) => {
    if (!config.proseFunction) throw new Error('pc3 groups need the ProSe Function endpoint');
    const pf = client(config.proseFunction, 'prose-function');
    closers.push(() => pf.close());
    const once = async () => {
      if (stopped) return;
      const t0 = performance.now();
      try {
        const reply = await pf.request('group_key_request', { groupId: j.id });
        if (reply.type !== 'group_key_response') {
          fail('gmk', reply.type === 'group_key_reject' ? reply.body.cause : 'pc3_error');
          return;
        }
        const b = reply.body;
        const rec: GmkRecord = {
          groupId: j.id,
          gmkId: b.gmkId,
          gmk: fromHex(b.key),
          activatedAtMs: b.activatedAtMs,
          expiresAtMs: b.expiresAtMs,
        };
        installKey(j, rec, performance.now() - t0, 'pc3');
        refetchBeforeExpiry(rec, () => void once());
      } catch (e) {
        if (!stopped) log.warn({ err: (e as Error).message, groupId: j.id }, 'group_key_request failed');
        later(1000, () => void once());
      }
      firstKey.get(j.id)?.();
    };
    await once();
  };

  // Network-supported group key (sol. #3.2): GBA push from the key server, opened with this UE's USIM.
  const usim = cfg.usim
    ? {
        milenage: new Milenage(fromHex(cfg.usim.k), fromHex(cfg.usim.opc)),
        sqn: new SqnArray(),
        impi: impiOf(cfg.usim.imsi),
      }
    : undefined;
  const naf = nafId(DEFAULT_NAF_FQDN, PROSEC_UA_PROTOCOL_ID);
  let keyServer: Pc3Client | undefined;
  const fetchNetwork = async (j: Joined) => {
    if (!cfg.keyServer || !usim) throw new Error('network groups need the key server endpoint and a USIM');
    if (!keyServer) {
      keyServer = client(cfg.keyServer, 'key-server');
      const ks = keyServer;
      closers.push(() => ks.close());
    }
    const ks = keyServer;
    for (const inv of cfg.invite ?? []) {
      if (inv.groupId !== j.id || inv.members.length === 0) continue;
      const r = await ks.request('gba_invite', { groupId: inv.groupId, members: inv.members });
      if (r.type !== 'gba_invite_response')
        fail('gmk', r.type === 'gba_key_reject' ? r.body.cause : 'pc3_error');
      else log.info({ groupId: j.id, invited: r.body.invited }, 'invited members to the group');
    }
    const once = async (): Promise<void> => {
      if (stopped) return;
      const t0 = performance.now();
      try {
        const reply = await ks.request('gba_key_request', { groupId: j.id });
        if (reply.type === 'gba_key_pending') {
          later(0, () => void once()); // the key server already waited (long poll): ask again
          return;
        }
        if (reply.type !== 'gba_key_push') {
          fail('gmk', reply.type === 'gba_key_reject' ? reply.body.cause : 'pc3_error');
          firstKey.get(j.id)?.();
          return;
        }
        const r = openGroupKeyPush(fromHex(reply.body.push), usim, naf, j.id, Date.now());
        if (!r.ok) {
          fail('gmk', r.reason);
          later(1000, () => void once());
          return;
        }
        installKey(j, r.record, performance.now() - t0, 'network');
        firstKey.get(j.id)?.();
        refetchBeforeExpiry(r.record, () => void once());
      } catch (e) {
        if (stopped) return;
        log.warn({ err: (e as Error).message, groupId: j.id }, 'gba_key_request failed');
        later(1000, () => void once());
      }
    };
    await once();
  };

  const firstKey = new Map<string, () => void>();
  const keyed = [...joined.values()].map(
    (j) =>
      new Promise<void>((resolve) => {
        firstKey.set(j.id, () => {
          firstKey.delete(j.id);
          resolve();
        });
      }),
  );
  let adhoc: AdhocGroups | undefined;
  if (cfg.adhoc) {
    adhoc = await startAdhocGroups(ctx, medium, creds, cfg.adhoc, cfg.kmsKeys, {
      install: (rec, setupMs) => {
        const j = joined.get(rec.groupId);
        if (j?.solution !== 'adhoc') return false;
        // Members: the creator's rekey (GMK activation) to installed here; the creator's own install is not a
        // distribution and is not counted as one (the creator observes the metric when the member acknowledges).
        return installKey(j, rec, setupMs !== undefined && setupMs > 0 ? setupMs : undefined);
      },
      removed: (groupId) => {
        const gs = st.groups[groupId];
        if (gs && gs.removedAtMs === undefined) gs.removedAtMs = Date.now();
        log.info({ groupId }, 'removed from the ad-hoc group by its creator');
      },
      fail: (cause) => fail('gmk', cause),
    });
    closers.push(() => adhoc!.stop());
  }
  for (const j of joined.values()) {
    // Ad-hoc members get their GMK when the creator reaches them over PC5; start-up does not wait for it.
    if (j.solution === 'adhoc') {
      firstKey.get(j.id)?.();
      continue;
    }
    // Invitation groups: a member gets the key once the owner invited it (maybe never); start-up does not wait.
    const invitation = cfg.groups.find((g) => g.groupId === j.id)?.variant === 'invitation';
    if (invitation && !cfg.invite?.some((i) => i.groupId === j.id)) firstKey.get(j.id)?.();
    const run =
      j.solution === 'standard' ? pollStandard(j) : j.solution === 'network' ? fetchNetwork(j) : fetchPc3(j);
    void run.catch((e) => {
      fail('gmk', 'setup_error');
      log.error({ err: (e as Error).message, groupId: j.id }, 'group key set-up failed');
      firstKey.get(j.id)?.();
    });
  }
  // Ready once every group has its first key (bounded: the orchestrator has its own ready timeout).
  await Promise.race([Promise.all(keyed), new Promise((r) => later(30_000, () => r(undefined)))]);

  const afterRemoval = (j: Joined) => {
    const rm = st.groups[j.id]!.removedAtMs;
    return rm !== undefined && Date.now() >= rm;
  };

  const unsubscribe = medium.onFrame((frame, meta) => {
    if (!meta.group || frame.srcL2Id === prose.l2Id) return;
    const j = byKey.get(groupKey(meta.group));
    if (!j || frame.dstL2Id !== j.l2) return;
    if (frame.type === 'group_signalling') {
      const sig = decodeGroupSignalling(frame.payload);
      if (!sig) {
        fail('call', 'malformed');
        return;
      }
      void receiveCallInit(calls, sig.mikey, crypto, Date.now()).then((r) => {
        if (!r.ok) {
          fail('call', r.reason);
          return;
        }
        // Ground truth for the threat matrix: a call-init accepted for a call already set up is a replay.
        if (j.callStart.has(r.context.gskId)) {
          st.callReplaysAccepted++;
          return;
        }
        j.rx.addCall(r.context.gskId, r.context.gsk);
        j.callStart.set(r.context.gskId, Date.now());
        if (forgedGmkIds.has(r.context.gmkId)) j.forgedCalls.add(r.context.gskId);
        if (afterRemoval(j)) st.groups[j.id]!.callsSetUpAfterRemoval++;
        // Set-up latency: initiator sent the call-init -> Group Security Context installed here.
        const ms = Number(process.hrtime.bigint() - sig.sentNs) / 1e6;
        st.callSetupMs[j.id]!.push(Math.round(ms * 1000) / 1000);
        metrics.groupCallSetupSeconds.observe({ solution: j.solution }, ms / 1000);
      });
    } else if (frame.type === 'group_media') {
      const r = j.rx.unprotect(frame.srcL2Id, frame.payload, true);
      const gs = st.groups[j.id]!;
      if (!r.ok) {
        fail('media', r.reason);
        if (afterRemoval(j)) gs.rejectedAfterRemoval++;
        return;
      }
      st.mediaReceived++;
      st.mediaBytesReceived += r.payload.length;
      if (j.forgedCalls.has(r.gskId)) st.forgedKeyMediaReceived++;
      // Ground truth for the threat matrix: a PDU the protection layer accepted twice (a successful replay).
      const seenKey = `${r.gskId}:${r.senderL2}:${r.count}`;
      if (mediaSeen.has(seenKey)) st.mediaDuplicatesAccepted++;
      else {
        if (mediaSeen.size >= 200_000) mediaSeen.clear();
        mediaSeen.add(seenKey);
      }
      metrics.groupMediaPackets.inc({ direction: 'rx' });
      metrics.groupMediaBytes.inc({ direction: 'rx' }, r.payload.length);
      if (afterRemoval(j)) {
        gs.decryptedAnyAfterRemoval++;
        if ((j.callStart.get(r.gskId) ?? 0) >= gs.removedAtMs!) gs.decryptedAfterRemoval++;
      }
    }
  });

  const startCall = async (c: UeGroupConfig['calls'][number]) => {
    const j = joined.get(c.groupId);
    const gmk = gmks.current(c.groupId);
    if (!j || !gmk || gmk.expiresAtMs <= Date.now()) {
      fail('call', 'no_gmk');
      return;
    }
    const sentNs = process.hrtime.bigint();
    const u = prepareCallInit(gmk, selfUri, Date.now());
    const bytes = await signCallInit(u, crypto);
    medium.sendToGroup(j.group, {
      type: 'group_signalling',
      dstL2Id: j.l2,
      payload: encodeGroupSignalling(sentNs, bytes),
    });
    st.callsInitiated++;
    const tx = new GroupMediaSender(u.context.gsk, u.context.gskId, prose.l2Id, j.l2, j.algs);
    if (cfg.media.rate <= 0) return;
    const period = 1000 / cfg.media.rate;
    const end = Date.now() + c.durationMs;
    const tick = () => {
      if (stopped || trafficStopped || Date.now() >= end) return;
      const p = mediaPayload(cfg.media.payloadBytes);
      if (medium.sendToGroup(j.group, { type: 'group_media', dstL2Id: j.l2, payload: tx.protect(p) })) {
        st.mediaSent++;
        metrics.groupMediaPackets.inc({ direction: 'tx' });
        metrics.groupMediaBytes.inc({ direction: 'tx' }, p.length);
      }
      later(period, tick);
    };
    // Media follows the call-init after a short guard time so members have installed the context.
    later(20, tick);
  };

  let trafficStarted = false;
  let trafficStopped = false;
  return {
    startTraffic: () => {
      if (trafficStarted) return;
      trafficStarted = true;
      adhoc?.startTraffic();
      for (const c of cfg.calls)
        later(c.atMs, () =>
          trafficStopped
            ? undefined
            : void startCall(c).catch((e) => {
                fail('call', 'initiate_error');
                log.warn({ err: (e as Error).message }, 'group call failed to start');
              }),
        );
    },
    stopTraffic: () => {
      trafficStopped = true;
    },
    status: () => st,
    stop: async () => {
      stopped = true;
      unsubscribe();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all(closers.map((c) => c().catch(() => undefined)));
    },
  };
}
