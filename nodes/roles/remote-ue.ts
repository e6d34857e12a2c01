// Remote UE role: out of network coverage, reachable only over PC5. Discovers a UE-to-network relay (Model A),
// sends a Direct Communication Request, authenticates to the network with EAP-AKA' through the relay (emulated USIM:
// Milenage, SQN array, AUTS), derives the PC5 keys from the MSK on the Direct Security Mode Command, then sends
// protected user data to the network through the relay and measures the round trip.
// `RemoteUeClient` is the whole behaviour over one PC5 medium, so benchmarks can run many in one process.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { SqnArray } from '../../crypto-core/aka-sqn.js';
import { fromHex } from '../../crypto-core/bytes.js';
import { Milenage } from '../../crypto-core/milenage.js';
import { EapAkaPrimePeer } from '../../procedures/eap/eap-aka-prime-peer.js';
import {
  decodeDsmcParams,
  decodeRelayMsg,
  deriveRelayLinkKeys,
  encodeDcr,
  encodeRelayMsg,
  RELAY_MSG,
  type RelayLinkContexts,
  relayLinkContexts,
} from '../../procedures/relay/relay-link.js';
import type { Pc5Address } from '../../transport/pc5/medium.js';
import { UdpPc5Medium } from '../../transport/pc5/udp-medium.js';
import type { NodeMetrics } from '../runtime/metrics.js';
import { pc5Sink } from '../runtime/sinks.js';
import type { RoleContext, RoleInstance } from './role.js';

export const remoteUeConfigSchema = z
  .object({
    imsi: z.string().regex(/^[0-9]{6,15}$/),
    k: z.string().regex(/^[0-9a-fA-F]{32}$/),
    opc: z.string().regex(/^[0-9a-fA-F]{32}$/),
    realm: z.string().default('wlan.mnc001.mcc001.3gppnetwork.org'),
    /** USIM's highest accepted SEQ at start (0: fresh). A value above the HSS's forces resynchronisation. */
    usimSeq: z.number().int().min(0).default(0),
    rsc: z
      .string()
      .regex(/^[0-9a-fA-F]{6}$/)
      .default('000001'),
    discovery: z.object({ address: z.string(), port: z.number().int() }).strict().optional(),
    /** Static relay (no discovery): its PC5 unicast address and L2 ID. */
    relay: z.object({ host: z.string(), port: z.number().int(), l2Id: z.number().int() }).strict().optional(),
    traffic: z
      .object({
        rate: z.number().nonnegative().default(5),
        payloadBytes: z.number().int().min(16).max(1400).default(200),
      })
      .strict()
      .default({ rate: 5, payloadBytes: 200 }),
    /** Integrity-protect user data (must match the relay). */
    userDataIntegrity: z.boolean().default(true),
    /** This UE is expected to fail authentication (e.g. wrong K): failure is then not an error. */
    expectFailure: z.boolean().default(false),
    /**
     * INSECURE, for the threat matrix's control only (scenario `relay.insecure.peerSkipsAtMac`): the EAP-AKA' peer
     * processes a challenge whose AT_MAC does not verify (counted as `badMacAccepted`).
     */
    insecure: z
      .object({ skipAtMac: z.boolean().default(false) })
      .strict()
      .default({ skipAtMac: false }),
  })
  .strict();
export type RemoteUeConfig = z.output<typeof remoteUeConfigSchema>;

export type RemoteUeState = 'discovering' | 'requesting' | 'authenticating' | 'up' | 'failed';

