// Standard GMK distribution (TR 33.833 sol. #3.1, the TS 33.180 clause 5.7 / F.1 scheme): the group manager
// generates a GMK with a GMK-ID and a period of use, and sends each member a MIKEY-SAKKE I_MESSAGE (RFC 6509)
// with the GMK as SAKKE SSV encrypted to the member's identity and signed (ECCSI) with the group identity.
// Members verify, decapsulate and keep the newest GMK per group by timestamp. Sans-I/O: the expensive
// crypto (SAKKE encapsulation/decapsulation, ECCSI sign/verify) is a job the caller runs (inline or in
// nodes/crypto-pool.ts), then hands the result back. See docs/group.md.
import { randomBytes } from 'node:crypto';
import { ntpFromUnixMs, ntpToUnixMs } from '../../crypto-core/mikey.js';
import {
  buildSakkeIMessage,
  ECCSI_SIGNATURE_LENGTH,
  parseSakkeIMessage,
} from '../../crypto-core/mikey-sakke.js';
import { SAKKE_SSV_BYTES } from '../../crypto-core/rfc6508-sakke.js';
import { identityFor, type KeyPeriodSetting } from '../../crypto-core/rfc6509-identity.js';

/** GMK-ID purpose tag (4 most significant bits of the 32-bit key identifier), one per key source, so the
 * identifier spaces of standard, PC3-provisioned, ad-hoc and network-supported groups never collide
 * (TS 33.180 F.1.3 uses the top 4 bits of GMK-ID as a purpose tag; the values here are prosec's). */
export const GMK_PURPOSE = { standard: 0x0, pc3: 0x1, adhoc: 0x2, network: 0x3 } as const;
export type GmkPurpose = keyof typeof GMK_PURPOSE;

/** General Extension type carrying the GMK parameters (group ID, activation, expiry): prosec-private value. */
export const GMK_PARAMS_EXT_TYPE = 0xfe;
const GMK_PARAMS_VERSION = 1;

/** A GMK with its identifier and period of use (TS 33.180 5.7: GMK, GMK-ID, activation time, expiry). */
export interface GmkRecord {
  groupId: string;
  /** GMK-ID (32 bits, purpose tag in the top 4). */
  gmkId: number;
  /** Group Master Key: the 128-bit SAKKE SSV. */
  gmk: Uint8Array;
  activatedAtMs: number;
  expiresAtMs: number;
}

/** A fresh GMK-ID with the given purpose tag and 28 random bits. */
export function newGmkId(purpose: GmkPurpose, random: (n: number) => Uint8Array = randomBytes): number {
  const r = random(4);
  const low = ((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) & 0x0fffffff;
  return ((GMK_PURPOSE[purpose] << 28) | low) >>> 0;
}

export function gmkPurposeOf(gmkId: number): number {
  return gmkId >>> 28;
}

/**
 * A network-held group key with a period of use (sol. #3.5 ProSe Function, sol. #3.2 key server): in the last 20%
 * of a key's period a request gets the next key, active at once; members keep the previous one until it expires,
 * so a call set up across the switch still works.
 */
export class RotatingGroupKey {
  private key: GmkRecord | undefined;
  rotations = 0;

  constructor(
    private readonly groupId: string,
    private readonly purpose: GmkPurpose,
    private readonly periodMs: number,
    private readonly random: (n: number) => Uint8Array = randomBytes,
  ) {}

  current(nowMs: number): GmkRecord {
    const k = this.key;
    if (k && nowMs < k.expiresAtMs - Math.floor(this.periodMs * 0.2)) return k;
    if (k) this.rotations++;
    this.key = {
      groupId: this.groupId,
      gmkId: newGmkId(this.purpose, this.random),
      gmk: new Uint8Array(this.random(16)),
      activatedAtMs: nowMs,
      expiresAtMs: nowMs + this.periodMs,
    };
    return this.key;
  }
}

/** Encodes the GMK parameters: version(1) | groupId len(1) | groupId | activation ms(8) | expiry ms(8). */
export function encodeGmkParams(groupId: string, activatedAtMs: number, expiresAtMs: number): Uint8Array {
  const g = new TextEncoder().encode(groupId);
  if (g.length < 1 || g.length > 64) throw new RangeError('group ID must be 1..64 octets');
  const out = new Uint8Array(2 + g.length + 16);
  out[0] = GMK_PARAMS_VERSION;
  out[1] = g.length;
  out.set(g, 2);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(2 + g.length, BigInt(activatedAtMs));
  dv.setBigUint64(10 + g.length, BigInt(expiresAtMs));
  return out;
}

export function decodeGmkParams(
  data: Uint8Array,
): { groupId: string; activatedAtMs: number; expiresAtMs: number } | undefined {
  if (data.length < 3 || data[0] !== GMK_PARAMS_VERSION) return undefined;
  const n = data[1]!;
  if (n < 1 || n > 64 || data.length !== 2 + n + 16) return undefined;
  let groupId: string;
  try {
    groupId = new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(2, 2 + n));
  } catch {
    return undefined;
  }
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const activatedAtMs = Number(dv.getBigUint64(2 + n));
  const expiresAtMs = Number(dv.getBigUint64(10 + n));
  if (!Number.isSafeInteger(activatedAtMs) || !Number.isSafeInteger(expiresAtMs)) return undefined;
  if (expiresAtMs <= activatedAtMs) return undefined;
  return { groupId, activatedAtMs, expiresAtMs };
}

