// UdpPc5Medium: the PC5 medium over real UDP on loopback. One unicast socket (one-to-one traffic, and
// the source of every group send), one receive socket per joined group bound to the group address.
// Multicast stays on the machine: interface 127.0.0.1, TTL 0, 239/8 only, 239/8 routed via lo. docs/pc5.md.
import dgram from 'node:dgram';
import { isIPv4 } from 'node:net';
import { encodePc5Frame, encodePc5FrameInto, PC5_MAX_FRAME_SIZE } from './frame.js';
import {
  checkL2Id,
  groupKey,
  isLoopback,
  type Pc5Address,
  Pc5Counters,
  type Pc5FrameHandler,
  Pc5FrameIo,
  type Pc5Group,
  type Pc5Medium,
  Pc5MediumError,
  type Pc5MediumOptions,
  type Pc5MediumStats,
  type Pc5OutgoingFrame,
  type Pc5TrafficKind,
} from './medium.js';
import { assertRunNamespaceMulticast, assertSafeLoopbackMulticast } from './netenv.js';
import type { Pc5ReceivePolicy } from './proximity.js';

/** 4 MiB: net.core.rmem_max/wmem_max on our machines; the default 208 KiB loses bursts. */
export const PC5_SOCKET_BUFFER_SIZE = 4 * 1024 * 1024;

export interface UdpPc5MediumOptions extends Pc5MediumOptions {
  /** Address of the unicast socket (default 127.0.0.1). */
  bindAddress?: string;
  /** Port of the unicast socket (default 0: the kernel picks). */
  unicastPort?: number;
  /** Multicast interface for sends and memberships (default 127.0.0.1). */
  multicastInterface?: string;
  /** Multicast TTL, 0 (default: delivered locally on Linux) or 1. */
  multicastTtl?: 0 | 1;
  /** SO_RCVBUF/SO_SNDBUF request (default 4 MiB; the kernel caps it at rmem_max/wmem_max). */
  bufferSize?: number;
  /** Frames queued in libuv (kernel send buffer full) beyond which sends are dropped as 'queue_full'. */
  maxQueuedSends?: number;
  /** Allow non-loopback bind and unicast addresses (for runs inside a namespace the run created). */
  allowNonLoopback?: boolean;
  /** Check before any group use that 239.0.0.0/8 is routed via lo (default true). */
  requireLoopbackRoute?: boolean;
  /**
   * Network-namespace mode (docs/netns.md): the node's namespace must hold only lo and `eth0` (its veth to the run's
   * bridge), route 239.0.0.0/8 through eth0 and have no default route, checked before any group use. Implies
   * non-loopback addresses (the node's bridge address) and replaces the loopback-route check.
   */
  runNamespace?: boolean;
  /** Consulted for every received datagram (proximity model, emulated link delay); absent: deliver at once. */
  receivePolicy?: Pc5ReceivePolicy;
}

export interface UdpPc5BufferSizes {
  requested: number;
  /** As reported by getsockopt (Linux reports twice the granted value). */
  recv: number;
  send: number;
  /** True when the kernel granted less than requested (rmem_max/wmem_max too small). */
  capped: boolean;
}

type State = 'new' | 'starting' | 'started' | 'closed';

// Address literals only: resolve synchronously so each send reaches the kernel inside the call
// (dgram's default lookup defers every send by a process.nextTick).
function literalLookup(
  address: string,
  family: unknown,
  callback?: (err: Error | null, address: string, family: number) => void,
): void {
  const cb = (typeof family === 'function' ? family : callback) as (
    err: Error | null,
    address: string,
    family: number,
  ) => void;
  if (isIPv4(address)) cb(null, address, 4);
  else cb(new Pc5MediumError('bad_address', `not an IPv4 literal: ${address}`), address, 4);
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Pc5MediumError('bad_address', `${what} port must be 1..65535, got ${port}`);
  }
}

/** Throws unless the group is an IPv4 address in 239.0.0.0/8 (administratively scoped) with a valid port. */
export function validatePc5Group(group: Pc5Group): void {
  if (!group || !isIPv4(group.address) || !group.address.startsWith('239.')) {
    throw new Pc5MediumError('bad_group', `group address must be in 239.0.0.0/8, got ${group?.address}`);
  }
  checkPort(group.port, 'group');
}

interface GroupSocket {
  group: Pc5Group;
  socket: dgram.Socket;
}

