// KMS key service (mutual TLS, PC3 framing): hands each UE its MIKEY-SAKKE key bundle (RFC 6507 SSK/PVT,
// RFC 6508 RSK, KPAK, Z_S) for the identity prose-ue:<nodeId> of its certificate, and the CA's current CRL
// which UEs use to check peer certificates on PC5 direct links (docs/direct-link.md).
import { performance } from 'node:perf_hooks';
import { generateKmsMasterKeys, issueBundle, serializeBundle } from '../../crypto-core/kms-bundle.js';
import { identityFor } from '../../crypto-core/rfc6509-identity.js';
import { ueIdentityUri } from '../../procedures/direct-link/kd-identity.js';
import { groupIdentityUri } from '../../procedures/group/gmk-distribution.js';
import { createCrl, createNodeCredentials, type TestbedCa } from '../../transport/pc3/pki.js';
import { nodePc3Server } from '../runtime/enrollment.js';
import type { RoleContext } from './role.js';

export interface KmsKeyService {
  port: number;
  issued(): number;
  /** Bundle requests refused (a group manager asking for a group it is not named for, a UE asking for a group). */
  refused(): number;
  /** Replaces the revoked serials; CRL requests answered from now on carry the new CRL. */
  setRevoked(serials: readonly string[]): void;
  close(): Promise<void>;
}

/**
 * Whose key bundle a requester gets (docs/group.md): a UE gets its own identity's (prose-ue:<nodeId> of its
 * certificate); a group manager gets a group identity's only for a group the scenario names it the manager of
 * (`groupManagers`: groupId -> group manager nodeId). Anything else is refused with a reason.
 */
export function bundleIdentity(
  peer: { role: string; nodeId: string },
  groupId: string | undefined,
  groupManagers: Readonly<Record<string, string>>,
): { uri: string } | { refused: string } {
  if (peer.role === 'ue')
    return groupId === undefined
      ? { uri: ueIdentityUri(peer.nodeId) }
      : { refused: 'a UE gets its own keys only' };
  if (peer.role !== 'group-manager') return { refused: 'role not served' };
  if (groupId === undefined) return { refused: 'a group manager must name its group' };
  if (!Object.hasOwn(groupManagers, groupId) || groupManagers[groupId] !== peer.nodeId)
    return { refused: 'not the group manager of this group' };
  return { uri: groupIdentityUri(groupId) };
}

export async function startKmsKeyService(
  ctx: RoleContext,
  ca: TestbedCa,
  groupManagers: Readonly<Record<string, string>> = {},
): Promise<KmsKeyService> {
  const { config, log, metrics } = ctx;
  // Generated on the first bundle request (about 1-5 s of CPU): runs without IDENTITY KD never pay for it.
  let master: ReturnType<typeof generateKmsMasterKeys> | undefined;
  const own = await createNodeCredentials(ca, { nodeId: config.id, role: 'kms' });
  // The testbed revokes nobody by default (scenario directLinks.revoke adds some); the CRL is still signed, served
  // and checked by every UE. A new CRL is signed whenever the revoked set changes; requests wait for the newest.
  let crl = createCrl(ca, []);
  await crl;
  let issued = 0;
  let refused = 0;
  const server = nodePc3Server(
    ctx,
    { certPem: own.certPem, keyPem: own.keyPem, caCertPem: ca.certPem },
    {
      port: config.ports?.keys ?? 0,
      allowedRoles: ['ue', 'group-manager'],
      acceptTypes: ['kms_bundle_request', 'crl_request'],
      handler: async (msg, peer) => {
        const crlPem = await crl;
        if (msg.type === 'crl_request') return { type: 'crl_response', body: { crlPem } };
        const t0 = performance.now();
        const groupId = msg.type === 'kms_bundle_request' ? msg.body.groupId : undefined;
        const who = bundleIdentity(peer, groupId, groupManagers);
        if ('refused' in who) {
          refused++;
          metrics.keySetupSeconds.observe(
            { procedure: 'kms_bundle', method: 'mikey_sakke', result: 'failed' },
            (performance.now() - t0) / 1000,
          );
          log.warn(
            { peer: peer.nodeId, role: peer.role, groupId, reason: who.refused },
            'key bundle refused',
          );
          return { type: 'error', body: { cause: 'not_authorized', detail: who.refused } };
        }
        master ??= generateKmsMasterKeys(`kms.${config.runId}.prosec.test`);
        const now = new Date();
        const bundle = issueBundle(master, identityFor(who.uri, now, master.keyPeriod), now);
        issued++;
        metrics.keySetupSeconds.observe(
          { procedure: 'kms_bundle', method: 'mikey_sakke', result: 'ok' },
          (performance.now() - t0) / 1000,
        );
        return { type: 'kms_bundle_response', body: { bundle: serializeBundle(bundle), crlPem } };
      },
    },
  );
  const { port } = await server.listen();
  log.info({ port }, 'KMS key service listening (MIKEY-SAKKE bundles, CRL)');
  return {
    port,
    issued: () => issued,
    refused: () => refused,
    setRevoked: (serials) => {
      crl = createCrl(ca, [...serials]);
    },
    close: () => server.close(),
  };
}