/** The group identity URI a group manager signs with (RFC 6509 identifier, sip: form). */
export function groupIdentityUri(groupId: string): string {
  return `sip:${groupId}@groups.prosec.test`;
}

/** One I_MESSAGE to produce: the caller SAKKE-encapsulates `ssv` to `identity` under Z_S, then calls assemble(). */
export interface GmkDeliveryJob {
  memberUri: string;
  /** RFC 6509 identifier of the member for the current key period. */
  identity: Uint8Array;
  ssv: Uint8Array;
  record: GmkRecord;
}

/** An assembled I_MESSAGE waiting for its ECCSI signature over `toBeSigned`. */
export interface UnsignedIMessage {
  memberUri: string;
  toBeSigned: Uint8Array;
  /** Inserts the 129-octet ECCSI signature and returns the I_MESSAGE bytes. */
  complete(signature: Uint8Array): Uint8Array;
}

export interface GmkDistributorOptions {
  groupId: string;
  /** Signer identity (the group identity URI). */
  groupUri: string;
  kmsUri: string;
  /** GMK period of use (ms). */
  periodMs: number;
  keyPeriod?: KeyPeriodSetting;
  purpose?: GmkPurpose;
  random?: (n: number) => Uint8Array;
}

export type DistributorEvent =
  | { type: 'rekey'; reason: 'initial' | 'expiry' | 'member_removed' | 'manual'; record: GmkRecord }
  | { type: 'member_added'; memberUri: string };

/** Group manager side: member list, current GMK, rekey on expiry and on member removal. */
export class GmkDistributor {
  private readonly memberSet = new Set<string>();
  private currentRecord: GmkRecord | undefined;
  private readonly random: (n: number) => Uint8Array;

  constructor(private readonly opts: GmkDistributorOptions) {
    if (!(opts.periodMs > 0)) throw new RangeError('GMK period must be positive');
    this.random = opts.random ?? randomBytes;
  }

  get groupId(): string {
    return this.opts.groupId;
  }

  members(): string[] {
    return [...this.memberSet];
  }

  isMember(uri: string): boolean {
    return this.memberSet.has(uri);
  }

  current(): GmkRecord | undefined {
    return this.currentRecord;
  }

  addMember(uri: string): DistributorEvent[] {
    if (this.memberSet.has(uri)) return [];
    this.memberSet.add(uri);
    return [{ type: 'member_added', memberUri: uri }];
  }

  /** Removes a member and rekeys: the new GMK goes to the remaining members only. */
  removeMember(uri: string, nowMs: number): DistributorEvent[] {
    if (!this.memberSet.delete(uri)) return [];
    return [this.rotate(nowMs, 'member_removed')];
  }

  /** Starts the first GMK or rotates on expiry; `marginMs` before expiry so members have it in time. */
  tick(nowMs: number, marginMs = 0): DistributorEvent[] {
    if (!this.currentRecord) return [this.rotate(nowMs, 'initial')];
    if (nowMs >= this.currentRecord.expiresAtMs - marginMs) return [this.rotate(nowMs, 'expiry')];
    return [];
  }

  rotate(
    nowMs: number,
    reason: 'initial' | 'expiry' | 'member_removed' | 'manual',
  ): DistributorEvent & { type: 'rekey' } {
    const record: GmkRecord = {
      groupId: this.opts.groupId,
      gmkId: newGmkId(this.opts.purpose ?? 'standard', this.random),
      gmk: new Uint8Array(this.random(SAKKE_SSV_BYTES)),
      activatedAtMs: nowMs,
      expiresAtMs: nowMs + this.opts.periodMs,
    };
    this.currentRecord = record;
    return { type: 'rekey', reason, record };
  }

