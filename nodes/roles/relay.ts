// Relay role: a UE-to-network relay (TR 33.833, UE-to-network relay with EAP-AKA' through the relay). It
// (1) connects to the network: RADIUS client to the AAA, UDP to the network's user-plane sink; (2) announces relay
// service on PC5 (Model A, discovery group); (3) accepts a remote UE's one-to-one request and acts as EAP
// pass-through authenticator between the remote UE and the AAA; (4) on Access-Accept takes the MSK from the
// MS-MPPE keys, assigns KSI_D2D and runs the Direct Security Mode procedure with keys derived from the MSK;
// (5) relays the remote UE's protected user data to the network and back, counting octets per direction.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { z } from 'zod';
import { fromHex } from '../../crypto-core/bytes.js';
import type { NeaAlgorithm } from '../../crypto-core/nea.js';
import type { NiaAlgorithm } from '../../crypto-core/nia.js';
import {
  type DsmcParams,
  decodeDcr,
  decodeRelayMsg,
  deriveRelayLinkKeys,
  encodeDsmc,
  encodeRelayMsg,
  RELAY_MSG,
  RELAY_REJECT,
  type RelayLinkContexts,
  relayLinkContexts,
} from '../../procedures/relay/relay-link.js';
import type { Pc5Address } from '../../transport/pc5/medium.js';
import { UdpPc5Medium } from '../../transport/pc5/udp-medium.js';
import { RadiusClient } from '../../transport/radius/client.js';
import { eapPassThrough } from '../../transport/radius/passthrough.js';
import { tamperChallenge } from '../adversary/rogue-relay.js';
import { pc5Sink } from '../runtime/sinks.js';
import type { RoleContext, RoleInstance } from './role.js';

const endpoint = z.object({ host: z.string(), port: z.number().int().min(1).max(65535) }).strict();

export const relayConfigSchema = z
  .object({
    aaa: endpoint,
    /** RADIUS shared secret with the AAA (never logged). */
    secret: z.string().min(1),
    network: endpoint,
    /** Relay discovery group (Model A announcements); absent: no announcements (remote UEs configured statically). */
    discovery: z.object({ address: z.string(), port: z.number().int() }).strict().optional(),
    /** Relay Service Code, 3 octets hex (TS 23.303 / TS 24.334 relay service code). */
    rsc: z
      .string()
      .regex(/^[0-9a-fA-F]{6}$/)
      .default('000001'),
    l2Id: z.number().int().min(1).max(0xffffff).optional(),
    announceMs: z.number().int().min(10).default(250),
    cipherAlg: z.number().int().min(0).max(3).default(2),
    integrityAlg: z.number().int().min(1).max(3).default(2),
    /** Integrity-protect relayed user data too (TR 33.833 leaves it optional; signalling is always protected). */
    userDataIntegrity: z.boolean().default(true),
    maxRemoteUes: z.number().int().min(1).default(256),
    /** Per-round wait for the remote UE's EAP answer. */
    eapRoundTimeoutMs: z.number().int().min(50).default(3000),
    /**
     * ROGUE relay (the attack side of threat-matrix row `rogue-relay`, scenario `relay.rogue`): flip one bit of
     * AT_MAC or AT_AUTN in every EAP-Request/AKA'-Challenge forwarded to a remote UE (nodes/adversary/rogue-relay.ts).
     */
    rogue: z
      .object({ tamper: z.enum(['at_mac', 'at_autn']) })
      .strict()
      .optional(),
  })
  .strict();

type LinkState = 'eap' | 'smc' | 'up' | 'failed';

interface Link {
  l2Id: number;
  addr: Pc5Address;
  nonce1: Uint8Array;
  state: LinkState;
  waitEap?: (eap: Uint8Array | undefined) => void;
  params?: DsmcParams;
  ctx?: RelayLinkContexts;
  /** The AAA sent an EAP-Request/AKA'-Reauthentication: a fast re-authentication (metrics method label). */
  reauth?: boolean;
}

/** EAP-Request (1), Type EAP-AKA' (50), Subtype Re-authentication (13): RFC 3748 4.1, RFC 4187 9.7. */
const isAkaReauthRequest = (eap: Uint8Array) => eap[0] === 1 && eap[4] === 50 && eap[5] === 13;

