// PC3 server (ProSe Function side): TLS 1.3 with mutual certificate authentication (TR 33.833 solution #6.1),
// length-prefixed validated messages, one handler call per request.
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import tls from 'node:tls';
import { type CloseReason, FramedSocket } from './connection.js';
import { DEFAULT_MAX_MESSAGE_BYTES, type FramingError } from './framing.js';
import { parseNodeIdentity } from './identity.js';
import type { ErrorCause, Pc3Body, Pc3Message, Pc3MessageError, Pc3Reply, Pc3Type } from './messages.js';
import { encodeMessage, makeMessage } from './messages.js';
import { NOOP_LOGGER, NOOP_METRICS, type Pc3Logger, type Pc3MetricsSink } from './metrics.js';

/** Who is on the other end of a PC3 connection, from its (CA-verified) certificate. */
export interface Pc3Peer {
  nodeId: string;
  role: string;
  remoteAddress: string;
  remotePort: number;
  /** Serial of the peer certificate (upper-case hex), e.g. to revoke it. */
  serialNumber: string;
}

export type Pc3Handler = (
  msg: Pc3Message,
  peer: Pc3Peer,
) => Promise<Pc3Reply | Pc3Message | undefined> | Pc3Reply | Pc3Message | undefined;

export type HandshakeFailure =
  | 'no_certificate'
  | 'bad_certificate'
  | 'revoked'
  | 'role_not_allowed'
  | 'protocol'
  | 'other';

export interface Pc3ServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  certPem: string;
  keyPem: string;
  caCertPem: string;
  crlPem?: string;
  handler: Pc3Handler;
  /** Message types handed to the handler; others are answered `error unexpected_message` (default: all). */
  acceptTypes?: readonly Pc3Type[];
  /** Roles allowed to connect (default: any role with a CA-issued certificate). */
  allowedRoles?: readonly string[];
  metrics?: Pc3MetricsSink;
  logger?: Pc3Logger;
  /** Largest message body in either direction (default 1 MiB). */
  maxMessageBytes?: number;
  /** Requests being handled at once on one connection; more are answered `error rate_limited` (default 32). */
  maxInFlightPerConnection?: number;
  /** Invalid messages tolerated on one connection before it is closed (default 8). */
  maxInvalidPerConnection?: number;
  maxConnections?: number;
  /** TLS handshake deadline (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Close connections idle this long (default 0 = never). */
  idleTimeoutMs?: number;
  /** Admission check on each new TCP connection, before the TLS handshake (e.g. a per-address rate limit). */
  admitConnection?: (remoteAddress: string | undefined) => boolean;
}

/** Maps a TLS client error to a counted handshake failure reason. */
export function classifyHandshakeError(
  err: Error & { code?: string },
  authorizationError: string | undefined,
): HandshakeFailure {
  if (authorizationError === 'CERT_REVOKED') return 'revoked';
  if (authorizationError) return 'bad_certificate';
  const code = err.code ?? '';
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return 'no_certificate';
  if (code.startsWith('ERR_SSL')) return 'protocol';
  return 'other';
}

export class Pc3Server {
  private readonly opts: Pc3ServerOptions;
  private readonly metrics: Pc3MetricsSink;
  private readonly log: Pc3Logger;
  private readonly maxMessageBytes: number;
  private readonly server: tls.Server;
  /** Accepts TCP connections and hands the admitted ones to the TLS server (which never listens itself). */
  private readonly tcp: Server;
  private readonly conns = new Map<FramedSocket, Pc3Peer>();
  private readonly rawSockets = new Set<Socket>();
  private listening = false;

