// Network-supported GMK distribution (TR 33.833 sol. #3.2, GBA-based): a key server (a NAF) delivers the group
// key to a member under GBA push (TS 33.223). It takes a fresh AKA authentication vector for the member's IMPI,
// derives Ks_(ext)_NAF (TS 33.220 B.3) and seals the group key under it; the push carries RAND and AUTN, so the
// member's USIM authenticates the network (MAC-A, SQN freshness, TS 33.102 6.3.3) and derives the same key. Only
// the subscriber holding K can open it. Sans-I/O: the key server role (nodes/roles/key-server.ts) and the UE
// (nodes/roles/ue-group.ts) wire it to PC3 TLS.
//
// Push format (prosec's own, version 1, with TS 33.223's GPI fields where they exist; docs/group.md):
//   version (1) = 1 | RAND (16) | AUTN (16) | P-TID (16) | NAF_Id length (1) | NAF_Id | group ID length (1) | group ID
//   | nonce (12) | AES-256-GCM(Ks_NAF; GMK-ID (4) | GMK (16) | activation ms (8) | expiry ms (8)) | tag (16)
// The AAD is every octet before the nonce: a changed RAND, AUTN, NAF or group fails the tag.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type AuthVector, type SqnArray, verifyAutn } from '../../crypto-core/aka-sqn.js';
import { constantTimeEqual } from '../../crypto-core/bytes.js';
import type { Milenage } from '../../crypto-core/milenage.js';
import { deriveKsNaf } from '../../crypto-core/ts33220-gba.js';
import { GMK_PURPOSE, type GmkRecord, gmkPurposeOf } from './gmk-distribution.js';

export const GBA_PUSH_VERSION = 1;
/** Ua security protocol identifier of prosec's group key push (5 octets; prosec-private value, docs/group.md). */
export const PROSEC_UA_PROTOCOL_ID = Uint8Array.of(0xff, 0x00, 0x00, 0x00, 0x01);
export const DEFAULT_NAF_FQDN = 'keyserver.prosec.test';

/** IMPI derived from the IMSI (TS 23.003 13.3). */
export function impiOf(imsi: string): string {
  return `${imsi}@ims.mnc${imsi.slice(3, 5).padStart(3, '0')}.mcc${imsi.slice(0, 3)}.3gppnetwork.org`;
}
const SEALED_BYTES = 4 + 16 + 8 + 8;

export interface GroupKeyPushInput {
  av: AuthVector;
  impi: string;
  naf: Uint8Array;
  record: GmkRecord;
  random?: (n: number) => Uint8Array;
}

/** Key server side: the push for one member (a fresh vector per push: never reuse one). */
export function buildGroupKeyPush(i: GroupKeyPushInput): Uint8Array {
  const rnd = i.random ?? randomBytes;
  const g = new TextEncoder().encode(i.record.groupId);
  if (i.naf.length === 0 || i.naf.length > 255 || g.length === 0 || g.length > 255)
    throw new RangeError('NAF_Id and group ID must be 1..255 octets');
  const head = new Uint8Array(1 + 16 + 16 + 16 + 1 + i.naf.length + 1 + g.length);
  let o = 0;
  head[o++] = GBA_PUSH_VERSION;
  head.set(i.av.rand, o);
  o += 16;
  head.set(i.av.autn, o);
  o += 16;
  head.set(rnd(16), o); // P-TID: a transaction identifier the key server may use to find the push again
  o += 16;
  head[o++] = i.naf.length;
  head.set(i.naf, o);
  o += i.naf.length;
  head[o++] = g.length;
  head.set(g, o);
  const plain = Buffer.alloc(SEALED_BYTES);
  plain.writeUInt32BE(i.record.gmkId, 0);
  plain.set(i.record.gmk, 4);
  plain.writeBigUInt64BE(BigInt(i.record.activatedAtMs), 20);
  plain.writeBigUInt64BE(BigInt(i.record.expiresAtMs), 28);
  const key = deriveKsNaf(i.av.ck, i.av.ik, i.av.rand, i.impi, i.naf);
  const nonce = rnd(12);
  const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
  c.setAAD(head);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return new Uint8Array(Buffer.concat([head, nonce, ct, c.getAuthTag()]));
}

export type GroupKeyPushFailure =
  | 'malformed'
  | 'wrong_naf'
  | 'mac_failure'
  | 'sync_failure'
  | 'bad_seal'
  | 'wrong_group'
  | 'wrong_key_space'
  | 'expired';

export interface UsimState {
  milenage: Milenage;
  sqn: SqnArray;
  impi: string;
}

/**
 * UE side: authenticates the network from AUTN with the USIM (MAC-A, then SQN freshness: a replayed push is a
 * sync failure), derives Ks_NAF and opens the group key. `groupId` is the group the UE asked for.
 */
export function openGroupKeyPush(
  b: Uint8Array,
  usim: UsimState,
  expectedNaf: Uint8Array,
  groupId: string,
  nowMs: number,
): { ok: true; record: GmkRecord } | { ok: false; reason: GroupKeyPushFailure } {
  if (b.length < 1 + 48 + 2 || b[0] !== GBA_PUSH_VERSION) return { ok: false, reason: 'malformed' };
  const rand = b.subarray(1, 17);
  const autn = b.subarray(17, 33);
  let o = 49;
  const nafLen = b[o++]!;
  const naf = b.subarray(o, o + nafLen);
  o += nafLen;
  if (o >= b.length) return { ok: false, reason: 'malformed' };
  const gLen = b[o++]!;
  const gBytes = b.subarray(o, o + gLen);
  o += gLen;
  if (nafLen === 0 || gLen === 0 || b.length !== o + 12 + SEALED_BYTES + 16)
    return { ok: false, reason: 'malformed' };
  if (naf.length !== expectedNaf.length || !constantTimeEqual(naf, expectedNaf))
    return { ok: false, reason: 'wrong_naf' };
  if (Buffer.from(gBytes).toString('utf8') !== groupId) return { ok: false, reason: 'wrong_group' };
  const r = verifyAutn(usim.milenage, rand, autn, usim.sqn);
  if (r.kind === 'mac_failure') return { ok: false, reason: 'mac_failure' };
  if (r.kind === 'sync_failure') return { ok: false, reason: 'sync_failure' };
  const key = deriveKsNaf(r.ck, r.ik, rand, usim.impi, naf);
  const d = createDecipheriv('aes-256-gcm', key, b.subarray(o, o + 12), { authTagLength: 16 });
  d.setAAD(b.subarray(0, o));
  d.setAuthTag(b.subarray(b.length - 16));
  let plain: Buffer;
  try {
    plain = Buffer.concat([d.update(b.subarray(o + 12, b.length - 16)), d.final()]);
  } catch {
    return { ok: false, reason: 'bad_seal' };
  }
  const record: GmkRecord = {
    groupId,
    gmkId: plain.readUInt32BE(0),
    gmk: new Uint8Array(plain.subarray(4, 20)),
    activatedAtMs: Number(plain.readBigUInt64BE(20)),
    expiresAtMs: Number(plain.readBigUInt64BE(28)),
  };
  if (gmkPurposeOf(record.gmkId) !== GMK_PURPOSE.network) return { ok: false, reason: 'wrong_key_space' };
  if (record.expiresAtMs <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, record };
}
