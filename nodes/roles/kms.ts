// KMS role: the testbed's certificate authority (for now). Creates the run's CA and enrolls every node over TLS.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { startEnrollmentServer } from '../../transport/pc3/enrollment.js';
import { createTestbedCa } from '../../transport/pc3/pki.js';
import { pc3Sink } from '../runtime/sinks.js';
import { type KmsKeyService, startKmsKeyService } from './kms-keys.js';
import type { RoleContext, RoleInstance } from './role.js';

export async function start(ctx: RoleContext): Promise<RoleInstance> {
  const { config, log } = ctx;
  const secret = process.env.PROSEC_ENROLLMENT_SECRET;
  if (!secret) throw new Error('the KMS needs the run enrollment secret (PROSEC_ENROLLMENT_SECRET)');
  delete process.env.PROSEC_ENROLLMENT_SECRET;
  const ca = await createTestbedCa({ name: `prosec testbed CA ${config.runId}` });
  // Only the CA certificate leaves the KMS; its key stays in this process.
  const caCertFile = join(config.runDir, 'ca.pem');
  writeFileSync(caCertFile, ca.certPem);
  const enrolled = new Map<string, number>();
  // Scenario directLinks.revoke: these nodes' certificates go on the CRL as soon as they are issued.
  const roleConfig = z
    .object({
      revoke: z.array(z.string()).default([]),
      /** groupId -> nodeId of the group manager the scenario names for it (only it gets the group's keys). */
      groupManagers: z.record(z.string(), z.string()).default({}),
    })
    .parse(config.roleConfig ?? {});
  const revoke = new Set(roleConfig.revoke);
  const revokedSerials: string[] = [];
  let keys: KmsKeyService | undefined;
  const server = await startEnrollmentServer({
    ca,
    secret,
    host: config.host,
    port: 0,
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
  log.info({ caCertFile, port: server.port }, 'testbed CA created; enrollment open');
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