  constructor(opts: Pc3ServerOptions) {
    this.opts = opts;
    this.metrics = opts.metrics ?? NOOP_METRICS;
    this.log = opts.logger ?? NOOP_LOGGER;
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.server = tls.createServer({
      ...this.secureContextOptions(opts.crlPem),
      requestCert: true,
      rejectUnauthorized: true,
      handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000,
    });
    this.server.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
      // @types/node declares authorizationError as Error; at run time it is the OpenSSL code string.
      const authErr = socket.authorizationError ? String(socket.authorizationError) : undefined;
      const reason = classifyHandshakeError(err, authErr);
      this.metrics.inc('pc3_handshakes_total', { result: 'failed', reason });
      this.log.debug(
        { reason, code: err.code, authorizationError: authErr, remote: socket.remoteAddress },
        'pc3 handshake failed',
      );
      socket.destroy();
    });
    this.server.on('secureConnection', (socket) => this.onSecureConnection(socket));
    // Admission happens on the TCP server, so a refused connection never reaches TLS: it is counted as
    // result "refused", not as a failed handshake. Admitted sockets are injected into the TLS server (the documented
    // 'connection' injection of tls.Server). Raw sockets, including those still in the handshake, are tracked so
    // close() can end them all.
    this.tcp = createTcpServer((raw: Socket) => {
      if (opts.admitConnection && !opts.admitConnection(raw.remoteAddress)) {
        this.metrics.inc('pc3_handshakes_total', { result: 'refused', reason: 'throttled' });
        raw.destroy(); // refused before any handshake work
        return;
      }
      this.rawSockets.add(raw);
      raw.once('close', () => this.rawSockets.delete(raw));
      this.server.emit('connection', raw);
    });
    if (opts.maxConnections !== undefined) this.tcp.maxConnections = opts.maxConnections;
    for (const s of [this.tcp, this.server])
      s.on('error', (err) => this.log.warn({ code: (err as { code?: string }).code }, 'pc3 server error'));
  }

  private secureContextOptions(crlPem: string | undefined): tls.SecureContextOptions {
    return {
      cert: this.opts.certPem,
      key: this.opts.keyPem,
      ca: this.opts.caCertPem,
      ...(crlPem ? { crl: crlPem } : {}),
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
    };
  }

  /** Starts listening; resolves with the bound port. */
  listen(): Promise<{ port: number; host: string }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.tcp.once('error', onError);
      this.tcp.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => {
        this.tcp.off('error', onError);
        this.listening = true;
        const a = this.tcp.address() as AddressInfo;
        resolve({ port: a.port, host: a.address });
      });
    });
  }

  /** Bound port (after listen). */
  get port(): number {
    return (this.tcp.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Open PC3 connections. */
  get connectionCount(): number {
    return this.conns.size;
  }

  /** Replaces the CRL for new handshakes (existing connections are not re-checked). */
  setCrl(crlPem: string | undefined): void {
    this.server.setSecureContext(this.secureContextOptions(crlPem));
  }

  /** Peers of the open connections. */
  peers(): Pc3Peer[] {
    return [...this.conns.values()];
  }

  /**
   * Closes the open connections whose peer matches (e.g. certificates just revoked with setCrl, which only
   * applies to new handshakes). Returns how many were closed.
   */
  disconnect(match: (peer: Pc3Peer) => boolean): number {
    let n = 0;
    for (const [conn, peer] of this.conns) {
      if (match(peer)) {
        conn.close('local_close');
        n++;
      }
    }
    return n;
  }

  /**
   * Sends an unsolicited message (id 0, which clients never use for requests) to the open connections whose peer
   * matches; Pc3Client hands it to `onUnsolicited`. Returns how many were sent. Throws Pc3MessageError if invalid.
   */
  push<T extends Pc3Type>(match: (peer: Pc3Peer) => boolean, type: T, body: Pc3Body<T>): number {
    const msg = makeMessage(type, 0, body);
    encodeMessage(msg); // validate once, before sending to anyone
    let n = 0;
    for (const [conn, peer] of this.conns) {
      if (match(peer) && conn.send(msg)) {
        this.metrics.inc('pc3_messages_total', { direction: 'out', type, result: 'ok' });
        n++;
      }
    }
    return n;
  }

  /** Stops accepting, closes every connection gracefully (destroying stragglers after graceMs), resolves when done. */
  async close(graceMs = 1000): Promise<void> {
    const closed = this.listening
      ? new Promise<void>((resolve) => this.tcp.close(() => resolve()))
      : Promise.resolve();
    this.listening = false;
    for (const c of this.conns.keys()) c.close('local_close');
    const t = setTimeout(() => {
      for (const c of this.conns.keys()) c.destroy('local_close');
      for (const raw of this.rawSockets) raw.destroy();
    }, graceMs);
    await closed;
    clearTimeout(t);
  }

  private onSecureConnection(socket: tls.TLSSocket): void {
    // rejectUnauthorized already refused unverified clients; this is belt and braces.
    if (!socket.authorized) {
      this.metrics.inc('pc3_handshakes_total', { result: 'failed', reason: 'bad_certificate' });
      socket.destroy();
      return;
    }
    let peer: Pc3Peer;
    try {
      // getPeerX509Certificate is several times cheaper than the getPeerCertificate() object.
      const cert = socket.getPeerX509Certificate();
      if (!cert) throw new Error('no certificate');
      const id = parseNodeIdentity(cert);
      peer = {
        ...id,
        remoteAddress: socket.remoteAddress ?? '',
        remotePort: socket.remotePort ?? 0,
        serialNumber: cert.serialNumber.toUpperCase(),
      };
    } catch {
      this.metrics.inc('pc3_handshakes_total', { result: 'failed', reason: 'bad_certificate' });
      socket.destroy();
      return;
    }
    if (this.opts.allowedRoles && !this.opts.allowedRoles.includes(peer.role)) {
      this.metrics.inc('pc3_handshakes_total', { result: 'failed', reason: 'role_not_allowed' });
      this.log.debug({ nodeId: peer.nodeId, role: peer.role }, 'pc3 role not allowed');
      socket.destroy();
      return;
    }
    this.metrics.inc('pc3_handshakes_total', { result: 'ok', reason: 'none' });
    this.attach(socket, peer);
  }

  private attach(socket: tls.TLSSocket, peer: Pc3Peer): void {
    const maxInFlight = this.opts.maxInFlightPerConnection ?? 32;
    const maxInvalid = this.opts.maxInvalidPerConnection ?? 8;
    let inFlight = 0;
    let invalid = 0;
    const sendError = (id: number, cause: ErrorCause, detail: string): void => {
      try {
        if (conn.send(makeMessage('error', id, { cause, detail }))) {
          this.metrics.inc('pc3_messages_total', { direction: 'out', type: 'error', result: 'ok' });
        }
      } catch {
        // an error reply is always valid; nothing else to do
      }
    };
    const conn: FramedSocket = new FramedSocket(
      socket,
      {
        onMessage: (msg) => {
          if (this.opts.acceptTypes && !this.opts.acceptTypes.includes(msg.type)) {
            this.metrics.inc('pc3_messages_total', { direction: 'in', type: msg.type, result: 'unexpected' });
            sendError(msg.id, 'unexpected_message', `${msg.type} is not a request this server accepts`);
            return;
          }
          if (inFlight >= maxInFlight) {
            this.metrics.inc('pc3_messages_total', {
              direction: 'in',
              type: msg.type,
              result: 'rate_limited',
            });
            sendError(msg.id, 'rate_limited', `more than ${maxInFlight} requests in flight`);
            return;
          }
          this.metrics.inc('pc3_messages_total', { direction: 'in', type: msg.type, result: 'ok' });
          inFlight++;
          void this.dispatch(conn, msg, peer)
            .catch(() => undefined) // dispatch handles handler errors; this guards against a throwing logger
            .finally(() => {
              inFlight--;
            });
        },
        onInvalid: (err: Pc3MessageError) => {
          invalid++;
          const type = err.type ?? 'unknown';
          this.metrics.inc('pc3_messages_total', { direction: 'in', type, result: err.code });
          this.metrics.inc('pc3_protocol_errors_total', { cause: err.code });
          this.log.debug({ nodeId: peer.nodeId, code: err.code, path: err.path }, 'pc3 invalid message');
          sendError(err.id ?? 0, err.code, `${err.path ? `${err.path}: ` : ''}${err.reason}`);
          if (invalid >= maxInvalid) {
            this.metrics.inc('pc3_protocol_errors_total', { cause: 'too_many_errors' });
            conn.close('protocol_error');
          }
        },
        onFramingError: (err: FramingError) => {
          this.metrics.inc('pc3_protocol_errors_total', { cause: err.code });
          this.log.debug({ nodeId: peer.nodeId, code: err.code }, 'pc3 framing error');
          if (err.code === 'oversize') sendError(0, 'oversize', err.message);
        },
        onClose: (reason: CloseReason, errorCode) => {
          this.conns.delete(conn);
          this.metrics.inc('pc3_connections_closed_total', { reason });
          if (reason === 'tls_error' || reason === 'socket_error') {
            this.log.info({ nodeId: peer.nodeId, reason, code: errorCode }, 'pc3 connection failed');
          }
        },
      },
      {
        maxMessageBytes: this.maxMessageBytes,
        idleTimeoutMs: this.opts.idleTimeoutMs ?? 0,
        metrics: this.metrics,
      },
    );
    this.conns.set(conn, peer);
  }

  private async dispatch(conn: FramedSocket, msg: Pc3Message, peer: Pc3Peer): Promise<void> {
    let reply: Pc3Reply | Pc3Message | undefined;
    try {
      reply = await this.opts.handler(msg, peer);
    } catch (e) {
      this.metrics.inc('pc3_messages_total', { direction: 'in', type: msg.type, result: 'handler_error' });
      this.log.warn(
        { nodeId: peer.nodeId, type: msg.type, error: e instanceof Error ? e.name : typeof e },
        'pc3 handler failed',
      );
      reply = { type: 'error', body: { cause: 'internal', detail: 'request could not be handled' } };
    }
    if (!reply || conn.closed) return;
    try {
      if (conn.send(makeMessage(reply.type, msg.id, reply.body as never))) {
        this.metrics.inc('pc3_messages_total', { direction: 'out', type: reply.type, result: 'ok' });
      }
    } catch (e) {
      // The handler produced an invalid reply: a bug on this side. Answer with a generic error.
      this.metrics.inc('pc3_messages_total', { direction: 'out', type: reply.type, result: 'handler_error' });
      this.log.warn(
        { nodeId: peer.nodeId, type: reply.type, error: e instanceof Error ? e.message : typeof e },
        'pc3 handler reply invalid',
      );
      try {
        conn.send(
          makeMessage('error', msg.id, { cause: 'internal', detail: 'request could not be handled' }),
        );
      } catch {
        // cannot happen: the error reply is valid
      }
    }
  }
}
