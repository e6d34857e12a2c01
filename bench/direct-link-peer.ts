// The responder side of bench/direct-link.bench.ts, in its own OS process: N UdpPc5Medium sockets, each with a
// DirectLinkEndpoint answering link set-ups; counts user packets (protected or raw) and reports by IPC.
import { performance } from 'node:perf_hooks';
import { parseBundle } from '../crypto-core/kms-bundle.js';
import { eccsiPrecompute } from '../crypto-core/rfc6507-eccsi.js';
import { sakkePrecompute } from '../crypto-core/rfc6508-sakke.js';
import { DirectLinkEndpoint, type DirectLinkOutput } from '../procedures/direct-link/direct-link.js';
import { CertificateKdMethod, loadCertificateTrust } from '../procedures/direct-link/kd-certificate.js';
import { IdentityKdMethod } from '../procedures/direct-link/kd-identity.js';
import type { SecurityPolicy, SupportedAlgs } from '../procedures/direct-link/messages.js';
import { UdpPc5Medium } from '../transport/pc5/udp-medium.js';

export type PeerCommand =
  | {
      t: 'init';
      n: number;
      selfId: string;
      certPem: string;
      keyPem: string;
      caCertPem: string;
      crlPem: string;
      bundleJson: string;
      policy: SecurityPolicy;
      supportedAlgs: SupportedAlgs;
    }
  | { t: 'reset' }
  | { t: 'report' }
  | { t: 'exit' };

export type PeerReply =
  | { t: 'ready'; ports: number[] }
  | { t: 'report'; packets: number; bytes: number; firstNs: string; lastNs: string; cpuUs: number }
  | { t: 'progress'; packets: number }
  | { t: 'ok' };

const send = (m: PeerReply) => process.send?.(m);
const media: UdpPc5Medium[] = [];
let packets = 0;
let bytes = 0;
let firstNs = 0n;
let lastNs = 0n;
let cpu0 = process.cpuUsage();

function got(n: number): void {
  const now = process.hrtime.bigint();
  if (packets === 0) firstNs = now;
  lastNs = now;
  packets++;
  bytes += n;
  if (packets % 250 === 0) send({ t: 'progress', packets });
}

process.on('message', async (m: PeerCommand) => {
  if (m.t === 'init') {
    const trust = await loadCertificateTrust(m.caCertPem, m.crlPem);
    const bundle = parseBundle(m.bundleJson);
    sakkePrecompute(bundle.Z_S, bundle.RSK);
    eccsiPrecompute(bundle.KPAK);
    const certificate = new CertificateKdMethod({ certPem: m.certPem, keyPem: m.keyPem, trust });
    const identity = new IdentityKdMethod(m.selfId, bundle);
    const ports: number[] = [];
    for (let i = 0; i < m.n; i++) {
      const medium = new UdpPc5Medium({ l2Id: 0x100000 + i });
      await medium.start();
      media.push(medium);
      const ep = new DirectLinkEndpoint({
        selfId: m.selfId,
        now: () => performance.now(),
        policy: m.policy,
        supportedAlgs: m.supportedAlgs,
        methods: { certificate, identity },
      });
      medium.onFrame((frame, meta) => {
        const from = `${meta.from.host}:${meta.from.port}`;
        let outs: DirectLinkOutput[] = [];
        if (frame.type === 'test') {
          // A ping (first octet 0xEE) is echoed: the round-trip baseline. Anything else is counted.
          if (frame.payload[0] === 0xee)
            medium.sendUnicast(meta.from, { type: 'test', dstL2Id: 1, payload: frame.payload });
          else got(frame.payload.length);
          return;
        }
        if (frame.type === 'unicast_signalling') outs = ep.receiveSignalling(from, frame.payload);
        else if (frame.type === 'unicast_data') outs = ep.receiveData(from, frame.payload);
        for (const o of outs) {
          if (o.kind === 'data') got(o.payload.length);
          else if (o.kind === 'send') {
            medium.sendUnicast(meta.from, {
              type: o.plane === 'signalling' ? 'unicast_signalling' : 'unicast_data',
              dstL2Id: frame.srcL2Id,
              payload: o.bytes,
            });
          }
        }
      });
      ports.push(medium.unicastAddress.port);
    }
    send({ t: 'ready', ports });
  } else if (m.t === 'reset') {
    packets = 0;
    bytes = 0;
    cpu0 = process.cpuUsage();
    send({ t: 'ok' });
  } else if (m.t === 'report') {
    const c = process.cpuUsage(cpu0);
    send({
      t: 'report',
      packets,
      bytes,
      firstNs: String(firstNs),
      lastNs: String(lastNs),
      cpuUs: c.user + c.system,
    });
  } else if (m.t === 'exit') {
    await Promise.all(media.map((x) => x.close()));
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
