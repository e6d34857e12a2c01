// Libp2pPc5Medium: the PC5 medium over libp2p 3 (TCP + Noise + yamux) for clusters without IP multicast.
// One-to-many: one gossipsub topic per Pc5Group. One-to-one: a long-lived /prosec/pc5/1.0.0 stream per peer.
// A Pc5Address is the peer's libp2p TCP listen address (host, port); its PeerId is learned on the connection
// (authenticated by Noise) and kept in a table while connected. Design, trust model and figures: docs/pc5.md.
import './promise-polyfill.js'; // must stay first: libp2p 3 calls Promise.withResolvers (Node 20 lacks it)
import { createHash, randomInt } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { type GossipSub, gossipsub, StrictNoSign, StrictSign } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import { encodePc5FrameInto } from './frame.js';
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
import { validatePc5Group } from './udp-medium.js';

/** One-to-one PC5 frames: a stream of [u32 length][PC5 frame] messages, one stream per direction and peer. */
export const PC5_LIBP2P_FRAME_PROTOCOL = '/prosec/pc5/1.0.0';
/** Control requests (hello, subscription sync): one [u32 length][JSON] request and one reply per stream. */
export const PC5_LIBP2P_CONTROL_PROTOCOL = '/prosec/pc5/control/1.0.0';
/** Gossipsub topic of a PC5 group. */
export function pc5Topic(group: Pc5Group): string {
  return `prosec/pc5/${groupKey(group)}`;
}
/**
 * Group messages carry, before the frame, the origin's Pc5Address (IPv4 4 octets, port 2 octets) and a
 * per-medium message counter (4 octets) that makes two equal frames two messages (gossipsub drops duplicates).
 */
const ENVELOPE = 10;
/** Largest length-prefixed message accepted on a stream (frames above 9,000 octets are still decoded and
 *  counted as too_large; beyond this the stream is reset). */
const MAX_STREAM_MESSAGE = 64 * 1024;
/** Octets a one-to-one stream may hold unsent before further frames are dropped as queue_full. */
const MAX_STREAM_BUFFER = 4 * 1024 * 1024;

export interface Libp2pPc5MediumOptions extends Pc5MediumOptions {
  /** Listen address (default 127.0.0.1; a non-loopback pod address needs allowNonLoopback). */
  listenAddress?: string;
  /** TCP listen port (default 0: the kernel picks). The Pc5Address port. */
  listenPort?: number;
  /**
   * Peers to connect to at start: multiaddrs `/ip4/H/tcp/P` or `/dns4/NAME/tcp/P` (a `/p2p/<PeerId>` suffix is
   * allowed), or a function evaluated once after this medium listens. A `/dns4` name is resolved (node:dns,
   * IPv4) at every attempt, so a peer whose name is not published yet (a pod starting) is retried; the
   * connection gater then checks the resolved address. No mDNS, no DHT.
   */
  bootstrap?: readonly string[] | (() => readonly string[]);
  /** How long unreachable bootstrap peers are retried in the background (default 30 s; every 250 ms). */
  bootstrapRetryMs?: number;
  /** How long a peer waits for gossipsub to show a subscription change before it answers (default 3 s). */
  confirmTimeoutMs?: number;
  /** Frames waiting for a connection or a publish beyond which sends are dropped as 'queue_full'. */
  maxQueuedSends?: number;
  /** Allow non-loopback listen and peer addresses (a pod address in a cluster). */
  allowNonLoopback?: boolean;
  /**
   * Sign every group message with the node's Ed25519 key (gossipsub StrictSign) so receivers can attribute it
   * to a PeerId. Default false (StrictNoSign, message id = SHA-256 of the message): like a radio or UDP
   * multicast the medium does not authenticate senders; PC5 security above it does (docs/pc5.md).
   */
  signGroupMessages?: boolean;
  /**
   * Keep gossipsub's mesh (degree D = 6): members forward every group message to their mesh peers at once,
   * which a partial topology needs for prompt delivery. Default false: the run connects every pair of UEs, a
   * publish reaches every subscribed neighbour directly (flood publish) and the mesh is empty (D = 0), so
   * nobody forwards duplicates (7x less wall time per group frame with 3 members, docs/pc5.md); a member
   * that is not a neighbour of the sender still gets the frame by lazy gossip (IHAVE/IWANT) at the next
   * heartbeat, about 1 s later.
   */
  meshRelay?: boolean;
  /** Extra gossipsub settings (mesh degrees D/Dlo/Dhi, heartbeat...), merged over the medium's. */
  gossipsub?: Record<string, unknown>;
}

