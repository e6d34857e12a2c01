// UE side of PC5 one-to-one direct links: wires the sans-I/O DirectLinkEndpoint (procedures/direct-link/) to the
// UDP PC5 medium, the KMS key service (MIKEY-SAKKE bundle, CRL) and the node's metrics; runs the scenario's link
// traffic (set-up, user data, periodic re-keying, release). See docs/direct-link.md.
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { parseBundle, type UeKeyBundle, validateBundle } from '../../crypto-core/kms-bundle.js';
import { eccsiPrecompute } from '../../crypto-core/rfc6507-eccsi.js';
import { sakkePrecompute } from '../../crypto-core/rfc6508-sakke.js';
import {
  type DirectLinkCounters,
  DirectLinkEndpoint,
  type DirectLinkOutput,
  emptyCounters,
} from '../../procedures/direct-link/direct-link.js';
import { CertificateKdMethod, loadCertificateTrust } from '../../procedures/direct-link/kd-certificate.js';
import { IdentityKdMethod } from '../../procedures/direct-link/kd-identity.js';
import type { Pc3Client } from '../../transport/pc3/client.js';
import type { Pc5Address, Pc5Medium } from '../../transport/pc5/medium.js';
import { kmsKeysClient, type NodeCredentials } from '../runtime/enrollment.js';
import type { RoleContext } from './role.js';

const endpointSchema = z.object({ host: z.string(), port: z.number().int().min(1).max(65535) }).strict();

/** The `directLink` part of a UE's roleConfig (built by the orchestrator from the scenario's directLinks). */
export const directLinkConfigSchema = z
  .object({
    role: z.enum(['initiator', 'responder']),
    peerId: z.string().min(1),
    /** This UE's PC5 unicast port (fixed so the peer can be told in advance) and the peer's. */
    unicastPort: z.number().int().min(1).max(65535),
    peerPort: z.number().int().min(1).max(65535),
    kdMethod: z.enum(['certificate', 'identity']),
    policy: z
      .object({
        signallingCiphering: z.boolean(),
        userPlaneCiphering: z.boolean(),
        userPlaneIntegrity: z.boolean(),
      })
      .strict(),
    rate: z.number().nonnegative(),
    payloadBytes: z.number().int().min(16).max(1400),
    rekeyEveryMs: z.number().int().positive().optional(),
    /**
     * INSECURE (threat-matrix controls, docs/threat-matrix.md): `nullCipher` offers only 128-NEA0 in Supported_algs;
     * the others switch off one check of procedures/direct-link (DirectLinkInsecure).
     */
    insecure: z
      .object({
        nullCipher: z.boolean().optional(),
        noEchoCheck: z.boolean().optional(),
        noTranscriptBinding: z.boolean().optional(),
        reuseNonce1: z.boolean().optional(),
      })
      .strict()
      .optional(),
    kmsKeys: endpointSchema,
  })
  .strict();
export type DirectLinkConfig = z.output<typeof directLinkConfigSchema>;

export interface DirectLinkStatus {
  role: 'initiator' | 'responder';
  /** The other UE of the pair (node id). */
  peer: string;
  method: string;
  state: string;
  linksUp: number;
  setupFailures: number;
  setupMs: number[];
  rekeySetupMs: number[];
  packetsSent: number;
  packetsReceived: number;
  userBytesSent: number;
  userBytesReceived: number;
  rekeys: number;
  released: number;
  integrityFailures: number;
  integrityFailuresByPlane: { signalling: number; user: number };
  replaysDropped: number;
  rejected: Record<string, number>;
  /** Failed link set-ups (not re-keys) by cause; `rejected_by_peer:<cause>` when the peer's reject named one. */
  setupFailuresByCause: Record<string, number>;
  /** Chosen_algs of this UE's link set-ups (not re-keys), e.g. `128-NEA2/128-NIA2`: count. */
  setupAlgs: Record<string, number>;
  /** Ground truth for the threat matrix (DirectLinkCounters): DSMCs accepted with an altered offer / a used Nonce_2. */
  biddingDownAccepted: number;
  dsmcReplaysAccepted: number;
}

export interface UeDirectLinks {
  startTraffic(): void;
  stopTraffic(): void;
  status(): DirectLinkStatus;
  stop(): Promise<void>;
}

const FLUSH_MS = 200;
const TICK_MS = 250;
const MAX_SETUP_ATTEMPTS = 3;

