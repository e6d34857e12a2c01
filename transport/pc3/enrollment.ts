// Node enrollment with the KMS: a node proves it was started by the orchestrator with a per-node token
// (HMAC-SHA-256 of the per-run enrollment secret) and gets a CA-issued certificate for PC3, over server-authenticated TLS.
import { createHash, createHmac, X509Certificate as NodeX509Certificate } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import tls from 'node:tls';
import { constantTimeEqual } from '../../crypto-core/bytes.js';
import { FramedSocket } from './connection.js';
import {
  checkNodeId,
  checkRole,
  generateNodeKeyPair,
  PkiError,
  parseNodeIdentity,
  type TestbedCa,
} from './identity.js';
import {
  type EnrollRejectCause,
  makeMessage,
  type Pc3Body,
  type Pc3Message,
  type Pc3Reply,
} from './messages.js';
import { NOOP_LOGGER, NOOP_METRICS, type Pc3Logger, type Pc3MetricsSink } from './metrics.js';

/** The certificate-issuing code, loaded only by the KMS side (nodes that only enroll never load it). */
const caOps = () => import('./pki.js');

/** Enrollment messages are small: certificates and keys are a few hundred octets. */
const ENROLL_MAX_MESSAGE_BYTES = 64 * 1024;

/** The per-run secret: octets, or a string used as its UTF-8 octets (not hex-decoded). */
export type EnrollmentSecret = Uint8Array | string;

function secretBytes(secret: EnrollmentSecret): Buffer {
  const b = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (b.length < 16) throw new PkiError('bad_secret', 'enrollment secret must have at least 16 octets');
  return b;
}

/** token = HMAC-SHA-256(secret, role || 0x00 || nodeId), lower-case hex (64 characters). */
export function computeEnrollmentToken(secret: EnrollmentSecret, role: string, nodeId: string): string {
  checkRole(role);
  checkNodeId(nodeId);
  return createHmac('sha256', secretBytes(secret))
    .update(Buffer.concat([Buffer.from(role, 'utf8'), Buffer.from([0]), Buffer.from(nodeId, 'utf8')]))
    .digest('hex');
}

/** Checks a presented token in constant time (malformed tokens compare against a dummy of the same length). */
export function verifyEnrollmentToken(
  secret: EnrollmentSecret,
  role: string,
  nodeId: string,
  token: string,
): boolean {
  const expected = Buffer.from(computeEnrollmentToken(secret, role, nodeId), 'hex');
  const wellFormed = /^[0-9a-f]{64}$/.test(token);
  const presented = wellFormed ? Buffer.from(token, 'hex') : Buffer.alloc(32);
  return constantTimeEqual(presented, expected) && wellFormed;
}

