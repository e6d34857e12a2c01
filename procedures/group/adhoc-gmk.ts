// Ad-hoc GMK distribution (issue #6; TR 33.833 key issue #3.1, groups formed out of coverage): the UE that creates
// the group sets up a PC5 one-to-one link with each member (direct security mode, procedures/direct-link/, mutual
// authentication by the KD method) and sends the GMK over the link's protected user plane. The member accepts a
// GMK only from the link peer it knows as the group's creator. GMK-IDs carry the ad-hoc purpose tag (2), so they
// never collide with the group manager's, the ProSe Function's or the key server's. Sans-I/O: bytes and a clock in,
// bytes and decisions out; nodes/roles/ue-group-adhoc.ts wires it to the links.
//
// Wire format (prosec's own, version 1; docs/group.md), carried as one user-plane PDU of the link:
//   version (1) = 1 | type (1) | group ID length (1) | group ID (UTF-8)
//   type 1 GMK transfer: GMK-ID (4) | GMK (16) | activation ms (8) | expiry ms (8)
//   type 2 GMK acknowledgement: GMK-ID (4)
//   type 3 removed from the group (no body)
import { randomBytes } from 'node:crypto';
import { GMK_PURPOSE, type GmkRecord, gmkPurposeOf, newGmkId } from './gmk-distribution.js';

export const ADHOC_GMK_VERSION = 1;
const TYPE = { transfer: 1, ack: 2, removed: 3 } as const;
const GMK_BYTES = 16;

export type AdhocMessage =
  | { type: 'transfer'; record: GmkRecord }
  | { type: 'ack'; groupId: string; gmkId: number }
  | { type: 'removed'; groupId: string };

function header(type: number, groupId: string, bodyBytes: number): { out: Uint8Array; at: number } {
  const g = new TextEncoder().encode(groupId);
  if (g.length === 0 || g.length > 255) throw new RangeError('group ID must be 1..255 octets');
  const out = new Uint8Array(3 + g.length + bodyBytes);
  out[0] = ADHOC_GMK_VERSION;
  out[1] = type;
  out[2] = g.length;
  out.set(g, 3);
  return { out, at: 3 + g.length };
}

export function encodeAdhocMessage(m: AdhocMessage): Uint8Array {
  if (m.type === 'transfer') {
    const r = m.record;
    if (r.gmk.length !== GMK_BYTES) throw new RangeError('GMK must be 16 octets');
    const { out, at } = header(TYPE.transfer, r.groupId, 4 + GMK_BYTES + 16);
    const dv = new DataView(out.buffer);
    dv.setUint32(at, r.gmkId);
    out.set(r.gmk, at + 4);
    dv.setBigUint64(at + 20, BigInt(r.activatedAtMs));
    dv.setBigUint64(at + 28, BigInt(r.expiresAtMs));
    return out;
  }
  if (m.type === 'ack') {
    const { out, at } = header(TYPE.ack, m.groupId, 4);
    new DataView(out.buffer).setUint32(at, m.gmkId);
    return out;
  }
  return header(TYPE.removed, m.groupId, 0).out;
}

/** Parses one message; undefined for anything malformed (wrong version, type, lengths, non-UTF-8 group ID). */
export function decodeAdhocMessage(b: Uint8Array): AdhocMessage | undefined {
  if (b.length < 4 || b[0] !== ADHOC_GMK_VERSION) return undefined;
  const n = b[2]!;
  const at = 3 + n;
  if (n === 0 || b.length < at) return undefined;
  let groupId: string;
  try {
    groupId = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(3, at));
  } catch {
    return undefined;
  }
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const body = b.length - at;
  switch (b[1]) {
    case TYPE.transfer: {
      if (body !== 4 + GMK_BYTES + 16) return undefined;
      const activatedAtMs = Number(dv.getBigUint64(at + 20));
      const expiresAtMs = Number(dv.getBigUint64(at + 28));
      if (!Number.isSafeInteger(activatedAtMs) || !Number.isSafeInteger(expiresAtMs)) return undefined;
      return {
        type: 'transfer',
        record: {
          groupId,
          gmkId: dv.getUint32(at),
          gmk: b.slice(at + 4, at + 4 + GMK_BYTES),
          activatedAtMs,
          expiresAtMs,
        },
      };
    }
    case TYPE.ack:
      return body === 4 ? { type: 'ack', groupId, gmkId: dv.getUint32(at) } : undefined;
    case TYPE.removed:
      return body === 0 ? { type: 'removed', groupId } : undefined;
    default:
      return undefined;
  }
}

