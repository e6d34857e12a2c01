// UE side of ad-hoc GMK distribution (docs/group.md; procedures/group/adhoc-gmk.ts): one DirectLinkEndpoint
// (certificate KD, every protection on) for the UE's ad-hoc groups. As a group's creator the UE sets up a PC5
// one-to-one link with each member and sends it the GMK (again on rekey: period expiry, member removal); as a
// member it accepts a GMK only from the link peer that is the group's creator and acknowledges it. No network is
// involved after start-up (the UE's certificate and CRL were provisioned while in coverage).
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { DirectLinkEndpoint, type DirectLinkOutput } from '../../procedures/direct-link/direct-link.js';
import { CertificateKdMethod, loadCertificateTrust } from '../../procedures/direct-link/kd-certificate.js';
import {
  AdhocGmkCreator,
  acceptAdhocGmk,
  decodeAdhocMessage,
  encodeAdhocMessage,
} from '../../procedures/group/adhoc-gmk.js';
import type { GmkRecord } from '../../procedures/group/gmk-distribution.js';
import type { Pc5Medium } from '../../transport/pc5/medium.js';
import { kmsKeysClient, type NodeCredentials } from '../runtime/enrollment.js';
import type { RoleContext } from './role.js';

const port = z.number().int().min(1).max(65535);

/** roleConfig.groupSecurity.adhoc (deploy/groups-plan.ts fills the ports). */
export const adhocConfigSchema = z
  .object({
    /** This UE's fixed PC5 unicast port, and the ports of its ad-hoc peers (members, creators). */
    unicastPort: port,
    peers: z.record(z.string(), port),
    groups: z
      .array(
        z
          .object({
            groupId: z.string(),
            creator: z.string(),
            /** Creator only: the other members, the GMK period, removals (ms after the traffic phase starts). */
            members: z.array(z.string()).max(2000).default([]),
            periodMs: z.number().int().positive(),
            removals: z
              .array(z.object({ member: z.string(), afterMs: z.number().int().min(0) }).strict())
              .default([]),
          })
          .strict(),
      )
      .max(64),
  })
  .strict();
export type AdhocConfig = z.output<typeof adhocConfigSchema>;

export interface AdhocHooks {
  /** A GMK to install (own as creator, or accepted from the creator); returns whether it was installed. */
  install(rec: GmkRecord, setupMs: number | undefined): boolean;
  removed(groupId: string): void;
  fail(cause: string): void;
}

export interface AdhocGroups {
  startTraffic(): void;
  status(): { linksUp: number; linkFailures: number; rekeys: number; acks: number };
  stop(): Promise<void>;
}

const LOOP_MS = 200;