/** Why an enrollment failed, on the node side. Messages never contain the token or keys. */
export class EnrollmentError extends Error {
  override readonly name = 'EnrollmentError';
  /** An enroll_reject cause from the KMS, or a local cause. */
  readonly code:
    | EnrollRejectCause
    | 'connect_failed'
    | 'timeout'
    | 'closed'
    | 'bad_response'
    | 'server_identity';
  constructor(code: EnrollmentError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

export interface EnrollmentPolicy {
  ca: TestbedCa;
  secret: EnrollmentSecret;
  /** Roles that may enroll (default: any valid role). */
  allowedRoles?: readonly string[];
  /** Validity of issued certificates (days, default 7). */
  validityDays?: number;
  /** Called after a certificate is issued (e.g. to record serials for revocation). */
  onEnrolled?: (info: { nodeId: string; role: string; serialNumber: string; certPem: string }) => void;
  metrics?: Pc3MetricsSink;
  /** Bad tokens accepted per minute before every request is answered rate_limited for the rest of the minute (default 120). */
  maxBadTokensPerMinute?: number;
}

/**
 * The KMS side of enrollment, transport-independent: checks the token in constant time and issues a certificate.
 * Counts pc3_enrollments_total {result, cause}.
 */
export function createEnrollmentHandler(
  policy: EnrollmentPolicy,
): (req: Pc3Body<'enroll_request'>) => Promise<Pc3Reply<'enroll_accept' | 'enroll_reject'>> {
  const metrics = policy.metrics ?? NOOP_METRICS;
  const secret = secretBytes(policy.secret);
  const maxBad = policy.maxBadTokensPerMinute ?? 120;
  let windowStart = Date.now();
  let badInWindow = 0;
  const reject = (cause: EnrollRejectCause, detail: string): Pc3Reply<'enroll_reject'> => {
    metrics.inc('pc3_enrollments_total', { result: 'rejected', cause });
    return { type: 'enroll_reject', body: { cause, detail } };
  };
  return async (req) => {
    const now = Date.now();
    if (now - windowStart >= 60_000) {
      windowStart = now;
      badInWindow = 0;
    }
    if (badInWindow >= maxBad) return reject('rate_limited', 'too many failed enrollments; retry later');
    if (!verifyEnrollmentToken(secret, req.role, req.nodeId, req.token)) {
      badInWindow++;
      return reject('bad_token', `enrollment token does not match node ${req.nodeId} (role ${req.role})`);
    }
    if (policy.allowedRoles && !policy.allowedRoles.includes(req.role)) {
      return reject('not_allowed', `role ${req.role} may not enroll`);
    }
    let certPem: string;
    try {
      certPem = await (await caOps()).issueNodeCertificate(policy.ca, {
        nodeId: req.nodeId,
        role: req.role,
        publicKeyPem: req.publicKeyPem,
        ...(policy.validityDays !== undefined ? { validityDays: policy.validityDays } : {}),
      });
    } catch (e) {
      if (e instanceof PkiError) return reject('bad_key', e.message);
      throw e;
    }
    const serialNumber = new NodeX509Certificate(certPem).serialNumber.toUpperCase();
    metrics.inc('pc3_enrollments_total', { result: 'ok', cause: 'none' });
    policy.onEnrolled?.({ nodeId: req.nodeId, role: req.role, serialNumber, certPem });
    return { type: 'enroll_accept', body: { certPem, caCertPem: policy.ca.certPem } };
  };
}

export interface EnrollmentServerOptions extends EnrollmentPolicy {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** The KMS's own TLS certificate and key; default: issued now from `ca` for node 'kms', role 'kms'. */
  certPem?: string;
  keyPem?: string;
  logger?: Pc3Logger;
  /** Per-connection deadline for the whole exchange (default 10 s). */
  requestTimeoutMs?: number;
}

export interface EnrollmentServer {
  port: number;
  host: string;
  /** The server's certificate (clients verify it against the CA). */
  certPem: string;
  close(): Promise<void>;
}

/**
 * Starts the KMS enrollment endpoint: TLS 1.3, server-authenticated only (the node has no certificate yet),
 * one enroll_request per connection, answered enroll_accept / enroll_reject / error, then closed.
 */
export async function startEnrollmentServer(opts: EnrollmentServerOptions): Promise<EnrollmentServer> {
  const metrics = opts.metrics ?? NOOP_METRICS;
  const log = opts.logger ?? NOOP_LOGGER;
  const handle = createEnrollmentHandler(opts);
  let certPem = opts.certPem;
  let keyPem = opts.keyPem;
  if (!certPem || !keyPem) {
    ({ certPem, keyPem } = await (await caOps()).createNodeCredentials(opts.ca, {
      nodeId: 'kms',
      role: 'kms',
    }));
  }
  const conns = new Set<FramedSocket>();
  const server = tls.createServer({
    cert: certPem,
    key: keyPem,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    requestCert: false,
    handshakeTimeout: 10_000,
  });
  server.on('tlsClientError', (err: Error & { code?: string }, socket) => {
    log.debug({ code: err.code }, 'enrollment handshake failed');
    socket.destroy();
  });
  const rawSockets = new Set<Socket>();
  server.on('connection', (raw: Socket) => {
    rawSockets.add(raw);
    raw.once('close', () => rawSockets.delete(raw));
  });
  server.on('secureConnection', (socket) => {
    let answered = false;
    const deadline = setTimeout(() => conn.destroy('idle_timeout'), opts.requestTimeoutMs ?? 10_000);
    deadline.unref();
    const answer = (msg: Pc3Message) => {
      answered = true;
      try {
        conn.send(msg);
      } finally {
        conn.close('local_close');
      }
    };
    const conn: FramedSocket = new FramedSocket(
      socket,
      {
        onMessage: (msg) => {
          if (answered) return;
          if (msg.type !== 'enroll_request') {
            answer(
              makeMessage('error', msg.id, {
                cause: 'unexpected_message',
                detail: 'expected enroll_request',
              }),
            );
            return;
          }
          answered = true;
          handle(msg.body).then(
            (reply) => {
              if (reply.type === 'enroll_reject') {
                log.info(
                  { nodeId: msg.body.nodeId, role: msg.body.role, cause: reply.body.cause },
                  'enrollment rejected',
                );
              } else {
                log.info({ nodeId: msg.body.nodeId, role: msg.body.role }, 'node enrolled');
              }
              answer(makeMessage(reply.type, msg.id, reply.body as never));
            },
            (e: unknown) => {
              log.warn({ error: e instanceof Error ? e.name : typeof e }, 'enrollment failed');
              answer(
                makeMessage('error', msg.id, {
                  cause: 'internal',
                  detail: 'enrollment could not be handled',
                }),
              );
            },
          );
        },
        onInvalid: (err) => {
          if (answered) return;
          metrics.inc('pc3_enrollments_total', { result: 'rejected', cause: 'malformed' });
          const detail = `${err.path ? `${err.path}: ` : ''}${err.reason}`;
          answer(
            err.type === 'enroll_request'
              ? makeMessage('enroll_reject', err.id ?? 0, { cause: 'malformed', detail })
              : makeMessage('error', err.id ?? 0, { cause: err.code, detail }),
          );
        },
        onFramingError: (err) => {
          metrics.inc('pc3_protocol_errors_total', { cause: err.code });
        },
        onClose: () => {
          clearTimeout(deadline);
          conns.delete(conn);
        },
      },
      { maxMessageBytes: ENROLL_MAX_MESSAGE_BYTES },
    );
    conns.add(conn);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    port: addr.port,
    host: addr.address,
    certPem,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of conns) c.destroy('local_close');
      for (const raw of rawSockets) raw.destroy();
      await closed;
    },
  };
}

export interface EnrollOptions {
  host: string;
  port: number;
  /** The testbed CA certificate (from the orchestrator), used to verify the KMS and the issued certificate. */
  caCertPem: string;
  nodeId: string;
  role: string;
  /** This node's enrollment token (from the orchestrator). */
  token: string;
  /** Default 'localhost'. */
  servername?: string;
  /** Role the KMS certificate must name (default 'kms'; null to skip the check). */
  expectedServerRole?: string | null;
  /** Whole-exchange deadline (default 20 s). */
  timeoutMs?: number;
}

function fingerprint(pem: string): string {
  return createHash('sha256').update(new NodeX509Certificate(pem).raw).digest('hex');
}

/**
 * Node side: generates a P-256 key pair, sends {nodeId, role, publicKeyPem, token} to the KMS over TLS
 * (verifying the KMS certificate against caCertPem), checks the issued certificate (issuer, key, identity)
 * and returns it with the private key. Throws EnrollmentError.
 */
export async function enroll(
  opts: EnrollOptions,
): Promise<{ certPem: string; privateKeyPem: string; caCertPem: string }> {
  checkNodeId(opts.nodeId);
  checkRole(opts.role);
  if (typeof opts.token !== 'string' || !/^[0-9a-f]{64}$/.test(opts.token)) {
    // Never echo the token, even a malformed one.
    throw new EnrollmentError('malformed', 'enrollment token must be 64 lower-case hex digits');
  }
  const keys = generateNodeKeyPair();
  const expectedRole = opts.expectedServerRole === undefined ? 'kms' : opts.expectedServerRole;
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const reply = await new Promise<Pc3Message>((resolve, reject) => {
    let settled = false;
    let conn: FramedSocket | undefined;
    const finish = (err: EnrollmentError | undefined, msg?: Pc3Message) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (conn) conn.close('local_close');
      else socket.destroy();
      if (err) reject(err);
      else resolve(msg!);
    };
    const socket = tls.connect({
      host: opts.host,
      port: opts.port,
      servername: opts.servername ?? 'localhost',
      ca: opts.caCertPem,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
    });
    const timer = setTimeout(
      () => finish(new EnrollmentError('timeout', `enrollment with ${opts.host}:${opts.port} timed out`)),
      timeoutMs,
    );
    socket.on('error', (err: Error & { code?: string }) => {
      if (!conn) {
        finish(
          new EnrollmentError(
            'connect_failed',
            `enrollment TLS connection to ${opts.host}:${opts.port} failed: ${err.code ?? err.name}`,
          ),
        );
      }
    });
    socket.once('close', () => {
      if (!conn)
        finish(new EnrollmentError('connect_failed', 'enrollment connection closed during the handshake'));
    });
    socket.once('secureConnect', () => {
      if (expectedRole !== null) {
        let role: string | undefined;
        try {
          const cert = socket.getPeerX509Certificate();
          role = cert ? parseNodeIdentity(cert).role : undefined;
        } catch {
          role = undefined;
        }
        if (role !== expectedRole) {
          finish(new EnrollmentError('server_identity', `enrollment server is not a ${expectedRole}`));
          return;
        }
      }
      conn = new FramedSocket(
        socket,
        {
          onMessage: (msg) => finish(undefined, msg),
          onInvalid: (err) =>
            finish(new EnrollmentError('bad_response', `invalid enrollment response: ${err.message}`)),
          onFramingError: (err) => finish(new EnrollmentError('bad_response', err.message)),
          onClose: (reason) =>
            finish(
              new EnrollmentError('closed', `enrollment connection closed before a response (${reason})`),
            ),
        },
        { maxMessageBytes: ENROLL_MAX_MESSAGE_BYTES },
      );
      try {
        conn.send(
          makeMessage('enroll_request', 1, {
            nodeId: opts.nodeId,
            role: opts.role,
            publicKeyPem: keys.publicKeyPem,
            token: opts.token,
          }),
        );
      } catch {
        finish(new EnrollmentError('malformed', 'enrollment request failed validation'));
      }
    });
  });