/** One remote UE over a PC5 medium it owns. */
export class RemoteUeClient {
  state: RemoteUeState = 'discovering';
  failure?: string;
  readonly peer: EapAkaPrimePeer;
  private relay?: { addr: Pc5Address; l2Id: number };
  private nonce1 = new Uint8Array(randomBytes(16));
  private t0?: number;
  keySetupMs?: number;
  private msk?: Uint8Array;
  private method: 'full' | 'reauth' = 'full';
  private ctx?: RelayLinkContexts;
  private dcrTimer?: NodeJS.Timeout;
  private dcrTries = 0;
  private trafficTimer?: NodeJS.Timeout;
  readonly rtts: number[] = [];
  readonly traffic = { sent: 0, received: 0, sentBytes: 0, receivedBytes: 0, dropped: 0 };
  private readonly waiters: ((s: RemoteUeState) => void)[] = [];

  constructor(
    readonly medium: UdpPc5Medium,
    readonly cfg: RemoteUeConfig,
    private readonly hooks: {
      onAuth?: (
        result: 'success' | 'failure',
        cause: string,
        seconds?: number,
        method?: 'full' | 'reauth',
      ) => void;
      onDrop?: (reason: string) => void;
    } = {},
  ) {
    const sqn = new SqnArray();
    if (cfg.usimSeq > 0)
      sqn.accept(Uint8Array.from(Buffer.from((cfg.usimSeq * 32).toString(16).padStart(12, '0'), 'hex')));
    this.peer = new EapAkaPrimePeer({
      permanentIdentity: `6${cfg.imsi}@${cfg.realm}`,
      usim: new Milenage(fromHex(cfg.k), fromHex(cfg.opc)),
      sqn,
      insecureSkipAtMac: cfg.insecure.skipAtMac,
    });
    medium.onFrame((f, meta) => this.onFrame(f.type, f.srcL2Id, f.dstL2Id, f.payload, meta.from));
    if (cfg.relay) this.connect({ host: cfg.relay.host, port: cfg.relay.port }, cfg.relay.l2Id);
  }

  /** Resolves when the UE is up or failed. */
  settled(): Promise<RemoteUeState> {
    if (this.state === 'up' || this.state === 'failed') return Promise.resolve(this.state);
    return new Promise((r) => this.waiters.push(r));
  }

  private settle(s: 'up' | 'failed'): void {
    this.state = s;
    if (this.dcrTimer) clearTimeout(this.dcrTimer);
    for (const w of this.waiters.splice(0)) w(s);
  }

  private connect(addr: Pc5Address, l2Id: number): void {
    this.relay = { addr, l2Id };
    this.state = 'requesting';
    const send = () => {
      if (this.state !== 'requesting') return;
      if (++this.dcrTries > 5) {
        this.fail('relay_silent');
        return;
      }
      this.sendSig(encodeDcr(fromHex(this.cfg.rsc), this.nonce1));
      this.dcrTimer = setTimeout(send, 2000);
    };
    send();
  }

  private sendSig(payload: Uint8Array): void {
    if (!this.relay) return;
    this.medium.sendUnicast(this.relay.addr, { type: 'relay_signalling', dstL2Id: this.relay.l2Id, payload });
  }

  private fail(cause: string): void {
    if (this.state === 'failed' || this.state === 'up') return;
    this.failure = cause;
    this.hooks.onAuth?.('failure', cause);
    this.settle('failed');
  }