  /** Jobs for the current GMK to `members` (default: every member); never to a non-member. */
  jobs(nowMs: number, members: string[] = this.members()): GmkDeliveryJob[] {
    const record = this.currentRecord;
    if (!record) return [];
    const now = new Date(nowMs);
    return members
      .filter((m) => this.memberSet.has(m))
      .map((memberUri) => ({
        memberUri,
        identity: identityFor(memberUri, now, this.opts.keyPeriod),
        ssv: record.gmk,
        record,
      }));
  }

  /** Builds the I_MESSAGE for `job` around the SAKKE Encapsulated Data; the signature comes later. */
  assemble(job: GmkDeliveryJob, sakkeData: Uint8Array, nowMs: number): UnsignedIMessage {
    let toBeSigned: Uint8Array | undefined;
    const bytes = buildSakkeIMessage({
      csbId: job.record.gmkId,
      timestamp: ntpFromUnixMs(nowMs),
      rand: this.random(16),
      initiatorUri: this.opts.groupUri,
      responderUri: job.memberUri,
      kmsUri: this.opts.kmsUri,
      sakkeData,
      extensions: [
        {
          type: GMK_PARAMS_EXT_TYPE,
          data: encodeGmkParams(job.record.groupId, job.record.activatedAtMs, job.record.expiresAtMs),
        },
      ],
      sign: (tbs) => {
        toBeSigned = tbs.slice();
        return new Uint8Array(ECCSI_SIGNATURE_LENGTH);
      },
    });
    const tbs = toBeSigned!;
    return {
      memberUri: job.memberUri,
      toBeSigned: tbs,
      complete: (signature) => {
        if (signature.length !== ECCSI_SIGNATURE_LENGTH)
          throw new RangeError('ECCSI signature is 129 octets');
        const out = bytes.slice();
        out.set(signature, out.length - ECCSI_SIGNATURE_LENGTH);
        return out;
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Member side.

export type GmkRejectReason =
  | 'malformed'
  | 'wrong_recipient'
  | 'untrusted_signer'
  | 'params'
  | 'signature'
  | 'sakke'
  | 'expired'
  | 'stale';

/** An I_MESSAGE that passed the cheap checks; the caller verifies the signature and decapsulates. */
export interface PendingGmk {
  groupId: string;
  gmkId: number;
  timestampMs: number;
  activatedAtMs: number;
  expiresAtMs: number;
  signerUri: string;
  /** ECCSI verify job: message, signature, signer identity. */
  verify: { message: Uint8Array; signature: Uint8Array; signerIdentity: Uint8Array };
  /** SAKKE decapsulation job: Encapsulated Data and the member's own identity. */
  decapsulate: { encapsulated: Uint8Array; identity: Uint8Array };
}

export type GmkOpenResult = { ok: true; pending: PendingGmk } | { ok: false; reason: GmkRejectReason };
export type GmkInstallResult =
  | { ok: true; record: GmkRecord; replaced?: number }
  | { ok: false; reason: GmkRejectReason };

export interface GmkReceiverOptions {
  /** This member's identity URI. */
  selfUri: string;
  /** Group ID -> the URI allowed to sign its GMKs (the group identity). */
  trustedSigner: (groupId: string) => string | undefined;
  keyPeriod?: KeyPeriodSetting;
  /** Largest accepted |I_MESSAGE timestamp - now| (default 5 min). */
  maxSkewMs?: number;
}

interface StoredGmk extends GmkRecord {
  timestampMs: number;
}

/** Member side: checks I_MESSAGEs and keeps the newest GMK per group (by I_MESSAGE timestamp). */
export class GmkReceiver {
  private readonly byGroup = new Map<string, StoredGmk>();
  private readonly byId = new Map<number, StoredGmk>();
  private readonly previous = new Map<string, StoredGmk>();

  constructor(private readonly opts: GmkReceiverOptions) {}

  /** Parses and checks everything but the crypto; returns the two crypto jobs to run. */
  open(bytes: Uint8Array, nowMs: number): GmkOpenResult {
    let captured: { message: Uint8Array; signature: Uint8Array } | undefined;
    let msg: ReturnType<typeof parseSakkeIMessage>;
    try {
      msg = parseSakkeIMessage(bytes, (message, signature) => {
        captured = { message, signature };
        return true;
      });
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (msg.responderUri !== this.opts.selfUri) return { ok: false, reason: 'wrong_recipient' };
    const ext = msg.extensions.find((e) => e.type === GMK_PARAMS_EXT_TYPE);
    const params = ext ? decodeGmkParams(ext.data) : undefined;
    if (!params) return { ok: false, reason: 'params' };
    const signer = this.opts.trustedSigner(params.groupId);
    if (signer === undefined || signer !== msg.initiatorUri) return { ok: false, reason: 'untrusted_signer' };
    const timestampMs = ntpToUnixMs(msg.timestamp);
    if (Math.abs(timestampMs - nowMs) > (this.opts.maxSkewMs ?? 300_000))
      return { ok: false, reason: 'stale' };
    if (nowMs >= params.expiresAtMs) return { ok: false, reason: 'expired' };
    const cur = this.byGroup.get(params.groupId);
    if (cur && cur.timestampMs >= timestampMs) return { ok: false, reason: 'stale' };
    const now = new Date(nowMs);
    return {
      ok: true,
      pending: {
        groupId: params.groupId,
        gmkId: msg.csbId,
        timestampMs,
        activatedAtMs: params.activatedAtMs,
        expiresAtMs: params.expiresAtMs,
        signerUri: msg.initiatorUri,
        verify: {
          message: captured!.message,
          signature: captured!.signature,
          signerIdentity: identityFor(msg.initiatorUri, now, this.opts.keyPeriod),
        },
        decapsulate: {
          encapsulated: msg.sakkeData,
          identity: identityFor(this.opts.selfUri, now, this.opts.keyPeriod),
        },
      },
    };
  }

  /** Installs the GMK once the signature verified and decapsulation gave `ssv` (undefined: it failed). */
  install(p: PendingGmk, signatureValid: boolean, ssv: Uint8Array | undefined): GmkInstallResult {
    if (!signatureValid) return { ok: false, reason: 'signature' };
    if (!ssv || ssv.length !== SAKKE_SSV_BYTES) return { ok: false, reason: 'sakke' };
    const cur = this.byGroup.get(p.groupId);
    // Re-check: another I_MESSAGE may have been installed while the crypto ran.
    if (cur && cur.timestampMs >= p.timestampMs) return { ok: false, reason: 'stale' };
    const rec: StoredGmk = {
      groupId: p.groupId,
      gmkId: p.gmkId,
      gmk: ssv,
      activatedAtMs: p.activatedAtMs,
      expiresAtMs: p.expiresAtMs,
      timestampMs: p.timestampMs,
    };
    // Only the newest GMK of a group is kept: a superseded GMK (e.g. after a member removal) is retired.
    if (cur) this.byId.delete(cur.gmkId);
    this.byGroup.set(p.groupId, rec);
    this.byId.set(p.gmkId, rec);
    return cur ? { ok: true, record: rec, replaced: cur.gmkId } : { ok: true, record: rec };
  }

  /**
   * Installs a key obtained another way (PC3 provisioning, ad-hoc link, key server), newest wins. Unlike a
   * rekey by the group manager (which may follow a removal), a scheduled reconfiguration keeps the previous
   * key usable for calls until its own expiry, so members that re-fetch a little later still follow.
   */
  installDirect(rec: GmkRecord, timestampMs: number): GmkInstallResult {
    const cur = this.byGroup.get(rec.groupId);
    if (cur && cur.timestampMs >= timestampMs) return { ok: false, reason: 'stale' };
    const s: StoredGmk = { ...rec, timestampMs };
    const older = this.previous.get(rec.groupId);
    if (older && older.gmkId !== cur?.gmkId) this.byId.delete(older.gmkId);
    if (cur) this.previous.set(rec.groupId, cur);
    this.byGroup.set(rec.groupId, s);
    this.byId.set(rec.gmkId, s);
    return cur ? { ok: true, record: s, replaced: cur.gmkId } : { ok: true, record: s };
  }

  /** The GMK named by `gmkId` if held and within its period of use. */
  lookup(
    gmkId: number,
    nowMs: number,
  ): { ok: true; record: GmkRecord } | { ok: false; reason: 'unknown_key' | 'expired' } {
    const r = this.byId.get(gmkId);
    if (!r) return { ok: false, reason: 'unknown_key' };
    if (nowMs < r.activatedAtMs - (this.opts.maxSkewMs ?? 300_000) || nowMs >= r.expiresAtMs)
      return { ok: false, reason: 'expired' };
    return { ok: true, record: r };
  }

  current(groupId: string): GmkRecord | undefined {
    return this.byGroup.get(groupId);
  }
}
