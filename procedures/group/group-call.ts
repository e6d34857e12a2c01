// Group call set-up (TR 33.833 sol. #3.1 call phase, TS 33.180 7.3 analogue): the initiator picks a fresh GSK
// and GSK-ID and sends a MIKEY pre-shared-key message (RFC 3830 3.1) over PC5 multicast: the GSK in KEMAC under
// the GMK (IDRpsk = GMK-ID, CSB ID = GSK-ID), signed with the initiator's ECCSI key (SIGN, RFC 6509 4.3).
// Members look the GMK up, check the MAC and the signer, and derive the Group Security Context (GSK, GSK-ID,
// group L2 ID) from which per-sender media keys come (group-media.ts). Sans-I/O; signature as a job.
import { randomBytes } from 'node:crypto';
import { KeyDataType, ntpFromUnixMs, ntpToUnixMs } from '../../crypto-core/mikey.js';
import { buildPskMessage, ECCSI_SIGNATURE_LENGTH, parsePskMessage } from '../../crypto-core/mikey-sakke.js';
import { identityFor, type KeyPeriodSetting } from '../../crypto-core/rfc6509-identity.js';
import type { GmkReceiver, GmkRecord } from './gmk-distribution.js';

/** GSK length: 256 bits (the PGK role of TS 33.303 A.3, from which PTKs are derived). */
export const GSK_BYTES = 32;

/** Group Security Context (TR 33.833 sol. #3.1): what a member needs to protect and check the call's media. */
export interface GroupSecurityContext {
  groupId: string;
  gmkId: number;
  /** GSK-ID (32 bits, the MIKEY CSB ID). */
  gskId: number;
  /** Group Session Key. */
  gsk: Uint8Array;
  initiatorUri: string;
  startedAtMs: number;
}

export function gmkIdBytes(gmkId: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, gmkId >>> 0);
  return b;
}

function u32(b: Uint8Array): number | undefined {
  return b.length === 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0) : undefined;
}

export interface UnsignedCallInit {
  context: GroupSecurityContext;
  toBeSigned: Uint8Array;
  complete(signature: Uint8Array): Uint8Array;
}

/** Initiator: builds the call-init MIKEY message; sign the `toBeSigned` octets and call complete(). */
export function prepareCallInit(
  gmk: GmkRecord,
  initiatorUri: string,
  nowMs: number,
  random: (n: number) => Uint8Array = randomBytes,
): UnsignedCallInit {
  const gsk = new Uint8Array(random(GSK_BYTES));
  const gskId = u32(random(4))!;
  let toBeSigned: Uint8Array | undefined;
  const bytes = buildPskMessage({
    csbId: gskId,
    timestamp: ntpFromUnixMs(nowMs),
    rand: random(16),
    initiatorUri,
    envelopeKeyId: gmkIdBytes(gmk.gmkId),
    envelopeKey: gmk.gmk,
    keys: [{ type: KeyDataType.TEK, key: gsk, kv: { type: 'SPI', spi: gmkIdBytes(gskId) } }],
    sign: (tbs) => {
      toBeSigned = tbs.slice();
      return new Uint8Array(ECCSI_SIGNATURE_LENGTH);
    },
  });
  return {
    context: { groupId: gmk.groupId, gmkId: gmk.gmkId, gskId, gsk, initiatorUri, startedAtMs: nowMs },
    toBeSigned: toBeSigned!,
    complete: (signature) => {
      if (signature.length !== ECCSI_SIGNATURE_LENGTH) throw new RangeError('ECCSI signature is 129 octets');
      const out = bytes.slice();
      out.set(signature, out.length - ECCSI_SIGNATURE_LENGTH);
      return out;
    },
  };
}

export type CallRejectReason =
  | 'malformed'
  | 'unknown_key'
  | 'expired'
  | 'mac'
  | 'signature'
  | 'stale'
  | 'replay'
  | 'bad_key_data';

export interface PendingCall {
  context: GroupSecurityContext;
  verify: { message: Uint8Array; signature: Uint8Array; signerIdentity: Uint8Array };
}

export type CallOpenResult = { ok: true; pending: PendingCall } | { ok: false; reason: CallRejectReason };