export async function startAdhocGroups(
  ctx: RoleContext,
  medium: Pc5Medium,
  creds: NodeCredentials,
  cfg: AdhocConfig,
  kmsKeys: { host: string; port: number },
  hooks: AdhocHooks,
): Promise<AdhocGroups> {
  const { config, log, metrics } = ctx;
  const kms = kmsKeysClient(kmsKeys, creds, metrics);
  let crlPem: string;
  try {
    const reply = await kms.request('crl_request', {});
    if (reply.type !== 'crl_response') throw new Error(`KMS key service answered ${reply.type}`);
    crlPem = reply.body.crlPem;
  } finally {
    await kms.close();
  }
  const ep = new DirectLinkEndpoint({
    selfId: config.id,
    now: () => performance.now(),
    // The GMK travels on the user plane: ciphered and integrity protected, whatever the TR's default.
    policy: { signallingCiphering: true, userPlaneCiphering: true, userPlaneIntegrity: true },
    methods: {
      certificate: new CertificateKdMethod({
        certPem: creds.certPem,
        keyPem: creds.keyPem,
        trust: await loadCertificateTrust(creds.caCertPem, crlPem),
      }),
    },
  });
  const addrOf = new Map<string, string>();
  const idOf = new Map<string, string>();
  for (const [id, p] of Object.entries(cfg.peers)) {
    addrOf.set(id, `127.0.0.1:${p}`);
    idOf.set(`127.0.0.1:${p}`, id);
  }
  const creatorOf = new Map(cfg.groups.map((g) => [g.groupId, g.creator]));
  const creators = cfg.groups
    .filter((g) => g.creator === config.id)
    .map((g) => ({
      g,
      c: new AdhocGmkCreator({ groupId: g.groupId, members: g.members, periodMs: g.periodMs }),
    }));
  /** Peer id -> link state. */
  const links = new Map<string, { linkId: number; up: boolean; l2: number }>();
  const st = { linksUp: 0, linkFailures: 0, rekeys: 0, acks: 0 };
  const distStart = new Map<string, number>();

  const send = (peerId: string, bytes: Uint8Array) => {
    const l = links.get(peerId);
    if (l?.up) handle(ep.sendData(l.linkId, bytes));
  };
  const handle = (outs: DirectLinkOutput[]) => {
    for (const o of outs) {
      if (o.kind === 'send') {
        const id = idOf.get(o.peer);
        const [host, p] = o.peer.split(':');
        medium.sendUnicast(
          { host: host!, port: Number(p) },
          {
            type: o.plane === 'signalling' ? 'unicast_signalling' : 'unicast_data',
            dstL2Id: (id !== undefined ? links.get(id)?.l2 : undefined) ?? 0xffffff,
            payload: o.bytes,
          },
        );
      } else if (o.kind === 'established') {
        const id = idOf.get(o.peer);
        if (!id || id !== o.peerId) {
          // The authenticated identity must be the peer at that address; anything else is not used.
          hooks.fail('adhoc_peer_mismatch');
          handle(ep.release(o.linkId));
          continue;
        }
        const l = links.get(id) ?? { linkId: o.linkId, up: false, l2: 0xffffff };
        l.linkId = o.linkId;
        l.up = true;
        links.set(id, l);
        if (!o.rekey) st.linksUp++;
        if (o.initiator)
          metrics.keySetupSeconds.observe(
            { procedure: 'adhoc_link', method: o.method, result: 'ok' },
            o.setupMs / 1000,
          );
        pump();
      } else if (o.kind === 'failed') {
        st.linkFailures++;
        metrics.keySetupSeconds.observe({ procedure: 'adhoc_link', method: o.method, result: 'failed' }, 5);
        for (const [id, l] of links) if (l.linkId === o.linkId && !l.up) links.delete(id);
      } else if (o.kind === 'released') {
        for (const [id, l] of links) if (l.linkId === o.linkId) links.delete(id);
      } else if (o.kind === 'data') {
        const peerId = [...links].find(([, l]) => l.linkId === o.linkId)?.[0];
        if (peerId) onMessage(peerId, o.payload);
      }
    }
  };
  const onMessage = (peerId: string, bytes: Uint8Array) => {
    const m = decodeAdhocMessage(bytes);
    if (!m) {
      hooks.fail('malformed');
      return;
    }
    if (m.type === 'ack') {
      for (const { c } of creators) {
        const r = c.ack(peerId, m, Date.now());
        if (!r) continue;
        st.acks++;
        metrics.groupGmkDistributionSeconds.observe({ solution: 'adhoc', scope: 'member' }, r.ms / 1000);
        if (r.allDone) {
          const t0 = distStart.get(c.groupId);
          if (t0 !== undefined)
            metrics.groupGmkDistributionSeconds.observe(
              { solution: 'adhoc', scope: 'group' },
              (performance.now() - t0) / 1000,
            );
          log.info({ groupId: c.groupId, gmkId: c.current.gmkId }, 'ad-hoc GMK acknowledged by every member');
        }
      }
      return;
    }
    if (m.type === 'removed') {
      if (creatorOf.get(m.groupId) === peerId) hooks.removed(m.groupId);
      else hooks.fail('not_creator');
      return;
    }
    const r = acceptAdhocGmk(m, peerId, (g) => creatorOf.get(g), Date.now());
    if (!r.ok) {
      hooks.fail(r.reason);
      return;
    }
    // Acknowledge what was installed, or what is already held (a retransmission after a lost ack).
    hooks.install(r.record, Date.now() - r.record.activatedAtMs);
    send(peerId, encodeAdhocMessage({ type: 'ack', groupId: r.record.groupId, gmkId: r.record.gmkId }));
  };

  const offFrame = medium.onFrame((frame, meta) => {
    if (frame.type !== 'unicast_signalling' && frame.type !== 'unicast_data') return;
    const from = `${meta.from.host}:${meta.from.port}`;
    const id = idOf.get(from);
    if (!id) return; // not an ad-hoc peer of this UE
    const l = links.get(id);
    if (l) l.l2 = frame.srcL2Id;
    else links.set(id, { linkId: -1, up: false, l2: frame.srcL2Id });
    try {
      handle(
        frame.type === 'unicast_signalling'
          ? ep.receiveSignalling(from, frame.payload)
          : ep.receiveData(from, frame.payload),
      );
    } catch (e) {
      hooks.fail('internal');
      log.warn({ err: (e as Error).message }, 'ad-hoc link: input dropped after an internal error');
    }
  });

  // Creator loop: for each member still owed something, set up a link (if none) or send over it.
  const connecting = new Map<string, number>();
  const pump = () => {
    for (const { c } of creators) {
      const { transfer, notify } = c.todo();
      for (const id of [...transfer, ...notify]) {
        const l = links.get(id);
        if (l?.up) {
          const msg = c.messageFor(id);
          if (msg) send(id, msg);
          continue;
        }
        const addr = addrOf.get(id);
        const since = connecting.get(id);
        if (!addr || (since !== undefined && performance.now() - since < 500)) continue;
        connecting.set(id, performance.now());
        const r = ep.connect(addr, id, 'certificate');
        links.set(id, { linkId: r.linkId, up: false, l2: links.get(id)?.l2 ?? 0xffffff });
        handle(r.out);
      }
    }
  };
  const rekey = (c: AdhocGmkCreator, removed?: string) => {
    const rec = removed ? c.remove(removed, Date.now()) : c.rekey(Date.now());
    st.rekeys++;
    distStart.set(c.groupId, performance.now());
    hooks.install(rec, 0);
    log.info({ groupId: c.groupId, gmkId: rec.gmkId, removed }, 'ad-hoc GMK generated');
    pump();
  };
  const timers = new Set<NodeJS.Timeout>();
  for (const { c, g } of creators) {
    rekey(c);
    // Rekey at 80% of the period of use, as the group manager does.
    timers.add(setInterval(() => rekey(c), Math.max(1000, 0.8 * g.periodMs)));
  }
  timers.add(setInterval(pump, LOOP_MS));
  timers.add(setInterval(() => handle(ep.tick()), 250));

  return {
    startTraffic() {
      for (const { c, g } of creators)
        for (const r of g.removals) {
          const t = setTimeout(() => rekey(c, r.member), r.afterMs);
          timers.add(t);
        }
    },
    status: () => ({ ...st }),
    async stop() {
      for (const t of timers) clearTimeout(t);
      offFrame();
    },
  };
}
