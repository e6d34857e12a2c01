// Fixtures for the direct link tests: a testbed CA with UE certificates and a CRL, KMS bundles, and a tiny
// in-memory "medium" that moves DirectLinkEndpoint outputs between endpoints (with hooks to capture or tamper).
import { generateKmsMasterKeys, issueBundle, type UeKeyBundle } from '../../crypto-core/kms-bundle.js';
import { identityFor } from '../../crypto-core/rfc6509-identity.js';
import {
  type DirectLinkEndpoint,
  type DirectLinkOptions,
  type DirectLinkOutput,
  DirectLinkEndpoint as Endpoint,
} from '../../procedures/direct-link/direct-link.js';
import { CertificateKdMethod, loadCertificateTrust } from '../../procedures/direct-link/kd-certificate.js';
import { IdentityKdMethod, ueIdentityUri } from '../../procedures/direct-link/kd-identity.js';
import type { SecurityPolicy } from '../../procedures/direct-link/messages.js';
import {
  certificateSerial,
  createCrl,
  createNodeCredentials,
  createTestbedCa,
} from '../../transport/pc3/pki.js';

export interface UeCreds {
  certPem: string;
  keyPem: string;
  bundle: UeKeyBundle;
}

export interface Pki {
  caCertPem: string;
  crlPem: string;
  ues: Record<string, UeCreds>;
}

let cached: Promise<Pki> | undefined;

/** CA, credentials for mary, john, peter, eve, and a CRL revoking eve's certificate (built once per process). */
export function pki(): Promise<Pki> {
  cached ??= (async () => {
    const ca = await createTestbedCa();
    const master = generateKmsMasterKeys('kms.prosec.test');
    const ues: Record<string, UeCreds> = {};
    for (const id of ['mary', 'john', 'peter', 'eve']) {
      const c = await createNodeCredentials(ca, { nodeId: id, role: 'ue' });
      ues[id] = { ...c, bundle: issueBundle(master, identityFor(ueIdentityUri(id), new Date()), new Date()) };
    }
    const crlPem = await createCrl(ca, [certificateSerial(ues.eve!.certPem)]);
    return { caCertPem: ca.certPem, crlPem, ues };
  })();
  return cached;
}

export const FULL_POLICY: SecurityPolicy = {
  signallingCiphering: true,
  userPlaneCiphering: true,
  userPlaneIntegrity: false,
};

export class FakeClock {
  t = 1000;
  now = (): number => this.t;
}

export async function endpoint(
  id: string,
  over: Partial<DirectLinkOptions> = {},
  clock = new FakeClock(),
): Promise<DirectLinkEndpoint> {
  const p = await pki();
  const trust = await loadCertificateTrust(p.caCertPem, p.crlPem);
  const creds = p.ues[id]!;
  return new Endpoint({
    selfId: id,
    now: clock.now,
    policy: FULL_POLICY,
    methods: {
      certificate: new CertificateKdMethod({ certPem: creds.certPem, keyPem: creds.keyPem, trust }),
      identity: new IdentityKdMethod(id, creds.bundle),
    },
    ...over,
  });
}

export type Sent = Extract<DirectLinkOutput, { kind: 'send' }> & { from: string };

/**
 * Delivers outputs among endpoints named by address until quiet. `tap` sees every frame and may return
 * a replacement (tamper), null (drop) or undefined (deliver as is). Returns every output produced.
 */
export function pump(
  eps: Record<string, DirectLinkEndpoint>,
  from: string,
  initial: DirectLinkOutput[],
  tap?: (s: Sent) => Uint8Array | null | undefined,
  log: Sent[] = [],
): (DirectLinkOutput & { at: string })[] {
  const all: (DirectLinkOutput & { at: string })[] = initial.map((o) => ({ ...o, at: from }));
  const queue: Sent[] = [];
  const take = (at: string, outs: DirectLinkOutput[]) => {
    for (const o of outs) {
      if (o.kind === 'send') queue.push({ ...o, from: at });
    }
  };
  take(from, initial);
  for (let guard = 0; queue.length > 0 && guard < 10_000; guard++) {
    const s = queue.shift()!;
    log.push({ ...s, bytes: s.bytes.slice() }); // receivers decipher user data in place
    const t = tap?.(s);
    if (t === null) continue;
    const bytes = t ?? s.bytes;
    const ep = eps[s.peer];
    if (!ep) continue;
    const outs =
      s.plane === 'signalling' ? ep.receiveSignalling(s.from, bytes) : ep.receiveData(s.from, bytes);
    for (const o of outs) all.push({ ...o, at: s.peer });
    take(s.peer, outs);
  }
  return all;
}