  if (reply.type === 'enroll_reject') {
    throw new EnrollmentError(
      reply.body.cause,
      `KMS rejected enrollment: ${reply.body.cause}: ${reply.body.detail}`,
    );
  }
  if (reply.type === 'error') {
    throw new EnrollmentError('bad_response', `KMS answered error ${reply.body.cause}: ${reply.body.detail}`);
  }
  if (reply.type !== 'enroll_accept') {
    throw new EnrollmentError('bad_response', `unexpected enrollment response ${reply.type}`);
  }
  const { certPem } = reply.body;
  try {
    const cert = new NodeX509Certificate(certPem);
    const ca = new NodeX509Certificate(opts.caCertPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) throw new Error('issuer');
    const certKey = cert.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    if (certKey !== keys.publicKeyPem) throw new Error('key');
    const id = parseNodeIdentity(cert);
    if (id.nodeId !== opts.nodeId || id.role !== opts.role) throw new Error('identity');
    if (fingerprint(reply.body.caCertPem) !== fingerprint(opts.caCertPem)) throw new Error('ca');
  } catch (e) {
    const what = e instanceof Error ? e.message : 'parse';
    throw new EnrollmentError('bad_response', `issued certificate failed the check (${what})`);
  }
  return { certPem, privateKeyPem: keys.privateKeyPem, caCertPem: opts.caCertPem };
}
