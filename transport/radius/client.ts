// RADIUS client over UDP (RFC 2865 2.4/2.5: Identifier per outstanding request, retransmission), as an EAP
// pass-through authenticator uses it (RFC 3579): EAP-Message + State out, Challenge/Accept/Reject back, MSK from
// MS-MPPE-Recv/Send-Key (RFC 2548). Responses with a wrong Response Authenticator or Message-Authenticator are
// dropped and counted.
import { createSocket, type Socket } from 'node:dgram';
import {
  attr,
  buildAccessRequest,
  decodeRadius,
  decryptMppeKey,
  eapMessage,
  eapMessageAttributes,
  MS_MPPE_RECV_KEY,
  MS_MPPE_SEND_KEY,
  msVendorValue,
  RADIUS_ATTR,
  RADIUS_CODE,
  type RadiusAttribute,
  verifyResponse,
} from './codec.js';

export type RadiusAnswer =
  | { kind: 'challenge'; eap: Uint8Array; state?: Uint8Array }
  | { kind: 'accept'; eap?: Uint8Array; msk?: Uint8Array }
  | { kind: 'reject'; eap?: Uint8Array };

interface Pending {
  reqAuth: Uint8Array;
  resolve: (a: RadiusAnswer) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface RadiusClientOptions {
  host: string;
  port: number;
  secret: Uint8Array;
  /** Retransmission interval and attempts (RFC 2865 2.4 leaves them to the client). */
  retryMs?: number;
  attempts?: number;
  nasIdentifier?: string;
}

export class RadiusClient {
  private socket?: Socket;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  readonly stats = { sent: 0, retransmits: 0, received: 0, dropped: 0, timeouts: 0 };

  constructor(private readonly opts: RadiusClientOptions) {}

  async start(): Promise<void> {
    const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
    s.on('message', (msg) => this.onMessage(new Uint8Array(msg.buffer, msg.byteOffset, msg.length)));
    s.on('error', () => this.stats.dropped++);
    await new Promise<void>((res) => s.bind(0, '127.0.0.1', res));
    this.socket = s;
  }

  /** Sends one EAP packet (with the State of the previous Challenge, if any) and waits for the answer. */
  send(eap: Uint8Array, state: Uint8Array | undefined, callingStationId: string): Promise<RadiusAnswer> {
    const attrs: RadiusAttribute[] = [
      { type: RADIUS_ATTR.USER_NAME, value: userNameOf(eap) },
      {
        type: RADIUS_ATTR.NAS_IDENTIFIER,
        value: new TextEncoder().encode(this.opts.nasIdentifier ?? 'prosec-relay'),
      },
      { type: RADIUS_ATTR.CALLING_STATION_ID, value: new TextEncoder().encode(callingStationId) },
      { type: RADIUS_ATTR.FRAMED_MTU, value: Uint8Array.of(0, 0, 0x05, 0x78) },
      ...eapMessageAttributes(eap),
    ];
    if (state) attrs.push({ type: RADIUS_ATTR.STATE, value: state });
    return this.request(attrs);
  }

  /** Sends arbitrary attributes in a signed Access-Request (tests and adversaries). */
  request(attrs: RadiusAttribute[], secret = this.opts.secret): Promise<RadiusAnswer> {
    const s = this.socket;
    if (!s) return Promise.reject(new Error('RADIUS client not started'));
    let id = -1;
    for (let i = 0; i < 256; i++) {
      const c = (this.nextId + i) & 0xff;
      if (!this.pending.has(c)) {
        id = c;
        break;
      }
    }
    if (id < 0) return Promise.reject(new Error('256 RADIUS requests outstanding'));
    this.nextId = (id + 1) & 0xff;
    const bytes = buildAccessRequest(id, attrs, secret);
    const reqAuth = bytes.slice(4, 20);
    return new Promise<RadiusAnswer>((resolve, reject) => {
      let tries = 0;
      const fire = () => {
        if (tries >= (this.opts.attempts ?? 3)) {
          this.pending.delete(id);
          this.stats.timeouts++;
          reject(new Error('RADIUS timeout'));
          return;
        }
        if (tries > 0) this.stats.retransmits++;
        tries++;
        this.stats.sent++;
        s.send(bytes, this.opts.port, this.opts.host);
        p.timer = setTimeout(fire, this.opts.retryMs ?? 1000);
      };
      const p: Pending = { reqAuth, resolve, reject, timer: setTimeout(() => {}, 0) };
      this.pending.set(id, p);
      fire();
    });
  }

  private onMessage(bytes: Uint8Array): void {
    if (bytes.length < 20) {
      this.stats.dropped++;
      return;
    }
    const p = this.pending.get(bytes[1]!);
    if (!p || !verifyResponse(bytes, p.reqAuth, this.opts.secret)) {
      this.stats.dropped++;
      return;
    }
    let pkt: ReturnType<typeof decodeRadius>;
    try {
      pkt = decodeRadius(bytes);
    } catch {
      this.stats.dropped++;
      return;
    }
    this.pending.delete(bytes[1]!);
    clearTimeout(p.timer);
    this.stats.received++;
    const eap = eapMessage(pkt);
    if (pkt.code === RADIUS_CODE.ACCESS_CHALLENGE && eap) {
      const state = attr(pkt, RADIUS_ATTR.STATE);
      p.resolve(state ? { kind: 'challenge', eap, state } : { kind: 'challenge', eap });
    } else if (pkt.code === RADIUS_CODE.ACCESS_ACCEPT) {
      const recv = msVendorValue(pkt, MS_MPPE_RECV_KEY);
      const send = msVendorValue(pkt, MS_MPPE_SEND_KEY);
      let msk: Uint8Array | undefined;
      if (recv && send) {
        const a = decryptMppeKey(recv, this.opts.secret, p.reqAuth);
        const b = decryptMppeKey(send, this.opts.secret, p.reqAuth);
        msk = new Uint8Array(64);
        msk.set(a.subarray(0, 32), 0);
        msk.set(b.subarray(0, 32), 32);
      }
      p.resolve({ kind: 'accept', ...(eap ? { eap } : {}), ...(msk ? { msk } : {}) });
    } else {
      p.resolve(eap ? { kind: 'reject', eap } : { kind: 'reject' });
    }
  }

  async close(): Promise<void> {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('RADIUS client closed'));
    }
    this.pending.clear();
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((res) => s.close(() => res()));
  }
}

/** User-Name for the Access-Request: the identity in an EAP-Response/Identity, else a placeholder (RFC 3579 2.1). */
function userNameOf(eap: Uint8Array): Uint8Array {
  if (eap.length > 5 && eap[0] === 2 && eap[4] === 1) return eap.slice(5, Math.min(eap.length, 5 + 253));
  return new TextEncoder().encode('eap-aka-prime');
}