/** Fetches the KMS bundle and CRL, builds the KD methods and the endpoint, and hooks it to the medium. */
export async function startUeDirectLinks(
  ctx: RoleContext,
  medium: Pc5Medium,
  creds: NodeCredentials,
  raw: unknown,
): Promise<UeDirectLinks> {
  const { config, log, metrics } = ctx;
  const cfg = directLinkConfigSchema.parse(raw);
  const kmsClient = () => kmsKeysClient(cfg.kmsKeys, creds, metrics);
  const fetchCrl = async (client: Pc3Client): Promise<string> => {
    const reply = await client.request('crl_request', {});
    if (reply.type !== 'crl_response') throw new Error(`KMS key service answered ${reply.type}`);
    return reply.body.crlPem;
  };
  const kms = kmsClient();
  // IDENTITY KD needs the UE's MIKEY-SAKKE bundle (validated on receipt); every method gets the CRL.
  let bundle: UeKeyBundle | undefined;
  let crlPem: string;
  try {
    if (cfg.kdMethod === 'identity') {
      const reply = await kms.request('kms_bundle_request', {});
      if (reply.type !== 'kms_bundle_response') throw new Error(`KMS key service answered ${reply.type}`);
      bundle = parseBundle(reply.body.bundle);
      validateBundle(bundle, new Date());
      crlPem = reply.body.crlPem;
      // Build the fixed-base tables now, not during the first link set-up.
      sakkePrecompute(bundle.Z_S, bundle.RSK);
      eccsiPrecompute(bundle.KPAK);
    } else crlPem = await fetchCrl(kms);
  } finally {
    await kms.close();
  }
  // Mutable: the CRL is fetched again when traffic starts (every certificate of the run is issued by then).
  const certCreds = {
    certPem: creds.certPem,
    keyPem: creds.keyPem,
    trust: await loadCertificateTrust(creds.caCertPem, crlPem),
  };
  if (cfg.insecure?.nullCipher)
    log.warn('INSECURE direct links offer only 128-NEA0 (null ciphering; threat-matrix control)');
  if (cfg.insecure?.noEchoCheck)
    log.warn(
      'INSECURE direct links: the echoed Supported_algs/policy of a DSMC are not checked (threat-matrix control)',
    );
  if (cfg.insecure?.noTranscriptBinding)
    log.warn(
      'INSECURE direct links: KD establishment is not bound to Supported_algs/policy (threat-matrix control)',
    );
  if (cfg.insecure?.reuseNonce1)
    log.warn('INSECURE direct links reuse one Nonce_1 per link (no DSMC freshness; threat-matrix control)');
  const { nullCipher: _, ...checksOff } = cfg.insecure ?? {};
  const ep = new DirectLinkEndpoint({
    selfId: config.id,
    now: () => performance.now(),
    policy: cfg.policy,
    // Supported_algs bit n = 128-NEAn (procedures/direct-link/): NEA0 only; integrity (NIA1..3) unchanged.
    ...(cfg.insecure?.nullCipher ? { supportedAlgs: { nea: 0b0001, nia: 0b1110 } } : {}),
    ...(Object.values(checksOff).some(Boolean) ? { insecure: checksOff } : {}),
    methods: {
      certificate: new CertificateKdMethod(certCreds),
      ...(bundle ? { identity: new IdentityKdMethod(config.id, bundle) } : {}),
    },
  });

  const peerAddr: Pc5Address = { host: '127.0.0.1', port: cfg.peerPort };
  const peerKey = `127.0.0.1:${cfg.peerPort}`;
  let peerL2Id = 0xffffff;
  let linkId: number | undefined;
  let connected = false;
  let attempts = 0;
  let internalErrors = 0;
  const st = {
    linksUp: 0,
    setupFailures: 0,
    setupMs: [] as number[],
    rekeySetupMs: [] as number[],
    packetsSent: 0,
    packetsReceived: 0,
    released: 0,
    setupFailuresByCause: {} as Record<string, number>,
    setupAlgs: {} as Record<string, number>,
  };

  const handle = (outs: DirectLinkOutput[]) => {
    for (const o of outs) {
      switch (o.kind) {
        case 'send':
          medium.sendUnicast(peerAddr, {
            type: o.plane === 'signalling' ? 'unicast_signalling' : 'unicast_data',
            dstL2Id: peerL2Id,
            payload: o.bytes,
          });
          break;
        case 'established': {
          linkId = o.linkId;
          connected = true;
          const procedure = o.rekey ? 'direct_rekey' : 'direct_link';
          if (o.initiator) {
            metrics.keySetupSeconds.observe({ procedure, method: o.method, result: 'ok' }, o.setupMs / 1000);
            if (o.rekey) st.rekeySetupMs.push(o.setupMs);
            else {
              st.setupMs.push(o.setupMs);
              st.linksUp++;
            }
          } else if (!o.rekey) st.linksUp++;
          if (!o.rekey) {
            const algs = `128-NEA${o.algs.nea}/128-NIA${o.algs.nia}`;
            st.setupAlgs[algs] = (st.setupAlgs[algs] ?? 0) + 1;
          }
          log.info(
            { peer: o.peerId, method: o.method, rekey: o.rekey, setupMs: o.setupMs },
            'direct link up',
          );
          break;
        }
        case 'data':
          st.packetsReceived++;
          break;
        case 'failed':
          metrics.keySetupSeconds.observe(
            { procedure: o.rekey ? 'direct_rekey' : 'direct_link', method: o.method, result: 'failed' },
            5,
          );
          log.warn(
            { cause: o.cause, rekey: o.rekey, ...(o.peerCause ? { peerCause: o.peerCause } : {}) },
            'direct link procedure failed',
          );
          if (!o.rekey) {
            st.setupFailures++;
            const cause = o.peerCause ? `${o.cause}:${o.peerCause}` : o.cause;
            st.setupFailuresByCause[cause] = (st.setupFailuresByCause[cause] ?? 0) + 1;
            if (cfg.role === 'initiator' && attempts < MAX_SETUP_ATTEMPTS && trafficOn) connect();
          }
          break;
        case 'released':
          connected = false;
          st.released++;
          break;
        case 'rejected':
          break;
      }
    }
  };
  const guarded = (f: () => DirectLinkOutput[]) => {
    try {
      handle(f());
    } catch (e) {
      internalErrors++;
      log.warn({ err: (e as Error).message }, 'direct link: input dropped after an internal error');
    }
  };

  // While the CRL is being refreshed, signalling from the peer waits (bounded) so no link is set up on an old CRL.
  let crlRefreshing = false;
  const held: Uint8Array[] = [];
  const offFrame = medium.onFrame((frame, meta) => {
    if (frame.type !== 'unicast_signalling' && frame.type !== 'unicast_data') return;
    const from = `${meta.from.host}:${meta.from.port}`;
    if (from !== peerKey) {
      metrics.directLinkRejected.inc({ cause: 'unknown_peer' });
      return;
    }
    if (crlRefreshing && frame.type === 'unicast_signalling') {
      if (held.length < 16) held.push(frame.payload.slice());
      peerL2Id = frame.srcL2Id;
      return;
    }
    peerL2Id = frame.srcL2Id;
    guarded(() =>
      frame.type === 'unicast_signalling'
        ? ep.receiveSignalling(from, frame.payload)
        : ep.receiveData(from, frame.payload),
    );
  });

  // Counters -> Prometheus (deltas, so the endpoint stays free of I/O and metrics code).
  let last: DirectLinkCounters = emptyCounters();
  const flush = () => {
    const c = ep.counters;
    for (const [cause, n] of Object.entries(c.rejected)) {
      const d = n - (last.rejected[cause as keyof typeof c.rejected] ?? 0);
      if (d > 0) metrics.directLinkRejected.inc({ cause }, d);
    }
    for (const dir of ['tx', 'rx'] as const) {
      for (const plane of ['signalling', 'user'] as const) {
        const dp = c.protectedPackets[dir][plane] - last.protectedPackets[dir][plane];
        const db = c.protectedBytes[dir][plane] - last.protectedBytes[dir][plane];
        if (dp > 0) metrics.directLinkProtectedPackets.inc({ direction: dir, plane }, dp);
        if (db > 0) metrics.directLinkProtectedBytes.inc({ direction: dir, plane }, db);
      }
    }
    for (const plane of ['signalling', 'user'] as const) {
      const di = c.integrityFailures[plane] - last.integrityFailures[plane];
      const dr = c.replaysDropped[plane] - last.replaysDropped[plane];
      if (di > 0) metrics.directLinkIntegrityFailures.inc({ plane }, di);
      if (dr > 0) metrics.directLinkReplaysDropped.inc({ plane }, dr);
    }
    for (const trigger of ['manual', 'count'] as const) {
      const d = c.rekeys[trigger] - last.rekeys[trigger];
      if (d > 0) metrics.directLinkRekeys.inc({ trigger }, d);
    }
    last = structuredClone(c);
  };

  const timers: NodeJS.Timeout[] = [
    setInterval(flush, FLUSH_MS),
    setInterval(() => guarded(() => ep.tick()), TICK_MS),
  ];
  let trafficTimers: NodeJS.Timeout[] = [];
  let trafficOn = false;

  function connect(): void {
    attempts++;
    guarded(() => {
      const r = ep.connect(peerKey, cfg.peerId, cfg.kdMethod);
      linkId = r.linkId;
      return r.out;
    });
  }

  const payload = () => {
    const p = new Uint8Array(cfg.payloadBytes);
    const dv = new DataView(p.buffer);
    dv.setUint32(0, st.packetsSent);
    dv.setBigUint64(8, process.hrtime.bigint());
    return p;
  };

  return {
    startTraffic() {
      if (trafficOn) return;
      trafficOn = true;
      crlRefreshing = true;
      const client = kmsClient();
      void fetchCrl(client)
        .then(async (pem) => {
          certCreds.trust = await loadCertificateTrust(creds.caCertPem, pem);
        })
        .catch((e) => log.warn({ err: (e as Error).message }, 'CRL refresh failed: keeping the previous CRL'))
        .finally(() => {
          void client.close();
          crlRefreshing = false;
          for (const b of held.splice(0)) guarded(() => ep.receiveSignalling(peerKey, b));
          if (trafficOn && cfg.role === 'initiator') connect();
        });
      const t0 = performance.now();
      let due = 0;
      if (cfg.rate > 0) {
        trafficTimers.push(
          setInterval(() => {
            if (!connected || linkId === undefined) return;
            const target = Math.floor(((performance.now() - t0) / 1000) * cfg.rate);
            // Bounded burst: never more than 1,000 packets per 10 ms tick.
            for (let n = 0; due < target && n < 1000; n++, due++) {
              guarded(() => ep.sendData(linkId!, payload()));
              st.packetsSent++;
            }
          }, 10),
        );
      }
      if (cfg.rekeyEveryMs) {
        // Either side re-keys: the initiator on the period, the responder half a period later.
        const period = cfg.rekeyEveryMs;
        const offset = cfg.role === 'initiator' ? period : period * 1.5;
        const start = setTimeout(() => {
          const rk = () => {
            if (connected && linkId !== undefined) guarded(() => ep.rekey(linkId!));
          };
          rk();
          trafficTimers.push(setInterval(rk, period * 2));
        }, offset);
        trafficTimers.push(start);
      }
    },
    stopTraffic() {
      if (!trafficOn) return;
      trafficOn = false;
      for (const t of trafficTimers) clearInterval(t);
      trafficTimers = [];
      // Let in-flight data land, then tear the link down (D2D-Idle on both sides).
      if (cfg.role === 'initiator') {
        const t = setTimeout(() => {
          if (linkId !== undefined) guarded(() => ep.release(linkId!));
          flush();
        }, 150);
        timers.push(t);
      }
    },
    status() {
      flush();
      const c = ep.counters;
      return {
        role: cfg.role,
        peer: cfg.peerId,
        method: cfg.kdMethod,
        state: linkId === undefined ? 'D2D-Null' : ep.state(linkId),
        ...st,
        userBytesSent: c.protectedBytes.tx.user,
        userBytesReceived: c.protectedBytes.rx.user,
        rekeys: c.rekeys.manual + c.rekeys.count,
        integrityFailures: c.integrityFailures.signalling + c.integrityFailures.user,
        integrityFailuresByPlane: { ...c.integrityFailures },
        biddingDownAccepted: c.biddingDownAccepted,
        dsmcReplaysAccepted: c.dsmcReplaysAccepted,
        replaysDropped: c.replaysDropped.signalling + c.replaysDropped.user,
        rejected: {
          ...(c.rejected as Record<string, number>),
          ...(internalErrors ? { internal: internalErrors } : {}),
        },
      };
    },
    async stop() {
      for (const t of [...timers, ...trafficTimers]) clearInterval(t);
      offFrame();
      flush();
    },
  };
}