interface ControlHello {
  t: 'hello';
  addr: Pc5Address;
  topics: string[];
}
interface ControlSync {
  t: 'sync';
  subscribed: string[];
  unsubscribed: string[];
}
type ControlRequest = ControlHello | ControlSync;
type ControlReply = ControlHello | { t: 'ok'; seen: boolean };

interface Link {
  key: string;
  stream: Stream | undefined;
  queue: { bytes: Uint8Array; kind: Pc5TrafficKind; n: number }[];
  opening: boolean;
}

type State = 'new' | 'starting' | 'started' | 'closed';
type Node = Libp2p<{ identify: unknown; pubsub: GossipSub }>;

const addrKey = (a: Pc5Address): string => `${a.host}:${a.port}`;
const sleep = (ms: number): Promise<void> =>
  new Promise((r) => {
    setTimeout(r, ms).unref();
  });

/** host and TCP port of a /ip4/H/tcp/P[/...] multiaddr, or undefined. */
export function tcpAddressOf(ma: Multiaddr): Pc5Address | undefined {
  const c = ma.getComponents();
  if (c[0]?.name !== 'ip4' || c[1]?.name !== 'tcp' || !c[0].value || !c[1].value) return undefined;
  return { host: c[0].value, port: Number(c[1].value) };
}

/**
 * `/dns4/NAME/tcp/P[/...]` -> `/ip4/<first IPv4 address of NAME>/tcp/P[/...]` (node:dns lookup, so /etc/hosts
 * and the resolver's search list apply); any other multiaddr unchanged. libp2p 3 can dial `/dns4` itself,
 * but its connection gater then sees only the name, not the address it is about to reach.
 */
export async function resolveDns4(ma: Multiaddr): Promise<Multiaddr> {
  const c = ma.getComponents();
  if (c[0]?.name !== 'dns4' || !c[0].value) return ma;
  const { address } = await lookup(c[0].value, { family: 4 });
  return multiaddr(`/ip4/${address}${ma.toString().slice(`/dns4/${c[0].value}`.length)}`);
}

async function stopQuietly(
  node: { stop(): void | Promise<void> },
  onError?: (e: Error) => void,
): Promise<void> {
  try {
    await node.stop();
  } catch (e) {
    onError?.(e as Error);
  }
}

async function closeQuietly(stream: Stream): Promise<void> {
  try {
    await stream.close();
  } catch {}
}

function lengthPrefixed(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

/** Splits a byte stream into [u32 length][message] messages. */
class MessageReader {
  private buf = new Uint8Array(0);
  constructor(
    private readonly onMessage: (m: Uint8Array) => void,
    private readonly onOversize: (n: number) => void,
  ) {}
  /** Returns false once an oversize length was seen (the caller resets the stream). */
  push(chunk: Uint8Array): boolean {
    let b: Uint8Array;
    if (this.buf.length === 0) b = chunk;
    else {
      b = new Uint8Array(this.buf.length + chunk.length);
      b.set(this.buf);
      b.set(chunk, this.buf.length);
    }
    let off = 0;
    while (b.length - off >= 4) {
      const n = ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
      if (n > MAX_STREAM_MESSAGE) {
        this.onOversize(n);
        this.buf = new Uint8Array(0);
        return false;
      }
      if (b.length - off - 4 < n) break;
      this.onMessage(b.subarray(off + 4, off + 4 + n));
      off += 4 + n;
    }
    this.buf = off === b.length ? new Uint8Array(0) : b.slice(off);
    return true;
  }
}

/** Reads one length-prefixed message from a stream (control protocol). */
function readOne(stream: Stream, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | undefined, m?: Uint8Array): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.removeEventListener('message', onMsg);
      stream.removeEventListener('close', onClose);
      if (err) reject(err);
      else resolve(m!);
    };
    const reader = new MessageReader(
      (m) => finish(undefined, Uint8Array.from(m)),
      (n) => finish(new Error(`control message of ${n} octets`)),
    );
    const onMsg = (evt: Event): void => {
      const d = (evt as unknown as { data: Uint8Array | { subarray(): Uint8Array } }).data;
      reader.push(d instanceof Uint8Array ? d : d.subarray());
    };
    const onClose = (): void => finish(new Error('stream closed before a control message'));
    const timer = setTimeout(() => finish(new Error('control message timed out')), timeoutMs);
    stream.addEventListener('message', onMsg);
    stream.addEventListener('close', onClose);
  });
}