export interface GroupCallReceiverOptions {
  gmks: GmkReceiver;
  keyPeriod?: KeyPeriodSetting;
  /** Largest accepted |timestamp - now| of a call-init (default 30 s): older messages are replays. */
  maxSkewMs?: number;
  /** How many recent GSK-IDs to remember for replay detection (default 4096). */
  replayMemory?: number;
  /** INSECURE, threat-matrix control only: groups whose call-inits skip the GSK-ID replay memory. */
  noReplayCheck?: ReadonlySet<string>;
}

/** Member side of group call set-up. */
export class GroupCallReceiver {
  private readonly seen = new Map<number, number>();
  private readonly calls = new Map<number, GroupSecurityContext>();

  constructor(private readonly opts: GroupCallReceiverOptions) {}

  /** Checks a call-init up to (not including) the ECCSI signature, which is returned as a job. */
  open(bytes: Uint8Array, nowMs: number): CallOpenResult {
    let keyFailure: 'unknown_key' | 'expired' | undefined;
    let gmk: GmkRecord | undefined;
    let captured: { message: Uint8Array; signature: Uint8Array } | undefined;
    let msg: ReturnType<typeof parsePskMessage>;
    try {
      msg = parsePskMessage(
        bytes,
        (id) => {
          const gmkId = u32(id);
          if (gmkId === undefined) {
            keyFailure = 'unknown_key';
            return undefined;
          }
          const l = this.opts.gmks.lookup(gmkId, nowMs);
          if (!l.ok) {
            keyFailure = l.reason;
            return undefined;
          }
          gmk = l.record;
          return l.record.gmk;
        },
        (message, signature) => {
          captured = { message, signature };
          return true;
        },
        { requireSignature: true },
      );
    } catch (e) {
      if (keyFailure) return { ok: false, reason: keyFailure };
      const code = (e as { code?: string }).code;
      if (code === 'mac') return { ok: false, reason: 'mac' };
      if (code === 'missing_payload' || code === 'signature') return { ok: false, reason: 'signature' };
      return { ok: false, reason: 'malformed' };
    }
    const ts = ntpToUnixMs(msg.timestamp);
    if (Math.abs(ts - nowMs) > (this.opts.maxSkewMs ?? 30_000)) return { ok: false, reason: 'stale' };
    if (this.seen.has(msg.csbId) && !this.opts.noReplayCheck?.has(gmk!.groupId))
      return { ok: false, reason: 'replay' };
    const k = msg.keys[0];
    if (msg.keys.length !== 1 || !k || k.type !== KeyDataType.TEK || k.key.length !== GSK_BYTES)
      return { ok: false, reason: 'bad_key_data' };
    if (k.kv.type !== 'SPI' || u32(k.kv.spi) !== msg.csbId) return { ok: false, reason: 'bad_key_data' };
    return {
      ok: true,
      pending: {
        context: {
          groupId: gmk!.groupId,
          gmkId: gmk!.gmkId,
          gskId: msg.csbId,
          gsk: k.key,
          initiatorUri: msg.initiatorUri,
          startedAtMs: ts,
        },
        verify: {
          message: captured!.message,
          signature: captured!.signature,
          signerIdentity: identityFor(msg.initiatorUri, new Date(nowMs), this.opts.keyPeriod),
        },
      },
    };
  }

  /** Installs the Group Security Context once the initiator's signature verified. */
  complete(
    p: PendingCall,
    signatureValid: boolean,
  ): { ok: true; context: GroupSecurityContext } | { ok: false; reason: CallRejectReason } {
    if (!signatureValid) return { ok: false, reason: 'signature' };
    if (this.seen.has(p.context.gskId) && !this.opts.noReplayCheck?.has(p.context.groupId))
      return { ok: false, reason: 'replay' };
    this.seen.set(p.context.gskId, p.context.startedAtMs);
    const max = this.opts.replayMemory ?? 4096;
    while (this.seen.size > max) this.seen.delete(this.seen.keys().next().value!);
    this.calls.set(p.context.gskId, p.context);
    while (this.calls.size > 64) this.calls.delete(this.calls.keys().next().value!);
    return { ok: true, context: p.context };
  }

  call(gskId: number): GroupSecurityContext | undefined {
    return this.calls.get(gskId);
  }
}
