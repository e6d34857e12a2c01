// PC3 client (UE side): one reused TLS 1.3 connection with a client certificate; requests matched by id.
import tls from 'node:tls';
import { type CloseReason, FramedSocket } from './connection.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './framing.js';
import { type NodeIdentity, parseNodeIdentity } from './identity.js';
import { MAX_MESSAGE_ID, makeMessage, type Pc3Body, type Pc3Message, type Pc3Type } from './messages.js';
import { NOOP_METRICS, type Pc3MetricsSink } from './metrics.js';

export type Pc3RequestErrorCode =
  | 'timeout' // no response within timeoutMs
  | 'closed' // the connection closed before the response (includes a server that refused our certificate)
  | 'connect_failed' // TCP/TLS connection could not be established
  | 'server_identity' // the server's certificate does not name the expected role/node
  | 'invalid_request'; // the request itself failed validation or is too big

export class Pc3RequestError extends Error {
  override readonly name = 'Pc3RequestError';
  readonly code: Pc3RequestErrorCode;
  constructor(code: Pc3RequestErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface Pc3ClientOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  caCertPem: string;
  /** Name checked against the server certificate's SAN (default 'localhost'; every testbed cert has it). */
  servername?: string;
  /** Also require the server certificate to name this role and/or node (e.g. { role: 'prose-function' }). */
  expectedServer?: Partial<NodeIdentity>;
  maxMessageBytes?: number;
  /** Default 5,000 ms. */
  connectTimeoutMs?: number;
  /** Local address to connect from (e.g. 127.0.0.2 on loopback: another host's traffic); default: any. */
  localAddress?: string;
  /** Default request timeout (5,000 ms). */
  timeoutMs?: number;
  /** Messages from the server that answer no pending request (server pushes, late responses). */
  onUnsolicited?: (msg: Pc3Message) => void;
  metrics?: Pc3MetricsSink;
}

interface Pending {
  resolve(msg: Pc3Message): void;
  reject(err: Pc3RequestError): void;
  timer: NodeJS.Timeout;
  type: string;
}

export class Pc3Client {
  private readonly opts: Pc3ClientOptions;
  private readonly metrics: Pc3MetricsSink;
  private conn: FramedSocket | undefined;
  private connecting: Promise<FramedSocket> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closedByUser = false;
  private serverId: NodeIdentity | undefined;
  private secureContext: tls.SecureContext | undefined;

  constructor(opts: Pc3ClientOptions) {
    this.opts = opts;
    this.metrics = opts.metrics ?? NOOP_METRICS;
  }

  /** Identity of the server from its certificate (after connect). */
  get serverIdentity(): NodeIdentity | undefined {
    return this.serverId;
  }

  get connected(): boolean {
    return this.conn !== undefined && !this.conn.closed;
  }

  /** Connects (or returns the existing connection). Requests connect on demand, also after a connection loss. */
  async connect(): Promise<void> {
    await this.ensureConnected();
  }