  private onFrame(type: string, src: number, dst: number, payload: Uint8Array, from: Pc5Address): void {
    if (type === 'discovery_announce') {
      if (this.state !== 'discovering') return;
      try {
        const m = decodeRelayMsg(payload);
        if (
          m.type === RELAY_MSG.ANNOUNCE &&
          m.body.length === 3 &&
          Buffer.from(m.body).toString('hex') === this.cfg.rsc.toLowerCase()
        ) {
          this.connect(from, src);
        }
      } catch {
        this.hooks.onDrop?.('malformed');
      }
      return;
    }
    if (dst !== this.medium.l2Id || !this.relay || src !== this.relay.l2Id) return;
    if (type === 'relay_signalling') {
      let m: ReturnType<typeof decodeRelayMsg>;
      try {
        m = decodeRelayMsg(payload);
      } catch {
        this.hooks.onDrop?.('malformed');
        return;
      }
      if (m.type === RELAY_MSG.EAP) this.onEap(m.body);
      else if (m.type === RELAY_MSG.DSMC) this.onDsmc(m.body);
      else if (m.type === RELAY_MSG.REJECT)
        this.fail(this.peer.lastError ?? `relay_reject_${m.body[0] ?? 0}`);
      return;
    }
    if (type === 'relay_data' && this.ctx) {
      const r = this.ctx.dataRx.unprotect(payload);
      if (!r.ok || r.payload.length < 8) {
        this.traffic.dropped++;
        this.hooks.onDrop?.(r.ok ? 'short' : r.reason);
        return;
      }
      const sentAt = Buffer.from(r.payload.buffer, r.payload.byteOffset, 8).readBigUInt64BE(0);
      this.rtts.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
      if (this.rtts.length > 10_000) this.rtts.shift();
      this.traffic.received++;
      this.traffic.receivedBytes += r.payload.length;
    }
  }

  private onEap(eap: Uint8Array): void {
    if (this.state === 'requesting') {
      this.state = 'authenticating';
      this.t0 = performance.now(); // key setup: first EAP packet ...
      this.peer.reset();
      if (this.dcrTimer) clearTimeout(this.dcrTimer);
    }
    if (this.state !== 'authenticating') return;
    const out = this.peer.receive(eap);
    if (out.kind === 'response') this.sendSig(encodeRelayMsg(RELAY_MSG.EAP, out.packet));
    else if (out.kind === 'success') {
      this.msk = out.msk;
      this.method = out.method;
    } else if (out.kind === 'failure') this.fail(this.peer.lastError ?? 'eap_failure');
    else this.hooks.onDrop?.(`eap_${out.reason}`);
  }

  private onDsmc(body: Uint8Array): void {
    if (this.state !== 'authenticating' || !this.msk) {
      this.hooks.onDrop?.('unexpected_dsmc');
      return;
    }
    let d: ReturnType<typeof decodeDsmcParams>;
    try {
      d = decodeDsmcParams(body);
    } catch {
      this.hooks.onDrop?.('malformed');
      return;
    }
    const keys = deriveRelayLinkKeys(
      this.msk,
      fromHex(this.cfg.rsc),
      this.nonce1,
      d.params.nonce2,
      d.params.cipherAlg,
      d.params.integrityAlg,
    );
    const ctx = relayLinkContexts('remote-ue', keys, d.params, {
      ciphering: d.params.cipherAlg !== 0,
      integrity: this.cfg.userDataIntegrity,
    });
    const r = ctx.sigRx.unprotect(d.pdu);
    // The protected copy must repeat the clear parameters and our Nonce_1 (no parameter tampering, no replay).
    const expect = Buffer.concat([d.clear, this.nonce1]);
    if (!r.ok || !Buffer.from(r.payload).equals(expect)) {
      this.hooks.onDrop?.(r.ok ? 'dsmc_mismatch' : `dsmc_${r.reason}`);
      this.fail('dsmc_integrity');
      return;
    }
    this.ctx = ctx;
    this.sendSig(encodeRelayMsg(RELAY_MSG.DSM_COMPLETE, ctx.sigTx.protect(d.params.nonce2)));
    // ... to keys installed.
    this.keySetupMs = performance.now() - this.t0!;
    this.hooks.onAuth?.('success', 'none', this.keySetupMs / 1000, this.method);
    this.settle('up');
  }

  /** Sends one protected user-data packet (8-octet send time + filler) to the network through the relay. */
  sendData(size: number): boolean {
    if (this.state !== 'up' || !this.ctx || !this.relay) return false;
    const p = new Uint8Array(size);
    new DataView(p.buffer).setBigUint64(0, process.hrtime.bigint());
    this.medium.sendUnicast(this.relay.addr, {
      type: 'relay_data',
      dstL2Id: this.relay.l2Id,
      payload: this.ctx.dataTx.protect(p),
    });
    this.traffic.sent++;
    this.traffic.sentBytes += size;
    return true;
  }

