// The PC5 medium contract: what every PC5 (UE-to-UE) transport offers to the node runtime.
// UdpPc5Medium (udp-medium.ts) implements it over loopback UDP; any later medium must pass
// tests/transport/pc5-medium-compliance.ts. Semantics and choices: docs/pc5.md.
import { isIPv4 } from 'node:net';
import {
  decodePc5Frame,
  type Pc5DecodeErrorReason,
  type Pc5Frame,
  Pc5FrameError,
  type Pc5FrameType,
} from './frame.js';

/** How peers reach a medium one-to-one. */
export interface Pc5Address {
  host: string;
  port: number;
}

/** A one-to-many channel: a multicast group address in 239.0.0.0/8 and a UDP port. */
export interface Pc5Group {
  address: string;
  port: number;
}

export type Pc5TrafficKind = 'group' | 'unicast';

/** Why a frame was dropped: a malformed datagram (decode reasons), a failed send, or a full send queue. */
/** out_of_range: the sender was beyond the receiver's PC5 range (proximity model, netns mode; docs/netns.md). */
export type Pc5DropReason = Pc5DecodeErrorReason | 'send_error' | 'queue_full' | 'out_of_range';

export const PC5_DROP_REASONS: readonly Pc5DropReason[] = [
  'too_short',
  'bad_magic',
  'bad_version',
  'bad_length',
  'unknown_type',
  'too_large',
  'send_error',
  'queue_full',
  'out_of_range',
];

/** Counter sink the node runtime wires to its metrics (Prometheus). Called synchronously on the hot path. */
export interface Pc5MetricsSink {
  frameSent(kind: Pc5TrafficKind, bytes: number): void;
  frameReceived(kind: Pc5TrafficKind, bytes: number): void;
  frameDropped(reason: Pc5DropReason): void;
}

export interface Pc5FrameMeta {
  /** Sender's address as seen by the medium (for UDP: the sender's unicast address). */
  from: Pc5Address;
  /** The group the frame arrived on; absent for one-to-one frames. */
  group?: Pc5Group;
  /** process.hrtime.bigint() when the medium received it (ns). */
  receivedAt: bigint;
  /** Datagram size in octets (header included). */
  bytes: number;
}

export type Pc5FrameHandler = (frame: Pc5Frame, meta: Pc5FrameMeta) => void;

/** A frame to send: srcL2Id defaults to the medium's l2Id, seq to a per-medium counter, flags to 0. */
export interface Pc5OutgoingFrame {
  type: Pc5FrameType;
  dstL2Id: number;
  payload: Uint8Array;
  srcL2Id?: number;
  seq?: number;
  flags?: number;
}

export interface Pc5Counter {
  frames: number;
  bytes: number;
}

export interface Pc5MediumStats {
  sent: Record<Pc5TrafficKind, Pc5Counter>;
  received: Record<Pc5TrafficKind, Pc5Counter>;
  /** Frames dropped, by reason (all reasons present, zero when none). */
  dropped: Record<Pc5DropReason, number>;
  /** Own group frames looped back by the kernel and filtered out (not a drop). */
  ownEcho: number;
  /** Socket 'error' events and exceptions thrown by onFrame handlers (both caught). */
  errors: { socket: number; handler: number };
}

/** Options every medium factory accepts. */
export interface Pc5MediumOptions {
  /** This node's Layer-2 ID (24 bits): the default source L2 ID of sent frames. */
  l2Id: number;
  /** Optional counter sink (Prometheus in the node runtime). */
  metrics?: Pc5MetricsSink;
  /** Called with errors the medium caught (socket errors, handler exceptions); default: process warning. */
  onError?: (err: Error) => void;
}

/**
 * A PC5 medium. Sends are synchronous and never block: a frame handed to the medium is either queued to
 * the socket (returns true) or dropped and counted ('queue_full'; returns false); failed sends are
 * counted asynchronously ('send_error'). Like a radio, delivery is not guaranteed. `drain()` waits until
 * the medium's send queue is empty. Invalid frames or addresses are programming errors and throw.
 */
export interface Pc5Medium {
  readonly kind: string;
  readonly l2Id: number;
  /** How peers reach this node one-to-one. Only valid after start(). */
  readonly unicastAddress: Pc5Address;
  /** Binds sockets. Idempotent (a second call returns the same promise). */
  start(): Promise<void>;
  /** Releases every socket. Idempotent. After close the medium cannot be restarted. */
  close(): Promise<void>;
  joinGroup(group: Pc5Group): Promise<void>;
  leaveGroup(group: Pc5Group): Promise<void>;
  /** Groups currently joined. */
  groups(): Pc5Group[];
  sendToGroup(group: Pc5Group, frame: Pc5OutgoingFrame): boolean;
  sendUnicast(to: Pc5Address, frame: Pc5OutgoingFrame): boolean;
  /** Registers a handler for every received frame; returns a function that unregisters it. */
  onFrame(handler: Pc5FrameHandler): () => void;
  /** Resolves when every queued send has been handed to the kernel. */
  drain(): Promise<void>;
  /** A snapshot of the counters. */
  stats(): Pc5MediumStats;
}