  private ensureConnected(): Promise<FramedSocket> {
    this.closedByUser = false;
    if (this.conn && !this.conn.closed) return Promise.resolve(this.conn);
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private open(): Promise<FramedSocket> {
    const o = this.opts;
    return new Promise<FramedSocket>((resolve, reject) => {
      // One SecureContext per client: building it (parsing key, certificate, CA) costs milliseconds.
      try {
        this.secureContext ??= tls.createSecureContext({
          cert: o.certPem,
          key: o.keyPem,
          ca: o.caCertPem,
          minVersion: 'TLSv1.3',
          maxVersion: 'TLSv1.3',
        });
      } catch {
        reject(
          new Pc3RequestError('connect_failed', 'PC3 client certificate, key or CA certificate is invalid'),
        );
        return;
      }
      const socket = tls.connect({
        host: o.host,
        port: o.port,
        servername: o.servername ?? 'localhost',
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
        secureContext: this.secureContext,
        minVersion: 'TLSv1.3',
        maxVersion: 'TLSv1.3',
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Pc3RequestError('connect_failed', `PC3 connect to ${o.host}:${o.port} timed out`));
      }, o.connectTimeoutMs ?? 5000);
      const onError = (err: Error & { code?: string }) => {
        clearTimeout(timer);
        socket.destroy();
        reject(
          new Pc3RequestError(
            'connect_failed',
            `PC3 connect to ${o.host}:${o.port} failed: ${err.code ?? err.name}`,
          ),
        );
      };
      const onEarlyClose = () => {
        clearTimeout(timer);
        reject(
          new Pc3RequestError(
            'connect_failed',
            `PC3 connection to ${o.host}:${o.port} closed during the handshake`,
          ),
        );
      };
      socket.on('error', onError);
      socket.once('close', onEarlyClose);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.off('close', onEarlyClose);
        let id: NodeIdentity;
        try {
          const cert = socket.getPeerX509Certificate();
          if (!cert) throw new Error('no certificate');
          id = parseNodeIdentity(cert);
          const exp = o.expectedServer;
          if ((exp?.role && exp.role !== id.role) || (exp?.nodeId && exp.nodeId !== id.nodeId)) {
            throw new Error('mismatch');
          }
        } catch {
          socket.destroy();
          reject(
            new Pc3RequestError('server_identity', 'PC3 server certificate does not name the expected node'),
          );
          return;
        }
        this.serverId = id;
        const conn = new FramedSocket(
          socket,
          {
            onMessage: (msg) => this.onMessage(msg),
            // The server sent something invalid: it cannot be matched reliably; drop the connection.
            onInvalid: () => conn.close('protocol_error'),
            onFramingError: () => {},
            onClose: (reason) => this.onClose(conn, reason),
          },
          { maxMessageBytes: o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, metrics: this.metrics },
        );
        this.conn = conn;
        resolve(conn);
      });
    });
  }

  private onMessage(msg: Pc3Message): void {
    const p = this.pending.get(msg.id);
    if (!p) {
      this.opts.onUnsolicited?.(msg);
      return;
    }
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    this.metrics.inc('pc3_client_requests_total', { type: p.type, result: 'ok' });
    p.resolve(msg);
  }

  private onClose(conn: FramedSocket, reason: CloseReason): void {
    if (this.conn === conn) this.conn = undefined;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      this.metrics.inc('pc3_client_requests_total', { type: p.type, result: 'closed' });
      p.reject(new Pc3RequestError('closed', `PC3 connection closed before the response (${reason})`));
    }
  }

  private allocateId(): number {
    // Bounded: at most pending.size + 1 probes.
    for (let i = 0; i <= this.pending.size; i++) {
      const id = this.nextId;
      this.nextId = this.nextId >= MAX_MESSAGE_ID ? 1 : this.nextId + 1;
      if (!this.pending.has(id)) return id;
    }
    throw new Pc3RequestError('invalid_request', 'no free request id');
  }

  /**
   * Sends a request and resolves with the server's response with the same id (which may be an `error` or
   * `*_reject` message: inspect `type`). Rejects with Pc3RequestError on timeout, connection loss or invalid input.
   */
  async request<T extends Pc3Type>(
    type: T,
    body: Pc3Body<T>,
    opts: { timeoutMs?: number } = {},
  ): Promise<Pc3Message> {
    const conn = await this.ensureConnected();
    const id = this.allocateId();
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs ?? 5000;
    return new Promise<Pc3Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.metrics.inc('pc3_client_requests_total', { type, result: 'timeout' });
        reject(new Pc3RequestError('timeout', `PC3 ${type} got no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, type });
      let sent: boolean;
      try {
        sent = conn.send(makeMessage(type, id, body));
      } catch (e) {
        this.pending.delete(id);
        clearTimeout(timer);
        this.metrics.inc('pc3_client_requests_total', { type, result: 'send_failed' });
        reject(new Pc3RequestError('invalid_request', e instanceof Error ? e.message : 'invalid request'));
        return;
      }
      if (!sent && this.pending.delete(id)) {
        clearTimeout(timer);
        this.metrics.inc('pc3_client_requests_total', { type, result: 'closed' });
        reject(new Pc3RequestError('closed', 'PC3 connection is closed'));
      }
    });
  }

  /** Closes the connection gracefully; pending requests are rejected ('closed'). */
  async close(): Promise<void> {
    this.closedByUser = true;
    const conn = this.conn ?? (await this.connecting?.catch(() => undefined));
    if (!conn || conn.closed) return;
    await new Promise<void>((resolve) => {
      conn.socket.once('close', () => resolve());
      conn.close('local_close');
    });
  }

  /** True after close() until the next connect()/request(). */
  get isClosed(): boolean {
    return this.closedByUser;
  }
}