export class UdpPc5Medium implements Pc5Medium {
  readonly kind = 'udp';
  readonly l2Id: number;
  private readonly opts: Required<
    Pick<
      UdpPc5MediumOptions,
      | 'bindAddress'
      | 'unicastPort'
      | 'multicastInterface'
      | 'multicastTtl'
      | 'bufferSize'
      | 'maxQueuedSends'
      | 'allowNonLoopback'
      | 'requireLoopbackRoute'
    >
  >;
  private readonly counters: Pc5Counters;
  private readonly onError: (err: Error) => void;
  private state: State = 'new';
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private unicast: dgram.Socket | undefined;
  private local: Pc5Address | undefined;
  private readonly groupSockets = new Map<string, GroupSocket>();
  private readonly pendingJoins = new Map<string, Promise<void>>();
  private readonly io: Pc5FrameIo;
  private inFlight = 0;
  private drainWaiters: (() => void)[] = [];
  private multicastChecked = false;
  private readonly runNamespace: boolean;
  private readonly receivePolicy: Pc5ReceivePolicy | undefined;
  private buffers: UdpPc5BufferSizes | undefined;
  /** Encoding buffer reused while sends complete synchronously (see send()). */
  private scratch: Buffer = Buffer.allocUnsafeSlow(PC5_MAX_FRAME_SIZE);
  /** The last group validated by sendToGroup, and its address and port at that time. */
  private lastGroup: Pc5Group | undefined;
  private lastGroupAddress = '';
  private lastGroupPort = 0;

  constructor(options: UdpPc5MediumOptions) {
    this.l2Id = checkL2Id(options.l2Id);
    this.opts = {
      bindAddress: options.bindAddress ?? '127.0.0.1',
      unicastPort: options.unicastPort ?? 0,
      multicastInterface: options.multicastInterface ?? '127.0.0.1',
      multicastTtl: options.multicastTtl ?? 0,
      bufferSize: options.bufferSize ?? PC5_SOCKET_BUFFER_SIZE,
      maxQueuedSends: options.maxQueuedSends ?? 4096,
      allowNonLoopback: (options.allowNonLoopback ?? false) || options.runNamespace === true,
      requireLoopbackRoute: (options.requireLoopbackRoute ?? true) && options.runNamespace !== true,
    };
    this.runNamespace = options.runNamespace === true;
    this.receivePolicy = options.receivePolicy;
    if (!this.opts.allowNonLoopback) {
      for (const [what, host] of [
        ['bindAddress', this.opts.bindAddress],
        ['multicastInterface', this.opts.multicastInterface],
      ] as const) {
        if (!isLoopback(host)) {
          throw new Pc5MediumError(
            'bad_address',
            `${what} must be in 127.0.0.0/8 (got ${host}); see allowNonLoopback`,
          );
        }
      }
    }
    if (this.opts.multicastTtl !== 0 && this.opts.multicastTtl !== 1) {
      throw new Pc5MediumError('bad_option', 'multicastTtl must be 0 or 1');
    }
    this.counters = new Pc5Counters(options.metrics);
    this.onError =
      options.onError ??
      ((err) =>
        process.emitWarning(`PC5 UDP medium (L2 ID ${this.l2Id}): ${err.message}`, 'Pc5MediumWarning'));
    this.io = new Pc5FrameIo(this.l2Id, this.counters, (e) => this.onError(e));
  }

  get unicastAddress(): Pc5Address {
    if (!this.local) throw new Pc5MediumError('not_started', 'unicastAddress is known after start()');
    return this.local;
  }

  /** Socket buffer sizes granted by the kernel (after start). */
  bufferSizes(): UdpPc5BufferSizes | undefined {
    return this.buffers;
  }