function parseControl(bytes: Uint8Array): ControlRequest | ControlReply {
  const v = JSON.parse(Buffer.from(bytes).toString('utf8')) as { t?: unknown };
  if (!v || typeof v !== 'object' || typeof v.t !== 'string') throw new Error('bad control message');
  return v as ControlRequest | ControlReply;
}

function validAddress(a: unknown): a is Pc5Address {
  const x = a as Pc5Address;
  return (
    !!x &&
    typeof x.host === 'string' &&
    isIPv4(x.host) &&
    Number.isInteger(x.port) &&
    x.port > 0 &&
    x.port < 65536
  );
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string').slice(0, 1024) : [];

export class Libp2pPc5Medium implements Pc5Medium {
  readonly kind = 'libp2p';
  readonly l2Id: number;
  private readonly opts: Required<
    Pick<
      Libp2pPc5MediumOptions,
      | 'listenAddress'
      | 'listenPort'
      | 'bootstrapRetryMs'
      | 'confirmTimeoutMs'
      | 'maxQueuedSends'
      | 'allowNonLoopback'
      | 'signGroupMessages'
      | 'meshRelay'
    >
  >;
  private readonly bootstrap: Libp2pPc5MediumOptions['bootstrap'];
  private readonly gossipsubExtra: Record<string, unknown>;
  private readonly counters: Pc5Counters;
  private readonly onError: (err: Error) => void;
  private state: State = 'new';
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private node: Node | undefined;
  private local: Pc5Address | undefined;
  private readonly io: Pc5FrameIo;
  /** Starts at random: a medium restarted on the same address does not repeat its predecessor's ids. */
  private messageCounter = randomInt(0, 2 ** 32 - 1);
  /** Joined groups by topic. */
  private readonly joined = new Map<string, Pc5Group>();
  /** Connected peers that completed a hello: PeerId string -> PeerId, and their Pc5Address both ways. */
  private readonly peers = new Map<string, PeerId>();
  private readonly peerAddr = new Map<string, Pc5Address>();
  private readonly addrPeer = new Map<string, string>();
  private readonly connecting = new Map<string, Promise<string>>();
  private readonly links = new Map<string, Link>();
  private queued = 0;
  private publishing = 0;
  private drainWaiters: (() => void)[] = [];

  constructor(options: Libp2pPc5MediumOptions) {
    this.l2Id = checkL2Id(options.l2Id);
    this.opts = {
      listenAddress: options.listenAddress ?? '127.0.0.1',
      listenPort: options.listenPort ?? 0,
      bootstrapRetryMs: options.bootstrapRetryMs ?? 30_000,
      confirmTimeoutMs: options.confirmTimeoutMs ?? 3000,
      maxQueuedSends: options.maxQueuedSends ?? 4096,
      allowNonLoopback: options.allowNonLoopback ?? false,
      signGroupMessages: options.signGroupMessages ?? false,
      meshRelay: options.meshRelay ?? false,
    };
    if (!isIPv4(this.opts.listenAddress))
      throw new Pc5MediumError('bad_address', `listenAddress must be IPv4, got ${this.opts.listenAddress}`);
    if (!this.opts.allowNonLoopback && !isLoopback(this.opts.listenAddress)) {
      throw new Pc5MediumError(
        'bad_address',
        `listenAddress must be in 127.0.0.0/8 (got ${this.opts.listenAddress}); see allowNonLoopback`,
      );
    }
    this.bootstrap = options.bootstrap;
    this.gossipsubExtra = options.gossipsub ?? {};
    this.counters = new Pc5Counters(options.metrics);
    this.onError =
      options.onError ??
      ((err) =>
        process.emitWarning(`PC5 libp2p medium (L2 ID ${this.l2Id}): ${err.message}`, 'Pc5MediumWarning'));
    this.io = new Pc5FrameIo(this.l2Id, this.counters, (e) => this.onError(e));
  }

  get unicastAddress(): Pc5Address {
    if (!this.local) throw new Pc5MediumError('not_started', 'unicastAddress is known after start()');
    return this.local;
  }

  /** This node's multiaddrs with its PeerId (`/ip4/H/tcp/P/p2p/<id>`), after start. */
  get multiaddrs(): string[] {
    return this.node?.getMultiaddrs().map((m) => m.toString()) ?? [];
  }

  /** This node's PeerId, after start. */
  get peerId(): string | undefined {
    return this.node?.peerId.toString();
  }

  /** PeerIds of the peers this medium has completed a hello with (connected now). */
  connectedPeers(): string[] {
    return [...this.peers.keys()];
  }

  start(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new Pc5MediumError('closed', 'medium is closed'));
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    this.state = 'starting';
    const allowAll = this.opts.allowNonLoopback;
    let node: Node;
    try {
      node = (await createLibp2p({
        start: false,
        addresses: { listen: [`/ip4/${this.opts.listenAddress}/tcp/${this.opts.listenPort}`] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        // Traffic stays on loopback (or the given pod network): refuse to dial anything else.
        connectionGater: {
          denyDialMultiaddr: (ma: Multiaddr) => {
            const a = tcpAddressOf(ma);
            return !a || (!allowAll && !isLoopback(a.host));
          },
        },
        services: {
          identify: identify(),
          pubsub: gossipsub({
            // A radio: a frame nobody listens to is lost, not an error.
            allowPublishToZeroTopicPeers: true,
            // Publish to every subscribed peer we know, not only the mesh (lower latency, full fan-out).
            floodPublish: true,
            emitSelf: false,
            ...(this.opts.signGroupMessages
              ? { globalSignaturePolicy: StrictSign }
              : {
                  globalSignaturePolicy: StrictNoSign,
                  // Unique per message: the envelope holds the sender's address and a per-medium counter.
                  msgIdFn: (m: { data: Uint8Array }) => createHash('sha256').update(m.data).digest(),
                }),
            // No mesh: flood publish to every subscribed neighbour, no forwarding (see meshRelay).
            ...(this.opts.meshRelay ? {} : { D: 0, Dlo: 0, Dhi: 0, Dout: 0, Dscore: 0 }),
            ...this.gossipsubExtra,
          }),
        },
      })) as unknown as Node;
      await node.handle(PC5_LIBP2P_FRAME_PROTOCOL, (stream, conn) => this.onFrameStream(stream, conn), {
        maxInboundStreams: 8,
      });
      await node.handle(PC5_LIBP2P_CONTROL_PROTOCOL, (stream, conn) => this.onControlStream(stream, conn), {
        maxInboundStreams: 64,
      });
      node.services.pubsub.addEventListener('message', (evt) => this.onGossip(evt.detail));
      node.addEventListener('peer:disconnect', (evt) => this.forgetPeer(evt.detail.toString()));
      await node.start();
    } catch (e) {
      this.state = 'closed';
      throw new Pc5MediumError(
        'bind_failed',
        `cannot start libp2p on ${this.opts.listenAddress}:${this.opts.listenPort}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    if ((this.state as State) === 'closed') {
      await stopQuietly(node);
      return;
    }
    const listen = node
      .getMultiaddrs()
      .map((m) => tcpAddressOf(m))
      .find((a) => a !== undefined);
    if (!listen) {
      await stopQuietly(node);
      this.state = 'closed';
      throw new Pc5MediumError('bind_failed', 'libp2p reports no TCP listen address');
    }
    this.node = node;
    this.local = listen;
    this.state = 'started';
    const list = typeof this.bootstrap === 'function' ? this.bootstrap() : (this.bootstrap ?? []);
    await Promise.all(list.map((ma) => this.bootstrapPeer(ma)));
  }

  /** First attempt awaited; on failure retried in the background every 250 ms for bootstrapRetryMs. */
  private async bootstrapPeer(ma: string): Promise<void> {
    let m: Multiaddr;
    try {
      m = multiaddr(ma);
    } catch (e) {
      this.onError(new Error(`bad bootstrap multiaddr ${ma}: ${(e as Error).message}`));
      return;
    }
    const deadline = Date.now() + this.opts.bootstrapRetryMs;
    const attempt = async (): Promise<void> => {
      await this.connect(await resolveDns4(m));
    };
    try {
      await attempt();
      return;
    } catch {}
    void (async () => {
      let last: unknown;
      while (this.state === 'started' && Date.now() < deadline) {
        await sleep(250);
        if (this.state !== 'started') return;
        try {
          await attempt();
          return;
        } catch (e) {
          last = e;
        }
      }
      if (this.state === 'started')
        this.onError(new Error(`bootstrap peer ${ma} unreachable: ${(last as Error)?.message}`));
    })();
  }

  /**
   * Connects to a peer (`/ip4/H/tcp/P[/p2p/<id>]`) and exchanges hellos: afterwards each side knows the
   * other's Pc5Address and sees its current group subscriptions. Resolves with the peer's PeerId.
   */
  connect(target: string | Multiaddr): Promise<string> {
    const node = this.requireStarted();
    const ma = typeof target === 'string' ? multiaddr(target) : target;
    const addr = tcpAddressOf(ma);
    if (!addr) return Promise.reject(new Pc5MediumError('bad_address', `not /ip4/H/tcp/P: ${ma}`));
    const key = addrKey(addr);
    const known = this.addrPeer.get(key);
    if (known) return Promise.resolve(known);
    let p = this.connecting.get(key);
    if (!p) {
      p = (async () => {
        const conn = await node.dial(ma);
        await this.hello(conn);
        return conn.remotePeer.toString();
      })().finally(() => this.connecting.delete(key));
      this.connecting.set(key, p);
    }
    return p;
  }

  private async hello(conn: Connection): Promise<void> {
    const reply = await this.request(conn, { t: 'hello', addr: this.unicastAddress, topics: this.topics() });
    if (reply.t !== 'hello' || !validAddress(reply.addr)) throw new Error('bad hello reply');
    this.rememberPeer(conn.remotePeer, reply.addr);
    await this.waitSeen(conn.remotePeer.toString(), strings(reply.topics), []);
  }

  private async request(conn: Connection, req: ControlRequest): Promise<ControlReply> {
    const stream = await conn.newStream(PC5_LIBP2P_CONTROL_PROTOCOL);
    try {
      const reading = readOne(stream, this.opts.confirmTimeoutMs + 5000);
      stream.send(lengthPrefixed(Buffer.from(JSON.stringify(req))));
      const reply = parseControl(await reading) as ControlReply;
      await closeQuietly(stream);
      return reply;
    } catch (e) {
      stream.abort(e as Error);
      throw e;
    }
  }

  private async onControlStream(stream: Stream, conn: Connection): Promise<void> {
    try {
      const req = parseControl(await readOne(stream, 10_000)) as ControlRequest;
      const peer = conn.remotePeer.toString();
      let reply: ControlReply;
      if (req.t === 'hello') {
        if (!validAddress(req.addr)) throw new Error('bad hello');
        this.rememberPeer(conn.remotePeer, req.addr);
        await this.waitSeen(peer, strings(req.topics), []);
        reply = { t: 'hello', addr: this.unicastAddress, topics: this.topics() };
      } else if (req.t === 'sync') {
        const seen = await this.waitSeen(peer, strings(req.subscribed), strings(req.unsubscribed));
        reply = { t: 'ok', seen };
      } else throw new Error('unknown control request');
      stream.send(lengthPrefixed(Buffer.from(JSON.stringify(reply))));
      await closeQuietly(stream);
    } catch (e) {
      this.counters.errors.socket++;
      stream.abort(e as Error);
    }
  }

  /**
   * Waits until gossipsub shows `peer` subscribed to every topic of `sub` (and an outbound stream to it,
   * so a publish reaches it) and to none of `unsub`; false after confirmTimeoutMs.
   */
  private async waitSeen(peer: string, sub: string[], unsub: string[]): Promise<boolean> {
    const ps = this.node?.services.pubsub;
    if (!ps || (sub.length === 0 && unsub.length === 0)) return true;
    const outbound = (ps as unknown as { streamsOutbound?: Map<string, unknown> }).streamsOutbound;
    const ok = (): boolean =>
      (sub.length === 0 || outbound === undefined || outbound.has(peer)) &&
      sub.every((t) => ps.getSubscribers(t).some((p) => p.toString() === peer)) &&
      unsub.every((t) => !ps.getSubscribers(t).some((p) => p.toString() === peer));
    const deadline = Date.now() + this.opts.confirmTimeoutMs;
    while (!ok()) {
      if (this.state !== 'started' || Date.now() > deadline) return false;
      await sleep(5);
    }
    return true;
  }

  private rememberPeer(peerId: PeerId, addr: Pc5Address): void {
    const id = peerId.toString();
    const key = addrKey(addr);
    // First claim wins while connected: a peer cannot take over another connected peer's address.
    const owner = this.addrPeer.get(key);
    if (owner && owner !== id) return;
    this.peers.set(id, peerId);
    this.peerAddr.set(id, { host: addr.host, port: addr.port });
    this.addrPeer.set(key, id);
  }

  private forgetPeer(id: string): void {
    const addr = this.peerAddr.get(id);
    this.peers.delete(id);
    this.peerAddr.delete(id);
    if (addr && this.addrPeer.get(addrKey(addr)) === id) this.addrPeer.delete(addrKey(addr));
  }

  private topics(): string[] {
    return [...this.joined.keys()];
  }

  /** Tells every helloed peer about a subscription change and waits (bounded) until each has seen it. */
  private async syncPeers(subscribed: string[], unsubscribed: string[]): Promise<void> {
    const node = this.node;
    if (!node) return;
    const req: ControlSync = { t: 'sync', subscribed, unsubscribed };
    await Promise.all(
      [...this.peers.values()].map(async (pid) => {
        const conn = node.getConnections(pid).find((c) => c.status === 'open');
        if (!conn) return;
        try {
          await this.request(conn, req);
        } catch (e) {
          if (this.state === 'started') this.onError(e as Error);
        }
      }),
    );
  }

  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    const wasStarting = this.startPromise;
    this.state = 'closed';
    if (wasStarting) await wasStarting.catch(() => {});
    this.joined.clear();
    const node = this.node;
    this.node = undefined;
    for (const l of this.links.values()) l.queue = [];
    this.links.clear();
    this.queued = 0;
    this.publishing = 0;
    this.wakeDrain();
    if (node) await stopQuietly(node, this.onError);
  }

  private requireStarted(): Node {
    if (this.state === 'closed') throw new Pc5MediumError('closed', 'medium is closed');
    if (this.state !== 'started' || !this.node) throw new Pc5MediumError('not_started', 'call start() first');
    return this.node;
  }

  groups(): Pc5Group[] {
    return [...this.joined.values()].map((g) => ({ ...g }));
  }

  /** Subscribes to the group's topic; resolves once every connected peer has seen it (bounded). */
  async joinGroup(group: Pc5Group): Promise<void> {
    validatePc5Group(group);
    const node = this.requireStarted();
    const topic = pc5Topic(group);
    if (this.joined.has(topic)) return;
    this.joined.set(topic, { address: group.address, port: group.port });
    node.services.pubsub.subscribe(topic);
    await this.syncPeers([topic], []);
  }

  async leaveGroup(group: Pc5Group): Promise<void> {
    validatePc5Group(group);
    const topic = pc5Topic(group);
    if (!this.joined.delete(topic)) return;
    const node = this.node;
    if (!node || this.state !== 'started') return;
    node.services.pubsub.unsubscribe(topic);
    await this.syncPeers([], [topic]);
  }

  sendToGroup(group: Pc5Group, frame: Pc5OutgoingFrame): boolean {
    this.requireStarted();
    validatePc5Group(group);
    const f = this.io.outgoing(frame);
    const buf = new Uint8Array(ENVELOPE + 9000);
    const n = encodePc5FrameInto(f, buf, ENVELOPE);
    return this.publish(group, buf.subarray(0, ENVELOPE + n), n);
  }

  /**
   * Publishes arbitrary bytes as a frame on the group's topic, bypassing the frame codec (tests and the
   * adversary: the libp2p counterpart of a raw socket).
   */
  sendRawToGroup(group: Pc5Group, bytes: Uint8Array): boolean {
    this.requireStarted();
    validatePc5Group(group);
    const buf = new Uint8Array(ENVELOPE + bytes.length);
    buf.set(bytes, ENVELOPE);
    return this.publish(group, buf, bytes.length);
  }

  private publish(group: Pc5Group, envelope: Uint8Array, n: number): boolean {
    const node = this.requireStarted();
    if (this.publishing >= this.opts.maxQueuedSends) {
      this.counters.frameDropped('queue_full');
      return false;
    }
    const me = this.unicastAddress;
    const [a, b, c, d] = me.host.split('.').map(Number) as [number, number, number, number];
    envelope[0] = a;
    envelope[1] = b;
    envelope[2] = c;
    envelope[3] = d;
    envelope[4] = me.port >> 8;
    envelope[5] = me.port & 0xff;
    new DataView(envelope.buffer, envelope.byteOffset).setUint32(6, this.messageCounter);
    this.messageCounter = (this.messageCounter + 1) >>> 0;
    this.publishing++;
    node.services.pubsub.publish(pc5Topic(group), envelope).then(
      () => {
        if (this.state !== 'started') return;
        this.publishing--;
        this.counters.frameSent('group', n);
        this.maybeWakeDrain();
      },
      (e: Error) => {
        if (this.state !== 'started') return;
        this.publishing--;
        this.counters.frameDropped('send_error');
        this.onError(e);
        this.maybeWakeDrain();
      },
    );
    return true;
  }

  sendUnicast(to: Pc5Address, frame: Pc5OutgoingFrame): boolean {
    this.requireStarted();
    this.checkUnicast(to);
    const f = this.io.outgoing(frame);
    const buf = new Uint8Array(4 + 9000);
    const n = encodePc5FrameInto(f, buf, 4);
    new DataView(buf.buffer).setUint32(0, n);
    return this.sendOnLink(to, buf.subarray(0, 4 + n), n);
  }

  /** Sends arbitrary bytes as one message on the peer's frame stream, bypassing the codec (tests, adversary). */
  sendRawUnicast(to: Pc5Address, bytes: Uint8Array): boolean {
    this.requireStarted();
    this.checkUnicast(to);
    return this.sendOnLink(to, lengthPrefixed(bytes), bytes.length);
  }

  private checkUnicast(to: Pc5Address): void {
    if (!to || !isIPv4(to.host)) throw new Pc5MediumError('bad_address', `not an IPv4 address: ${to?.host}`);
    if (!this.opts.allowNonLoopback && !isLoopback(to.host)) {
      throw new Pc5MediumError('bad_address', `unicast destination must be in 127.0.0.0/8, got ${to.host}`);
    }
    if (!Number.isInteger(to.port) || to.port < 1 || to.port > 65535) {
      throw new Pc5MediumError('bad_address', `unicast port must be 1..65535, got ${to.port}`);
    }
  }

  private sendOnLink(to: Pc5Address, bytes: Uint8Array, n: number): boolean {
    const key = addrKey(to);
    let link = this.links.get(key);
    if (link?.stream && link.queue.length === 0) {
      if (link.stream.writeBufferLength > MAX_STREAM_BUFFER) {
        this.counters.frameDropped('queue_full');
        return false;
      }
      try {
        link.stream.send(bytes);
        this.counters.frameSent('unicast', n);
        return true;
      } catch (e) {
        this.linkFailed(link, e as Error);
        // fall through: queue the frame and reopen the link
        link = undefined;
      }
    }
    if (this.queued >= this.opts.maxQueuedSends) {
      this.counters.frameDropped('queue_full');
      return false;
    }
    if (!link) {
      link = { key, stream: undefined, queue: [], opening: false };
      this.links.set(key, link);
    }
    link.queue.push({ bytes, kind: 'unicast', n });
    this.queued++;
    if (!link.opening && !link.stream) void this.openLink(link, to);
    return true;
  }

  private async openLink(link: Link, to: Pc5Address): Promise<void> {
    link.opening = true;
    try {
      const node = this.requireStarted();
      const peer = await this.connect(`/ip4/${to.host}/tcp/${to.port}`);
      const pid = this.peers.get(peer);
      if (!pid) throw new Error(`peer at ${link.key} went away`);
      const stream = await node.dialProtocol(pid, PC5_LIBP2P_FRAME_PROTOCOL);
      if (this.links.get(link.key) !== link || this.state !== 'started') {
        stream.abort(new Error('medium closed'));
        return;
      }
      stream.addEventListener('close', () => {
        if (link.stream === stream) {
          link.stream = undefined;
          if (link.queue.length === 0 && this.links.get(link.key) === link) this.links.delete(link.key);
        }
      });
      link.stream = stream;
      const q = link.queue;
      link.queue = [];
      for (const item of q) {
        this.queued--;
        stream.send(item.bytes);
        this.counters.frameSent(item.kind, item.n);
      }
    } catch (e) {
      if (this.state === 'started') this.linkFailed(link, e as Error);
    } finally {
      link.opening = false;
      this.maybeWakeDrain();
    }
  }

  private linkFailed(link: Link, err: Error): void {
    for (const _ of link.queue) {
      this.queued--;
      this.counters.frameDropped('send_error');
    }
    link.queue = [];
    link.stream = undefined;
    if (this.links.get(link.key) === link) this.links.delete(link.key);
    this.counters.errors.socket++;
    this.onError(new Error(`PC5 link to ${link.key}: ${err.message}`));
  }

  private maybeWakeDrain(): void {
    if (this.queued === 0 && this.publishing === 0) this.wakeDrain();
  }

  private wakeDrain(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const fn of w) fn();
  }

  /** Resolves when no frame waits for a connection or a publish and every frame stream has flushed. */
  async drain(): Promise<void> {
    if (this.queued > 0 || this.publishing > 0) await new Promise<void>((r) => this.drainWaiters.push(r));
    await Promise.all(
      [...this.links.values()].map((l) =>
        l.stream && l.stream.writeBufferLength > 0 ? l.stream.onDrain().catch(() => {}) : undefined,
      ),
    );
  }

  onFrame(handler: Pc5FrameHandler): () => void {
    return this.io.onFrame(handler);
  }

  stats(): Pc5MediumStats {
    return this.counters.snapshot();
  }

  private onFrameStream(stream: Stream, conn: Connection): void {
    const peer = conn.remotePeer.toString();
    const fallback = tcpAddressOf(conn.remoteAddr) ?? { host: '0.0.0.0', port: 0 };
    const reader = new MessageReader(
      (m) => this.onFrameBytes(m, 'unicast', this.peerAddr.get(peer) ?? fallback, undefined),
      () => this.counters.frameDropped('too_large'),
    );
    stream.addEventListener('message', (evt) => {
      const d = evt.data;
      if (!reader.push(d instanceof Uint8Array ? d : d.subarray()))
        stream.abort(new Error('oversize PC5 message'));
    });
    stream.addEventListener('remoteCloseWrite', () => {
      void closeQuietly(stream);
    });
  }

  private onGossip(msg: { topic: string; data: Uint8Array }): void {
    const group = this.joined.get(msg.topic);
    if (!group) return;
    const d = msg.data;
    if (d.length < ENVELOPE) {
      this.counters.frameDropped('too_short');
      return;
    }
    const from = { host: `${d[0]}.${d[1]}.${d[2]}.${d[3]}`, port: (d[4]! << 8) | d[5]! };
    this.onFrameBytes(d.subarray(ENVELOPE), 'group', from, group);
  }

  private onFrameBytes(
    bytes: Uint8Array,
    kind: Pc5TrafficKind,
    from: Pc5Address,
    group: Pc5Group | undefined,
  ): void {
    this.io.receive(bytes, kind, { ...from }, group ? { ...group } : undefined, process.hrtime.bigint());
  }
}

/** Creates (does not start) a libp2p PC5 medium. */
export function createLibp2pPc5Medium(options: Libp2pPc5MediumOptions): Libp2pPc5Medium {
  return new Libp2pPc5Medium(options);
}