export async function start(ctx: RoleContext): Promise<RoleInstance> {
  const { config, log, metrics } = ctx;
  const cfg = relayConfigSchema.parse(config.roleConfig);
  const rsc = fromHex(cfg.rsc);
  const l2Id = cfg.l2Id ?? (randomBytes(3).readUIntBE(0, 3) || 1);
  let errors = 0;

  // (1) network side: RADIUS client and the user-plane socket.
  const radius = new RadiusClient({
    host: cfg.aaa.host,
    port: cfg.aaa.port,
    secret: new TextEncoder().encode(cfg.secret),
    retryMs: 1000,
    attempts: 3,
    nasIdentifier: config.id,
  });
  await radius.start();
  const up = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  await new Promise<void>((res) => up.bind(0, config.host, () => res()));

  const medium = new UdpPc5Medium({
    l2Id,
    metrics: pc5Sink(metrics),
    onError: (e) => log.warn({ err: e.message }, 'PC5 medium error'),
  });
  await medium.start();
  metrics.pc5MediumInfo.set({ medium: medium.kind }, 1);

  const links = new Map<number, Link>();
  const counts = {
    authenticated: 0,
    rejected: 0,
    errors: 0,
    upBytes: 0,
    downBytes: 0,
    upFrames: 0,
    downFrames: 0,
    /** Rogue relay only: EAP-Request/AKA'-Challenge messages forwarded with a flipped bit. */
    tamperedChallenges: 0,
  };
  const bytesUp = metrics.relayBytes.labels('uplink');
  const bytesDown = metrics.relayBytes.labels('downlink');
  let nextKsi = 0;
  const drop = (reason: string) => metrics.relayDropped.inc({ reason });

  const sendSig = (link: Link, msg: Uint8Array) =>
    medium.sendUnicast(link.addr, { type: 'relay_signalling', dstL2Id: link.l2Id, payload: msg });

  /** (3)+(4): EAP pass-through for one remote UE, then the Direct Security Mode Command. */
  const authenticate = async (link: Link) => {
    const result = await eapPassThrough(
      radius,
      `pc5:${link.l2Id.toString(16).padStart(6, '0')}`,
      (eap, final) => {
        if (isAkaReauthRequest(eap)) link.reauth = true;
        const tampered = cfg.rogue && tamperChallenge(eap, cfg.rogue.tamper);
        if (tampered) {
          counts.tamperedChallenges++;
          log.warn(
            { remoteUe: link.l2Id, tamper: cfg.rogue!.tamper },
            "ROGUE relay: forwarding an EAP-Request/AKA'-Challenge with a flipped bit",
          );
        }
        sendSig(link, encodeRelayMsg(RELAY_MSG.EAP, tampered || eap));
        if (final) return Promise.resolve(undefined);
        return new Promise<Uint8Array | undefined>((resolve) => {
          const t = setTimeout(() => {
            link.waitEap = undefined;
            resolve(undefined);
          }, cfg.eapRoundTimeoutMs);
          link.waitEap = (b) => {
            clearTimeout(t);
            link.waitEap = undefined;
            resolve(b);
          };
        });
      },
      randomBytes(1)[0]!,
    ).catch((e: Error) => ({
      result: 'error' as const,
      reason: e.message.includes('timeout') ? 'aaa_timeout' : 'aaa_error',
      rounds: 0,
    }));
    if (result.result !== 'accept') {
      link.state = 'failed';
      const cause = result.result === 'reject' ? 'access_reject' : result.reason;
      metrics.eapAuthResults.inc({ result: 'failure', cause });
      counts.rejected++;
      log.info({ remoteUe: link.l2Id, cause }, 'remote UE authentication failed');
      sendSig(
        link,
        encodeRelayMsg(
          RELAY_MSG.REJECT,
          Uint8Array.of(
            result.result === 'reject' ? RELAY_REJECT.AUTH_FAILED : RELAY_REJECT.NETWORK_UNREACHABLE,
          ),
        ),
      );
      links.delete(link.l2Id);
      return;
    }
    metrics.eapAuthResults.inc({ result: 'success', cause: 'none', method: link.reauth ? 'reauth' : 'full' });
    // KSI_D2D: assigned by the relay per link, 1..15 (docs/relay.md: TR 33.833 FFS point).
    nextKsi = (nextKsi % 15) + 1;
    const params: DsmcParams = {
      ksi: nextKsi,
      nonce2: new Uint8Array(randomBytes(16)),
      cipherAlg: cfg.cipherAlg as NeaAlgorithm,
      integrityAlg: cfg.integrityAlg as NiaAlgorithm,
    };
    const keys = deriveRelayLinkKeys(
      result.msk,
      rsc,
      link.nonce1,
      params.nonce2,
      params.cipherAlg,
      params.integrityAlg,
    );
    link.ctx = relayLinkContexts('relay', keys, params, {
      ciphering: params.cipherAlg !== 0,
      integrity: cfg.userDataIntegrity,
    });
    link.params = params;
    link.state = 'smc';
    sendSig(link, encodeDsmc(params, link.nonce1, link.ctx.sigTx));
    // A remote UE that never completes the security mode does not hold a link slot forever.
    setTimeout(() => {
      if (link.state === 'smc' && links.get(link.l2Id) === link) {
        links.delete(link.l2Id);
        drop('smc_timeout');
        metrics.eapAuthResults.inc({ result: 'failure', cause: 'smc_timeout' });
      }
    }, 5000).unref();
  };

  medium.onFrame((frame, meta) => {
    if (frame.dstL2Id !== l2Id) return;
    if (frame.type === 'relay_signalling') {
      let msg: ReturnType<typeof decodeRelayMsg>;
      try {
        msg = decodeRelayMsg(frame.payload);
      } catch {
        drop('malformed');
        return;
      }
      const link = links.get(frame.srcL2Id);
      if (msg.type === RELAY_MSG.DCR) {
        let dcr: ReturnType<typeof decodeDcr>;
        try {
          dcr = decodeDcr(msg.body);
        } catch {
          drop('malformed');
          return;
        }
        if (dcr.rsc.some((b, i) => b !== rsc[i])) {
          drop('wrong_rsc');
          return;
        }
        if (link && link.state !== 'failed') return; // retransmitted DCR while in progress
        if (links.size >= cfg.maxRemoteUes) {
          drop('congestion');
          medium.sendUnicast(meta.from, {
            type: 'relay_signalling',
            dstL2Id: frame.srcL2Id,
            payload: encodeRelayMsg(RELAY_MSG.REJECT, Uint8Array.of(RELAY_REJECT.CONGESTION)),
          });
          return;
        }
        const l: Link = { l2Id: frame.srcL2Id, addr: meta.from, nonce1: dcr.nonce1, state: 'eap' };
        links.set(l.l2Id, l);
        authenticate(l).catch((e: Error) => {
          errors++;
          log.error({ err: e.message }, 'relay authentication failed unexpectedly');
        });
        return;
      }
      if (!link) {
        drop('no_context');
        return;
      }
      if (msg.type === RELAY_MSG.EAP) {
        if (link.state === 'eap' && link.waitEap) link.waitEap(msg.body.slice());
        else drop('unexpected_eap');
        return;
      }
      if (msg.type === RELAY_MSG.DSM_COMPLETE && link.state === 'smc' && link.ctx) {
        const r = link.ctx.sigRx.unprotect(msg.body);
        if (!r.ok || r.payload.length !== 16 || !r.payload.every((b, i) => b === link.params!.nonce2[i])) {
          drop(r.ok ? 'bad_complete' : r.reason);
          return;
        }
        link.state = 'up';
        counts.authenticated++;
        log.info(
          { remoteUe: link.l2Id, ksi: link.params!.ksi },
          'remote UE authenticated; PC5 security established',
        );
        return;
      }
      drop('unexpected_message');
      return;
    }
    if (frame.type === 'relay_data') {
      const link = links.get(frame.srcL2Id);
      if (link?.state !== 'up' || !link.ctx) {
        drop('no_context');
        return;
      }
      const r = link.ctx.dataRx.unprotect(frame.payload);
      if (!r.ok) {
        drop(r.reason);
        return;
      }
      // (5) uplink: to the network sink, tagged with the remote UE's L2 ID so the reply finds its way back.
      const out = Buffer.allocUnsafe(3 + r.payload.length);
      out.writeUIntBE(link.l2Id, 0, 3);
      out.set(r.payload, 3);
      up.send(out, cfg.network.port, cfg.network.host);
      counts.upBytes += r.payload.length;
      counts.upFrames++;
      bytesUp.inc(r.payload.length);
    }
  });

  // (5) downlink: from the network back to the remote UE, protected under its link's keys.
  up.on('message', (msg) => {
    if (msg.length < 3) {
      drop('malformed');
      return;
    }
    const link = links.get(msg.readUIntBE(0, 3));
    if (link?.state !== 'up' || !link.ctx) {
      drop('no_context');
      return;
    }
    const payload = new Uint8Array(msg.buffer, msg.byteOffset + 3, msg.length - 3);
    medium.sendUnicast(link.addr, {
      type: 'relay_data',
      dstL2Id: link.l2Id,
      payload: link.ctx.dataTx.protect(payload),
    });
    counts.downBytes += payload.length;
    counts.downFrames++;
    bytesDown.inc(payload.length);
  });

  // (2) Model A announcements on the relay discovery group.
  let announceTimer: NodeJS.Timeout | undefined;
  if (cfg.discovery) {
    const group = { address: cfg.discovery.address, port: cfg.discovery.port };
    const announce = encodeRelayMsg(RELAY_MSG.ANNOUNCE, rsc);
    const send = () =>
      medium.sendToGroup(group, { type: 'discovery_announce', dstL2Id: 0xffffff, payload: announce });
    send();
    announceTimer = setInterval(send, cfg.announceMs);
  }
  if (cfg.rogue)
    log.warn(
      { tamper: cfg.rogue.tamper },
      "ROGUE relay: tampering with the remote UEs' EAP-AKA' challenges (threat-matrix attack)",
    );
  log.info({ l2Id, rsc: cfg.rsc, pc5: medium.unicastAddress.port }, 'relay ready: announcing relay service');

  return {
    endpoints: { pc5: medium.unicastAddress.port, l2Id },
    status: () => ({
      errors,
      details: {
        l2Id,
        ...counts,
        links: links.size,
        linksUp: [...links.values()].filter((l) => l.state === 'up').length,
        radius: radius.stats,
      },
    }),
    stop: async () => {
      if (announceTimer) clearInterval(announceTimer);
      await radius.close();
      await medium.close();
      await new Promise<void>((res) => up.close(() => res()));
    },
  };
}