  start(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new Pc5MediumError('closed', 'medium is closed'));
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    this.state = 'starting';
    const sock = this.createSocket(false);
    sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo, 'unicast', undefined));
    try {
      await bindSocket(sock, this.opts.unicastPort, this.opts.bindAddress);
      this.watchErrors(sock);
    } catch (e) {
      await closeSocket(sock);
      this.state = 'closed';
      throw new Pc5MediumError(
        'bind_failed',
        `cannot bind ${this.opts.bindAddress}:${this.opts.unicastPort}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    if ((this.state as State) === 'closed') {
      await closeSocket(sock);
      return;
    }
    sock.setMulticastInterface(this.opts.multicastInterface);
    sock.setMulticastTTL(this.opts.multicastTtl);
    sock.setMulticastLoopback(true); // other nodes on this machine receive through the loopback path
    const a = sock.address();
    this.local = { host: a.address, port: a.port };
    this.unicast = sock;
    const recv = sock.getRecvBufferSize();
    const send = sock.getSendBufferSize();
    const req = this.opts.bufferSize;
    // Linux reports twice the granted size (the kernel's bookkeeping overhead allowance).
    this.buffers = { requested: req, recv, send, capped: recv / 2 < req || send / 2 < req };
    this.state = 'started';
  }

  private createSocket(forGroup: boolean): dgram.Socket {
    return dgram.createSocket({
      type: 'udp4',
      reuseAddr: forGroup,
      recvBufferSize: this.opts.bufferSize,
      // group sockets only receive
      ...(forGroup ? {} : { sendBufferSize: this.opts.bufferSize }),
      lookup: literalLookup as never,
    });
  }

  /** After a successful bind: later socket errors are counted and reported, never thrown. */
  private watchErrors(sock: dgram.Socket): void {
    sock.on('error', (err) => {
      this.counters.errors.socket++;
      this.onError(err);
    });
  }

  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    const wasStarting = this.startPromise;
    this.state = 'closed';
    if (wasStarting) await wasStarting.catch(() => {});
    const socks = [...this.groupSockets.values()].map((g) => g.socket);
    if (this.unicast) socks.push(this.unicast);
    this.groupSockets.clear();
    this.unicast = undefined;
    await Promise.all(socks.map(closeSocket));
    this.inFlight = 0;
    this.wakeDrain();
  }

  private requireStarted(): dgram.Socket {
    if (this.state === 'closed') throw new Pc5MediumError('closed', 'medium is closed');
    if (this.state !== 'started' || !this.unicast)
      throw new Pc5MediumError('not_started', 'call start() first');
    return this.unicast;
  }

  private checkMulticastSafety(): void {
    if (this.multicastChecked || !(this.opts.requireLoopbackRoute || this.runNamespace)) return;
    try {
      if (this.runNamespace) assertRunNamespaceMulticast();
      else assertSafeLoopbackMulticast();
    } catch (e) {
      throw new Pc5MediumError('unsafe_multicast', (e as Error).message, { cause: e });
    }
    this.multicastChecked = true;
  }

  groups(): Pc5Group[] {
    return [...this.groupSockets.values()].map((g) => ({ ...g.group }));
  }

  joinGroup(group: Pc5Group): Promise<void> {
    try {
      validatePc5Group(group);
      this.requireStarted();
      this.checkMulticastSafety();
    } catch (e) {
      return Promise.reject(e);
    }
    const key = groupKey(group);
    if (this.groupSockets.has(key)) return Promise.resolve();
    let p = this.pendingJoins.get(key);
    if (!p) {
      p = this.doJoin({ address: group.address, port: group.port }, key).finally(() =>
        this.pendingJoins.delete(key),
      );
      this.pendingJoins.set(key, p);
    }
    return p;
  }

  private async doJoin(group: Pc5Group, key: string): Promise<void> {
    // Bound to the group address, not 0.0.0.0: with IP_MULTICAST_ALL (Linux default) a socket bound to
    // the wildcard receives every group joined by anyone on the host on that port. One membership per
    // socket, so the 20-memberships-per-socket limit (igmp_max_memberships) never applies.
    const sock = this.createSocket(true);
    sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo, 'group', group));
    try {
      await bindSocket(sock, group.port, group.address);
      this.watchErrors(sock);
      sock.addMembership(group.address, this.opts.multicastInterface);
    } catch (e) {
      await closeSocket(sock);
      throw new Pc5MediumError('bind_failed', `cannot join ${key}: ${(e as Error).message}`, { cause: e });
    }
    if (this.state !== 'started') {
      await closeSocket(sock);
      throw new Pc5MediumError('closed', 'medium closed while joining');
    }
    this.groupSockets.set(key, { group, socket: sock });
  }

  async leaveGroup(group: Pc5Group): Promise<void> {
    validatePc5Group(group);
    const key = groupKey(group);
    await this.pendingJoins.get(key)?.catch(() => {});
    const g = this.groupSockets.get(key);
    if (!g) return;
    this.groupSockets.delete(key);
    try {
      g.socket.dropMembership(group.address, this.opts.multicastInterface);
    } catch {}
    await closeSocket(g.socket);
  }

  sendToGroup(group: Pc5Group, frame: Pc5OutgoingFrame): boolean {
    const sock = this.requireStarted();
    if (
      group !== this.lastGroup ||
      group.address !== this.lastGroupAddress ||
      group.port !== this.lastGroupPort
    ) {
      validatePc5Group(group);
      this.checkMulticastSafety();
      this.lastGroup = group;
      this.lastGroupAddress = group.address;
      this.lastGroupPort = group.port;
    }
    return this.send(sock, 'group', group.address, group.port, frame);
  }

  sendUnicast(to: Pc5Address, frame: Pc5OutgoingFrame): boolean {
    const sock = this.requireStarted();
    if (!to || !isIPv4(to.host)) throw new Pc5MediumError('bad_address', `not an IPv4 address: ${to?.host}`);
    if (!this.opts.allowNonLoopback && !isLoopback(to.host)) {
      throw new Pc5MediumError('bad_address', `unicast destination must be in 127.0.0.0/8, got ${to.host}`);
    }
    if (to.host.startsWith('239.') || Number(to.host.split('.')[0]) >= 224) {
      throw new Pc5MediumError('bad_address', `use sendToGroup for multicast addresses (${to.host})`);
    }
    checkPort(to.port, 'unicast');
    return this.send(sock, 'unicast', to.host, to.port, frame);
  }

  private send(
    sock: dgram.Socket,
    kind: Pc5TrafficKind,
    host: string,
    port: number,
    f: Pc5OutgoingFrame,
  ): boolean {
    const frame = this.io.outgoing(f);
    const cb = kind === 'group' ? this.groupSent : this.unicastSent;
    const queued = sock.getSendQueueCount();
    if (queued >= this.opts.maxQueuedSends) {
      encodePc5FrameInto(frame, this.scratch, 0); // still throw on an invalid frame
      this.counters.frameDropped('queue_full');
      return false;
    }
    if (queued === 0) {
      // Nothing waits in libuv, so with our synchronous lookup send() hands the datagram to the kernel
      // (which copies it) before returning, and the scratch buffer can be reused. If libuv had to queue
      // it instead (kernel send buffer full), the queue keeps that buffer: take a fresh one.
      const n = encodePc5FrameInto(frame, this.scratch, 0);
      this.inFlight++;
      sock.send(this.scratch, 0, n, port, host, cb);
      if (sock.getSendQueueCount() !== 0) this.scratch = Buffer.allocUnsafeSlow(PC5_MAX_FRAME_SIZE);
      return true;
    }
    const bytes = encodePc5Frame(frame);
    this.inFlight++;
    sock.send(bytes, port, host, cb);
    return true;
  }

  private readonly groupSent = (err: Error | null, bytes: number): void => this.sent('group', err, bytes);
  private readonly unicastSent = (err: Error | null, bytes: number): void => this.sent('unicast', err, bytes);

  private sent(kind: Pc5TrafficKind, err: Error | null, bytes: number): void {
    if (this.inFlight > 0) this.inFlight--;
    if (err) {
      this.counters.frameDropped('send_error');
      this.onError(err);
    } else {
      this.counters.frameSent(kind, bytes);
    }
    if (this.inFlight === 0) this.wakeDrain();
  }

  private wakeDrain(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const fn of w) fn();
  }

  drain(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((res) => this.drainWaiters.push(res));
  }

  onFrame(handler: Pc5FrameHandler): () => void {
    return this.io.onFrame(handler);
  }

  stats(): Pc5MediumStats {
    return this.counters.snapshot();
  }

  private onDatagram(
    msg: Buffer,
    rinfo: dgram.RemoteInfo,
    kind: Pc5TrafficKind,
    group: Pc5Group | undefined,
  ): void {
    const receivedAt = process.hrtime.bigint();
    const local = this.local;
    // Our own group sends come back through the multicast loop: they carry our unicast socket's address.
    if (kind === 'group' && local && rinfo.port === local.port && rinfo.address === local.host) {
      this.counters.ownEcho++;
      return;
    }
    if (this.receivePolicy) {
      const a = this.receivePolicy.admit({ host: rinfo.address, port: rinfo.port });
      if ('drop' in a) {
        this.counters.frameDropped(a.drop);
        return;
      }
      if (a.delayMs > 0) {
        // Emulated link delay (kernels without netem): the datagram is handed up later, unless the medium closed.
        const copy = Buffer.from(msg);
        setTimeout(() => {
          if (this.state === 'started') this.deliver(copy, rinfo, kind, group, process.hrtime.bigint());
        }, a.delayMs);
        return;
      }
    }
    this.deliver(msg, rinfo, kind, group, receivedAt);
  }

  private deliver(
    msg: Buffer,
    rinfo: dgram.RemoteInfo,
    kind: Pc5TrafficKind,
    group: Pc5Group | undefined,
    receivedAt: bigint,
  ): void {
    this.io.receive(msg, kind, { host: rinfo.address, port: rinfo.port }, group, receivedAt);
  }
}

function bindSocket(sock: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error): void => reject(e);
    sock.once('error', onErr);
    sock.bind(port, address, () => {
      sock.off('error', onErr);
      resolve();
    });
  });
}

function closeSocket(sock: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

/** Creates (does not start) a UDP PC5 medium. */
export function createUdpPc5Medium(options: UdpPc5MediumOptions): UdpPc5Medium {
  return new UdpPc5Medium(options);
}
