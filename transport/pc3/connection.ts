// One PC3 connection: a TLS socket carrying length-prefixed, validated messages (shared by server and client).
import type { TLSSocket } from 'node:tls';
import { encodeFrame, FrameDecoder, FramingError } from './framing.js';
import { decodeMessage, encodeMessage, type Pc3Message, Pc3MessageError } from './messages.js';
import type { Pc3MetricsSink } from './metrics.js';

export type CloseReason =
  | 'peer_closed'
  | 'tls_error'
  | 'protocol_error'
  | 'local_close'
  | 'socket_error'
  | 'idle_timeout';

export interface FramedSocketEvents {
  /** A valid message. */
  onMessage(msg: Pc3Message): void;
  /** A well-framed body that failed validation: the stream is still in sync. */
  onInvalid(err: Pc3MessageError): void;
  /** A framing violation (oversize, truncated): the connection is being closed. */
  onFramingError(err: FramingError): void;
  /** Called once when the socket is closed; `errorCode` is the socket/TLS error code, if any (never a secret). */
  onClose(reason: CloseReason, errorCode: string | undefined): void;
}

export interface FramedSocketOptions {
  maxMessageBytes: number;
  /** Queued outgoing octets above which the peer is considered not reading and the socket is destroyed. */
  maxWriteBacklog?: number;
  /** Milliseconds of inactivity after which the connection is closed (0 = never). */
  idleTimeoutMs?: number;
  /** Time given to a graceful close before the socket is destroyed (ms, default 1000). */
  closeGraceMs?: number;
  /** Counts PC3 frames and octets (length prefix + message) per direction, when given. */
  metrics?: Pc3MetricsSink;
}

export class FramedSocket {
  readonly socket: TLSSocket;
  private readonly decoder: FrameDecoder;
  private readonly ev: FramedSocketEvents;
  private readonly maxMessageBytes: number;
  private readonly maxWriteBacklog: number;
  private readonly closeGraceMs: number;
  private reason: CloseReason | undefined;
  private errorCode: string | undefined;
  private reading = true;
  private closedFlag = false;
  private readonly metrics: Pc3MetricsSink | undefined;

  constructor(socket: TLSSocket, ev: FramedSocketEvents, opts: FramedSocketOptions) {
    this.socket = socket;
    this.ev = ev;
    this.maxMessageBytes = opts.maxMessageBytes;
    this.decoder = new FrameDecoder(opts.maxMessageBytes);
    this.maxWriteBacklog = opts.maxWriteBacklog ?? 8 * opts.maxMessageBytes + (1 << 20);
    this.closeGraceMs = opts.closeGraceMs ?? 1000;
    this.metrics = opts.metrics;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (err: Error & { code?: string }) => {
      this.errorCode ??= typeof err.code === 'string' ? err.code : 'UNKNOWN';
      this.reason ??= this.errorCode.startsWith('ERR_SSL') ? 'tls_error' : 'socket_error';
      this.reading = false;
      // node:tls emits record-layer errors (bad_record_mac) without destroying the socket: do it here.
      socket.destroy();
    });
    socket.on('close', () => {
      this.closedFlag = true;
      this.ev.onClose(this.reason ?? 'peer_closed', this.errorCode);
    });
    if (opts.idleTimeoutMs && opts.idleTimeoutMs > 0) {
      socket.setTimeout(opts.idleTimeoutMs, () => this.close('idle_timeout'));
    }
  }

  get closed(): boolean {
    return this.closedFlag || this.socket.destroyed;
  }

  /** Encodes, frames and writes one message. Throws Pc3MessageError/FramingError if it is invalid or too big. */
  send(msg: Pc3Message): boolean {
    if (this.closed || this.reason !== undefined) return false;
    const frame = encodeFrame(encodeMessage(msg), this.maxMessageBytes);
    this.socket.write(frame);
    this.metrics?.inc('pc3_frames_sent_total', {});
    this.metrics?.inc('pc3_sent_bytes_total', {}, frame.length);
    if (this.socket.writableLength > this.maxWriteBacklog) {
      this.destroy('protocol_error');
      return false;
    }
    return true;
  }

  /** Graceful close (TLS close_notify + FIN), then destroy after the grace period. */
  close(reason: CloseReason): void {
    this.reading = false;
    this.reason ??= reason;
    if (this.closed) return;
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), this.closeGraceMs);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }

  destroy(reason: CloseReason): void {
    this.reading = false;
    this.reason ??= reason;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (!this.reading) return;
    let bodies: Buffer[];
    try {
      this.metrics?.inc('pc3_received_bytes_total', {}, chunk.length);
      bodies = this.decoder.push(chunk);
      if (bodies.length > 0) this.metrics?.inc('pc3_frames_received_total', {}, bodies.length);
    } catch (e) {
      this.reading = false;
      if (e instanceof FramingError) {
        this.ev.onFramingError(e); // may still send a last error message
        this.close('protocol_error');
        return;
      }
      throw e;
    }
    for (const body of bodies) {
      if (!this.reading) return;
      let msg: Pc3Message;
      try {
        msg = decodeMessage(body);
      } catch (e) {
        if (e instanceof Pc3MessageError) {
          this.ev.onInvalid(e);
          continue;
        }
        throw e;
      }
      this.ev.onMessage(msg);
    }
  }

  private onEnd(): void {
    if (!this.reading) return;
    try {
      this.decoder.end();
    } catch (e) {
      if (e instanceof FramingError) {
        this.reason ??= 'protocol_error';
        this.ev.onFramingError(e);
      }
    }
    this.reading = false;
  }
}
