// Node start-up step shared by every role but the KMS: obtain this node's TLS certificate from the KMS.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Pc3Client } from '../../transport/pc3/client.js';
import { enroll } from '../../transport/pc3/enrollment.js';
import { Pc3Server, type Pc3ServerOptions } from '../../transport/pc3/server.js';
import type { RoleContext } from '../roles/role.js';
import type { NodeMetrics } from './metrics.js';
import { pc3Sink } from './sinks.js';

export interface NodeCredentials {
  certPem: string;
  keyPem: string;
  caCertPem: string;
}

/** Enrolls with the KMS using the token the orchestrator gave this process (then forgets the token). */
export async function enrollWithKms(ctx: RoleContext): Promise<NodeCredentials> {
  const { config, metrics } = ctx;
  if (!config.kms) throw new Error(`role ${config.role} needs the KMS endpoint (config.kms)`);
  const token = ctx.enrollmentToken ?? process.env.PROSEC_ENROLLMENT_TOKEN;
  if (!token) throw new Error('no enrollment token (PROSEC_ENROLLMENT_TOKEN) was given to this node');
  delete process.env.PROSEC_ENROLLMENT_TOKEN;
  const caCertPem = readFileSync(config.kms.caCertFile, 'utf8');
  const t0 = performance.now();
  try {
    const r = await enroll({
      host: config.kms.host,
      port: config.kms.port,
      caCertPem,
      nodeId: config.id,
      role: config.role,
      token,
    });
    metrics.enrollmentSeconds.observe({ result: 'ok' }, (performance.now() - t0) / 1000);
    return { certPem: r.certPem, keyPem: r.privateKeyPem, caCertPem: r.caCertPem };
  } catch (e) {
    metrics.enrollmentSeconds.observe({ result: 'failed' }, (performance.now() - t0) / 1000);
    throw e;
  }
}

/** A mutual-TLS PC3 client to the KMS key service (MIKEY-SAKKE bundles, CRL), authenticated with the node's certificate. */
export function kmsKeysClient(
  endpoint: { host: string; port: number },
  creds: NodeCredentials,
  metrics: NodeMetrics,
  timeoutMs?: number,
): Pc3Client {
  return new Pc3Client({
    host: endpoint.host,
    port: endpoint.port,
    certPem: creds.certPem,
    keyPem: creds.keyPem,
    caCertPem: creds.caCertPem,
    expectedServer: { role: 'kms' },
    metrics: pc3Sink(metrics),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    // The KMS serves every node's start-up at once (TLS handshake, bundle issuance): on a loaded host a handshake
    // can take seconds, so the connect gets the request's bound rather than the 5 s default.
    connectTimeoutMs: timeoutMs ?? 20_000,
  });
}

/**
 * A PC3 (mutual TLS) server of this node: its certificate, the run's CA, the node's address, metrics and logger;
 * the role gives the port and what it serves (handler, accepted types, allowed peer roles).
 */
export function nodePc3Server(
  ctx: RoleContext,
  creds: NodeCredentials,
  serves: Omit<Pc3ServerOptions, 'host' | 'certPem' | 'keyPem' | 'caCertPem' | 'metrics' | 'logger'>,
): Pc3Server {
  return new Pc3Server({
    host: ctx.config.host,
    certPem: creds.certPem,
    keyPem: creds.keyPem,
    caCertPem: creds.caCertPem,
    metrics: pc3Sink(ctx.metrics),
    logger: ctx.log,
    ...serves,
  });
}