/** Misuse of a medium or an environment it cannot work in (message says what to do). */
export class Pc5MediumError extends Error {
  override readonly name = 'Pc5MediumError';
  /** 'not_started' | 'closed' | 'bad_address' | 'bad_group' | 'unsafe_multicast' | 'bind_failed' | ... */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function groupKey(g: Pc5Group): string {
  return `${g.address}:${g.port}`;
}

/** Counter bookkeeping shared by media: local stats plus the optional sink. */
export class Pc5Counters {
  readonly sent = { group: { frames: 0, bytes: 0 }, unicast: { frames: 0, bytes: 0 } };
  readonly received = { group: { frames: 0, bytes: 0 }, unicast: { frames: 0, bytes: 0 } };
  readonly dropped = Object.fromEntries(PC5_DROP_REASONS.map((r) => [r, 0])) as Record<Pc5DropReason, number>;
  ownEcho = 0;
  readonly errors = { socket: 0, handler: 0 };
  constructor(private readonly sink?: Pc5MetricsSink) {}

  frameSent(kind: Pc5TrafficKind, bytes: number): void {
    const c = this.sent[kind];
    c.frames++;
    c.bytes += bytes;
    this.sink?.frameSent(kind, bytes);
  }
  frameReceived(kind: Pc5TrafficKind, bytes: number): void {
    const c = this.received[kind];
    c.frames++;
    c.bytes += bytes;
    this.sink?.frameReceived(kind, bytes);
  }
  frameDropped(reason: Pc5DropReason): void {
    this.dropped[reason]++;
    this.sink?.frameDropped(reason);
  }
  snapshot(): Pc5MediumStats {
    return {
      sent: { group: { ...this.sent.group }, unicast: { ...this.sent.unicast } },
      received: { group: { ...this.received.group }, unicast: { ...this.received.unicast } },
      dropped: { ...this.dropped },
      ownEcho: this.ownEcho,
      errors: { ...this.errors },
    };
  }
}

/** An IPv4 literal in 127.0.0.0/8. */
export function isLoopback(host: string): boolean {
  return isIPv4(host) && host.startsWith('127.');
}

/** A medium's Layer-2 ID, checked (24 bits) before anything else is built. */
export function checkL2Id(l2Id: number): number {
  if (!Number.isInteger(l2Id) || l2Id < 0 || l2Id > 0xffffff) {
    throw new Pc5MediumError('bad_l2id', `l2Id must be a 24-bit integer, got ${l2Id}`);
  }
  return l2Id;
}

/**
 * The transport-independent half of a medium: the frame handlers, the defaults of outgoing frames (source L2 ID,
 * a per-medium seq, flags 0) and the receive path (decode; malformed bytes counted by reason and dropped; counted;
 * handed to every handler, whose exceptions are counted and reported, never thrown). UdpPc5Medium and
 * Libp2pPc5Medium differ only in how bytes travel.
 */
export class Pc5FrameIo {
  private handlers: Pc5FrameHandler[] = [];
  private seq = 0;

  constructor(
    private readonly l2Id: number,
    private readonly counters: Pc5Counters,
    private readonly onError: (err: Error) => void,
  ) {}

  onFrame(handler: Pc5FrameHandler): () => void {
    this.handlers = [...this.handlers, handler];
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  /** The frame to encode for an outgoing one: srcL2Id defaults to this medium's, seq to the next of its counter. */
  outgoing(f: Pc5OutgoingFrame): Pc5Frame {
    let seq = f.seq;
    if (seq === undefined) {
      seq = this.seq;
      this.seq = (this.seq + 1) >>> 0;
    }
    return {
      type: f.type,
      flags: f.flags ?? 0,
      srcL2Id: f.srcL2Id ?? this.l2Id,
      dstL2Id: f.dstL2Id,
      seq,
      payload: f.payload,
    };
  }

  /** One received datagram or message: decoded, counted and handed to every handler. */
  receive(
    bytes: Uint8Array,
    kind: Pc5TrafficKind,
    from: Pc5Address,
    group: Pc5Group | undefined,
    receivedAt: bigint,
  ): void {
    let frame: Pc5Frame;
    try {
      frame = decodePc5Frame(bytes);
    } catch (e) {
      this.counters.frameDropped(
        e instanceof Pc5FrameError && e.reason !== 'bad_field' ? e.reason : 'bad_length',
      );
      return;
    }
    this.counters.frameReceived(kind, bytes.length);
    const meta: Pc5FrameMeta = { from, receivedAt, bytes: bytes.length };
    if (group) meta.group = group;
    for (const h of this.handlers) {
      try {
        h(frame, meta);
      } catch (e) {
        this.counters.errors.handler++;
        this.onError(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }
}