  startTraffic(): void {
    const { rate, payloadBytes } = this.cfg.traffic;
    if (rate <= 0 || this.trafficTimer) return;
    this.trafficTimer = setInterval(() => this.sendData(payloadBytes), 1000 / rate);
  }

  stopTraffic(): void {
    if (this.trafficTimer) clearInterval(this.trafficTimer);
    this.trafficTimer = undefined;
  }

  close(): void {
    this.stopTraffic();
    if (this.dcrTimer) clearTimeout(this.dcrTimer);
  }
}

export function percentileOf(xs: number[], p: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function metricHooks(metrics: NodeMetrics) {
  return {
    onAuth: (result: 'success' | 'failure', cause: string, seconds?: number, method?: 'full' | 'reauth') => {
      metrics.eapAuthResults.inc(method ? { result, cause, method } : { result, cause });
      if (seconds !== undefined) {
        metrics.keySetupSeconds.observe(
          { procedure: 'eap_aka_prime', method: 'relay', result: result === 'success' ? 'ok' : 'failed' },
          seconds,
        );
      }
    },
    onDrop: (reason: string) => metrics.relayDropped.inc({ reason }),
  };
}

export async function start(ctx: RoleContext): Promise<RoleInstance> {
  const { config, log, metrics } = ctx;
  const cfg = remoteUeConfigSchema.parse(config.roleConfig);
  const l2Id = randomBytes(3).readUIntBE(0, 3) || 1;
  const medium = new UdpPc5Medium({
    l2Id,
    metrics: pc5Sink(metrics),
    onError: (e) => log.warn({ err: e.message }, 'PC5 medium error'),
  });
  await medium.start();
  metrics.pc5MediumInfo.set({ medium: medium.kind }, 1);
  if (cfg.discovery) await medium.joinGroup({ address: cfg.discovery.address, port: cfg.discovery.port });
  if (cfg.insecure.skipAtMac)
    log.warn("INSECURE EAP-AKA' peer: a challenge whose AT_MAC fails is accepted (threat-matrix control)");
  const hooks = metricHooks(metrics);
  const ue = new RemoteUeClient(medium, cfg, {
    ...hooks,
    onAuth: (result, cause, seconds, method) => {
      hooks.onAuth(result, cause, seconds, method);
      if (result === 'success')
        log.info(
          { keySetupMs: Number(((seconds ?? 0) * 1000).toFixed(3)) },
          "authenticated via relay (EAP-AKA'); PC5 keys installed",
        );
      else if (cfg.expectFailure) log.info({ cause }, 'authentication failed, as expected for this UE');
      else log.error({ cause }, 'authentication via relay failed');
    },
  });
  let wantTraffic = false;
  ue.settled().then((s) => {
    if (s === 'up' && wantTraffic) ue.startTraffic();
  });
  return {
    endpoints: { pc5: medium.unicastAddress.port },
    command: (name) => {
      if (name === 'start-traffic') {
        wantTraffic = true;
        ue.startTraffic();
      } else if (name === 'stop-traffic') {
        wantTraffic = false;
        ue.stopTraffic();
      }
    },
    status: () => ({
      errors: (ue.state === 'failed') !== cfg.expectFailure ? 1 : 0,
      details: {
        state: ue.state,
        authenticated: ue.state === 'up',
        expectFailure: cfg.expectFailure,
        failure: ue.failure,
        keySetupMs: ue.keySetupMs,
        syncFailures: ue.peer.syncFailures,
        badMacAccepted: ue.peer.badMacAccepted,
        ...ue.traffic,
        rttP50Ms: percentileOf(ue.rtts, 50),
        rttP99Ms: percentileOf(ue.rtts, 99),
      },
    }),
    stop: async () => {
      ue.close();
      await medium.close();
    },
  };
}