export type AdhocRejectReason = 'malformed' | 'unknown_group' | 'not_creator' | 'wrong_key_space' | 'expired';

/**
 * Member side: checks a GMK transfer received on a link whose authenticated peer is `fromPeerId`. The caller then
 * installs the record (GmkReceiver.installDirect keeps the newest per group by activation time).
 */
export function acceptAdhocGmk(
  m: AdhocMessage,
  fromPeerId: string,
  creatorOf: (groupId: string) => string | undefined,
  nowMs: number,
): { ok: true; record: GmkRecord } | { ok: false; reason: AdhocRejectReason } {
  if (m.type !== 'transfer') return { ok: false, reason: 'malformed' };
  const creator = creatorOf(m.record.groupId);
  if (creator === undefined) return { ok: false, reason: 'unknown_group' };
  if (creator !== fromPeerId) return { ok: false, reason: 'not_creator' };
  if (gmkPurposeOf(m.record.gmkId) !== GMK_PURPOSE.adhoc) return { ok: false, reason: 'wrong_key_space' };
  if (m.record.expiresAtMs <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, record: m.record };
}

export interface AdhocCreatorOptions {
  groupId: string;
  /** Members other than the creator. */
  members: string[];
  periodMs: number;
  random?: (n: number) => Uint8Array;
}

/**
 * Creator side of one ad-hoc group: the current GMK and which members still have to acknowledge it. A removal
 * generates a new GMK for the remaining members only; the removed member is owed a `removed` notice.
 */
export class AdhocGmkCreator {
  readonly groupId: string;
  private readonly members: Set<string>;
  private readonly random: (n: number) => Uint8Array;
  private gmk!: GmkRecord;
  private rekeyedAtMs = 0;
  /** Member -> nothing yet (pending) for the current GMK. */
  private readonly pending = new Set<string>();
  private readonly notices = new Set<string>();

  constructor(private readonly opts: AdhocCreatorOptions) {
    this.groupId = opts.groupId;
    this.members = new Set(opts.members);
    this.random = opts.random ?? randomBytes;
  }

  /** Generates a new GMK (first one, period expiry or removal); every remaining member becomes pending. */
  rekey(nowMs: number): GmkRecord {
    this.gmk = {
      groupId: this.groupId,
      gmkId: newGmkId('adhoc', this.random),
      gmk: this.random(GMK_BYTES),
      activatedAtMs: nowMs,
      expiresAtMs: nowMs + this.opts.periodMs,
    };
    this.rekeyedAtMs = nowMs;
    this.pending.clear();
    for (const m of this.members) this.pending.add(m);
    return this.gmk;
  }

  get current(): GmkRecord {
    return this.gmk;
  }

  /** Removes a member and rekeys: the new GMK goes to the others only. */
  remove(member: string, nowMs: number): GmkRecord {
    this.members.delete(member);
    this.notices.add(member);
    return this.rekey(nowMs);
  }

  /** Members that still need the current GMK, and members owed a removal notice. */
  todo(): { transfer: string[]; notify: string[] } {
    return { transfer: [...this.pending], notify: [...this.notices] };
  }

  /** What to send to `member` over its link now (a transfer, a removal notice, or nothing). */
  messageFor(member: string): Uint8Array | undefined {
    if (this.pending.has(member)) return encodeAdhocMessage({ type: 'transfer', record: this.gmk });
    if (this.notices.has(member)) {
      this.notices.delete(member);
      return encodeAdhocMessage({ type: 'removed', groupId: this.groupId });
    }
    return undefined;
  }

  /** An acknowledgement from `fromPeerId`: ms since the rekey when it completes that member, else undefined. */
  ack(fromPeerId: string, m: AdhocMessage, nowMs: number): { ms: number; allDone: boolean } | undefined {
    if (m.type !== 'ack' || m.groupId !== this.groupId || m.gmkId !== this.gmk.gmkId) return undefined;
    if (!this.pending.delete(fromPeerId)) return undefined;
    return { ms: nowMs - this.rekeyedAtMs, allDone: this.pending.size === 0 };
  }
}
