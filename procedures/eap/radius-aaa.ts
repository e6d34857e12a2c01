// AAA server logic: RADIUS (RFC 2865) carrying EAP (RFC 3579) to the EAP-AKA' server, MSK out in MS-MPPE keys
// (RFC 2548). Sans-I/O: `handle(datagram, source, now)` returns the reply datagram (or nothing) and an event
// for metrics. Duplicate detection and State handling follow RFC 5080 2.2.2 and RFC 2865 5.24.
import { toHex } from '../../crypto-core/bytes.js';
import { randomOctets } from '../../crypto-core/random-pool.js';
import {
  attr,
  buildResponse,
  decodeRadius,
  eapMessage,
  eapMessageAttributes,
  mppeKeyAttributes,
  RADIUS_ATTR,
  RADIUS_CODE,
  type RadiusAttribute,
  RadiusDecodeError,
  verifyRequestMessageAuthenticator,
} from '../../transport/radius/codec.js';
import type { EapAkaPrimeServer, EapAkaPrimeServerSession, EapFailureCause } from './eap-aka-prime-server.js';

export type AaaEvent =
  | { kind: 'challenge' }
  | { kind: 'accept'; imsi: string; seconds: number; method: 'full' | 'reauth' }
  | { kind: 'reject'; cause: EapFailureCause | 'unknown_state' | 'no_eap' }
  | { kind: 'duplicate' }
  | { kind: 'drop'; reason: string };

export interface AaaResult {
  reply?: Uint8Array;
  event: AaaEvent;
}

interface Live {
  session: EapAkaPrimeServerSession;
  expiresMs: number;
}

/** Duplicate cache entry (RFC 5080 2.2.2): same source, Identifier and Request Authenticator -> same reply. */
interface Cached {
  reqAuth: string;
  reply: Uint8Array;
  expiresMs: number;
}

export class RadiusAaa {
  private readonly sessions = new Map<string, Live>();
  private readonly dupCache = new Map<string, Cached>();
  private lastSweep = 0;

  constructor(
    private readonly eap: EapAkaPrimeServer,
    private readonly secret: Uint8Array,
    private readonly opts: {
      sessionTimeoutMs?: number;
      duplicateWindowMs?: number;
      /** Bound on concurrent EAP sessions (and on the duplicate cache): new ones beyond it are dropped. */
      maxSessions?: number;
      /** Test/interop hook: sees the keys of each accepted authentication (the node never sets it). */
      onAccept?: (k: { imsi: string; msk: Uint8Array; emsk: Uint8Array }) => void;
    } = {},
  ) {}

  get liveSessions(): number {
    return this.sessions.size;
  }

  handle(bytes: Uint8Array, source: string, nowMs: number): AaaResult {
    this.sweep(nowMs);
    let req: ReturnType<typeof decodeRadius>;
    try {
      req = decodeRadius(bytes);
    } catch (e) {
      return { event: { kind: 'drop', reason: e instanceof RadiusDecodeError ? e.reason : 'malformed' } };
    }
    if (req.code !== RADIUS_CODE.ACCESS_REQUEST)
      return { event: { kind: 'drop', reason: 'not_access_request' } };
    // RFC 3579 3.2: an Access-Request with EAP-Message and no valid Message-Authenticator is silently discarded
    // (this is what a wrong shared secret looks like).
    if (!verifyRequestMessageAuthenticator(bytes, this.secret)) {
      return { event: { kind: 'drop', reason: 'bad_message_authenticator' } };
    }
    const dupKey = `${source}/${req.id}`;
    const reqAuth = Buffer.from(req.authenticator).toString('hex');
    const cached = this.dupCache.get(dupKey);
    if (cached && cached.reqAuth === reqAuth && cached.expiresMs > nowMs) {
      return { reply: cached.reply, event: { kind: 'duplicate' } };
    }
    const eapBytes = eapMessage(req);
    if (!eapBytes)
      return this.finish(req, dupKey, reqAuth, nowMs, RADIUS_CODE.ACCESS_REJECT, [], {
        kind: 'reject',
        cause: 'no_eap',
      });
    const stateAttr = attr(req, RADIUS_ATTR.STATE);
    let live: Live | undefined;
    let stateKey: string;
    if (stateAttr) {
      stateKey = Buffer.from(stateAttr).toString('hex');
      live = this.sessions.get(stateKey);
      // A replayed or stale Access-Request: its State names no live session.
      if (!live) {
        return this.finish(req, dupKey, reqAuth, nowMs, RADIUS_CODE.ACCESS_REJECT, [], {
          kind: 'reject',
          cause: 'unknown_state',
        });
      }
    } else {
      const max = this.opts.maxSessions ?? 100_000;
      if (this.sessions.size >= max || this.dupCache.size >= 4 * max)
        return { event: { kind: 'drop', reason: 'overload' } };
      stateKey = toHex(randomOctets(16));
      live = {
        session: this.eap.newSession(nowMs),
        expiresMs: nowMs + (this.opts.sessionTimeoutMs ?? 30_000),
      };
    }
    const out = live.session.receive(eapBytes, nowMs);
    if (out.kind === 'drop') return { event: { kind: 'drop', reason: `eap_${out.reason}` } };
    if (out.kind === 'request') {
      this.sessions.set(stateKey, live);
      return this.finish(
        req,
        dupKey,
        reqAuth,
        nowMs,
        RADIUS_CODE.ACCESS_CHALLENGE,
        [
          ...eapMessageAttributes(out.packet),
          { type: RADIUS_ATTR.STATE, value: Buffer.from(stateKey, 'hex') },
        ],
        { kind: 'challenge' },
      );
    }
    this.sessions.delete(stateKey);
    if (out.kind === 'success') {
      const userName = new TextEncoder().encode(out.imsi);
      this.opts.onAccept?.({ imsi: out.imsi, msk: out.msk, emsk: out.emsk });
      return this.finish(
        req,
        dupKey,
        reqAuth,
        nowMs,
        RADIUS_CODE.ACCESS_ACCEPT,
        [
          ...eapMessageAttributes(out.packet),
          { type: RADIUS_ATTR.USER_NAME, value: userName },
          ...mppeKeyAttributes(out.msk, this.secret, req.authenticator),
        ],
        {
          kind: 'accept',
          imsi: out.imsi,
          seconds: (nowMs - live.session.startedMs) / 1000,
          method: out.method,
        },
      );
    }
    return this.finish(
      req,
      dupKey,
      reqAuth,
      nowMs,
      RADIUS_CODE.ACCESS_REJECT,
      eapMessageAttributes(out.packet),
      {
        kind: 'reject',
        cause: out.cause,
      },
    );
  }

  private finish(
    req: { id: number; authenticator: Uint8Array },
    dupKey: string,
    reqAuth: string,
    nowMs: number,
    code: number,
    attrs: RadiusAttribute[],
    event: AaaEvent,
  ): AaaResult {
    const reply = buildResponse(code, req.id, req.authenticator, attrs, this.secret);
    this.dupCache.set(dupKey, { reqAuth, reply, expiresMs: nowMs + (this.opts.duplicateWindowMs ?? 5_000) });
    return { reply, event };
  }

  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweep < 1000) return;
    this.lastSweep = nowMs;
    for (const [k, v] of this.sessions) if (v.expiresMs <= nowMs) this.sessions.delete(k);
    for (const [k, v] of this.dupCache) if (v.expiresMs <= nowMs) this.dupCache.delete(k);
  }
}
