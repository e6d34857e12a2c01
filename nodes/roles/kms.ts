// KMS role: the testbed's certificate authority (for now). Creates the run's CA and enrolls every node over TLS.
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { startEnrollmentServer } from '../../transport/pc3/enrollment.js';
import { createTestbedCa, type TestbedCa } from '../../transport/pc3/pki.js';
import { pc3Sink } from '../runtime/sinks.js';
import { type KmsKeyService, startKmsKeyService } from './kms-keys.js';
import type { RoleContext, RoleInstance } from './role.js';

export const kmsConfigSchema = z
  .object({
    /** Scenario directLinks.revoke: these nodes' certificates go on the CRL as soon as they are issued. */
    revoke: z.array(z.string()).default([]),
    /** groupId -> nodeId of the group manager the scenario names for it (only it gets the group's keys). */
    groupManagers: z.record(z.string(), z.string()).default({}),
    /**
     * A CA made before the KMS starts (a Kubernetes deployment: `prosec k8s render` makes it and every pod mounts
     * the certificate from a Secret, docs/k8s.md): PEM files of the CA certificate and its private key. Absent: the
     * KMS creates the run's CA itself (the orchestrator).
     */
    ca: z
      .object({ certFile: z.string().min(1), keyFile: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict();

/** Loads a CA from PEM files; refuses a key that is not the certificate's, or a certificate that is not a CA. */
export function loadCa(files: { certFile: string; keyFile: string }): TestbedCa {
  const certPem = readFileSync(files.certFile, 'utf8');
  const keyPem = readFileSync(files.keyFile, 'utf8');
  const cert = new X509Certificate(certPem);
  if (!cert.ca) throw new Error(`${files.certFile} is not a CA certificate`);
  const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' });
  if (!spki(cert.publicKey).equals(spki(createPublicKey(createPrivateKey(keyPem)))))
    throw new Error(`${files.keyFile} is not the private key of ${files.certFile}`);
  return { certPem, keyPem };
}

export async function start(ctx: RoleContext): Promise<RoleInstance> {
  const { config, log } = ctx;
  const secret = process.env.PROSEC_ENROLLMENT_SECRET;
  if (!secret) throw new Error('the KMS needs the run enrollment secret (PROSEC_ENROLLMENT_SECRET)');
  delete process.env.PROSEC_ENROLLMENT_SECRET;
  const roleConfig = kmsConfigSchema.parse(config.roleConfig ?? {});
  const ca = roleConfig.ca
    ? loadCa(roleConfig.ca)
    : await createTestbedCa({ name: `prosec testbed CA ${config.runId}` });
  // Only the CA certificate leaves the KMS; its key stays in this process.
  const caCertFile = join(config.runDir, 'ca.pem');
  writeFileSync(caCertFile, ca.certPem);
  const enrolled = new Map<string, number>();
  const revoke = new Set(roleConfig.revoke);
  const revokedSerials: string[] = [];
  let keys: KmsKeyService | undefined;
  const server = await startEnrollmentServer({
    ca,
    secret,
    host: config.host,
    port: config.ports?.enroll ?? 0,
    metrics: pc3Sink(ctx.metrics),
    logger: log,
    onEnrolled: ({ role, nodeId, serialNumber }) => {
      enrolled.set(role, (enrolled.get(role) ?? 0) + 1);
      if (revoke.has(nodeId)) {
        revokedSerials.push(serialNumber);
        keys?.setRevoked(revokedSerials);
        log.info({ nodeId }, 'certificate revoked (scenario directLinks.revoke)');
      }
    },
  });
  log.info(
    { caCertFile, port: server.port, ca: roleConfig.ca ? 'loaded' : 'created' },
    'testbed CA ready; enrollment open',
  );
  keys = await startKmsKeyService(ctx, ca, roleConfig.groupManagers);
  return {
    endpoints: { enrollment: server.port, keys: keys.port },
    status: () => ({
      errors: 0,
      details: {
        enrolledByRole: Object.fromEntries(enrolled),
        bundlesIssued: keys!.issued(),
        bundlesRefused: keys!.refused(),
        revokedCertificates: revokedSerials.length,
      },
    }),
    stop: async () => {
      await keys!.close();
      await server.close();
    },
  };
}
