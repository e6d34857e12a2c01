// Restricted discovery with a rotating over-the-air identifier (TR 33.833 solution #2.1), sans-I/O.
// The announcing UE sends ID = HMAC-SHA-256(K_id, fresh)[0..16], K_id derived from its ProSe Application Key and
// Code, so the ID changes with every announcement; only monitoring UEs given that key can recognise it.
//   option 1 ('nonce'):     fresh = 0x01 || nonce (8 random octets, carried in the message);
//   option 2 ('time-slot'): fresh = 0x02 || UTC-based counter (4 octets; only its 8 LSBs are carried).
// A discovery MIC over the message (and, for option 2, the whole counter) protects the metadata.
import { createHmac, randomBytes } from 'node:crypto';
import { constantTimeEqual, toHex } from '../../crypto-core/bytes.js';
import { DISCOVERY_KEY_PURPOSE, deriveDiscoveryKey } from '../../crypto-core/prose-kdf.js';
import {
  BoundedSeenSet,
  DiscoveryFormatError,
  type DiscoveryRejectCause,
  decodeDiscovery,
  encodeDiscovery,
  MIC_BYTES,
  NONCE_BYTES,
  type RestrictedAnnounce,
  ROTATING_ID_BYTES,
  signedPart,
  timeSlot,
} from './messages.js';

export type RestrictedOption = 'nonce' | 'time-slot';

/** A ProSe Application Code with its ProSe Application Key (allocated by the ProSe Function). */
export interface RestrictedCode {
  /** ProSe Application Code (opaque octets, TS 33.303 6.1.3 ProSe Restricted Code role). */
  code: Uint8Array;
  /** ProSe Application Key, 32 octets. */
  key: Uint8Array;
}

/** An entry a monitoring UE is authorized for: whose code it is (ALUID, the application-level user ID). */
export interface MonitorEntry extends RestrictedCode {
  owner: string;
}

interface DerivedKeys {
  kId: Uint8Array;
  kMic: Uint8Array;
}

function derive(c: RestrictedCode): DerivedKeys {
  return {
    kId: deriveDiscoveryKey(c.key, c.code, DISCOVERY_KEY_PURPOSE.ROTATING_ID),
    kMic: deriveDiscoveryKey(c.key, c.code, DISCOVERY_KEY_PURPOSE.MIC),
  };
}

function hmac(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0);
  return b;
}

/** Over-the-air ID, option 1: HMAC-SHA-256(K_id, 0x01 || nonce) truncated to 16 octets. */
export function rotatingIdNonce(kId: Uint8Array, nonce: Uint8Array): Uint8Array {
  return hmac(kId, Uint8Array.of(0x01), nonce).subarray(0, ROTATING_ID_BYTES);
}

/** Over-the-air ID, option 2: HMAC-SHA-256(K_id, 0x02 || UTC-based counter) truncated to 16 octets. */
export function rotatingIdSlot(kId: Uint8Array, slot: number): Uint8Array {
  return hmac(kId, Uint8Array.of(0x02), u32(slot)).subarray(0, ROTATING_ID_BYTES);
}

/** Discovery MIC: HMAC-SHA-256(K_mic, [counter ||] message without MIC) truncated to 4 octets. */
function discoveryMic(kMic: Uint8Array, m: RestrictedAnnounce, slot?: number): Uint8Array {
  const parts = slot === undefined ? [signedPart(m)] : [u32(slot), signedPart(m)];
  return hmac(kMic, ...parts).subarray(0, MIC_BYTES);
}

/** The announcing UE (Model A): one announcement per call; option 2 allows one per time slot. */
export class RestrictedAnnouncer {
  private readonly keys: DerivedKeys;
  private lastSlot = -1;

  constructor(
    code: RestrictedCode,
    private readonly opts: { option: RestrictedOption; slotMs: number },
  ) {
    this.keys = derive(code);
  }

  /** The announcement payload, or undefined (option 2) when this time slot was already used. */
  announce(nowMs: number, meta: Uint8Array = new Uint8Array(0)): Uint8Array | undefined {
    const placeholder = new Uint8Array(MIC_BYTES);
    if (this.opts.option === 'nonce') {
      const nonce = randomBytes(NONCE_BYTES);
      const m: RestrictedAnnounce = {
        kind: 'restricted_nonce',
        fresh: nonce,
        rotatingId: rotatingIdNonce(this.keys.kId, nonce),
        meta,
        mic: placeholder,
      };
      m.mic = discoveryMic(this.keys.kMic, m);
      return encodeDiscovery(m);
    }
    const slot = timeSlot(nowMs, this.opts.slotMs);
    if (slot === this.lastSlot) return undefined;
    this.lastSlot = slot;
    const m: RestrictedAnnounce = {
      kind: 'restricted_slot',
      fresh: Uint8Array.of(slot & 0xff),
      rotatingId: rotatingIdSlot(this.keys.kId, slot),
      meta,
      mic: placeholder,
    };
    m.mic = discoveryMic(this.keys.kMic, m, slot);
    return encodeDiscovery(m);
  }
}

export type MonitorEvent =
  | { type: 'match'; owner: string; code: Uint8Array; option: RestrictedOption; meta: Uint8Array }
  | { type: 'rejected'; cause: DiscoveryRejectCause };

interface Watched extends MonitorEntry, DerivedKeys {}

/** Slots of the past kept to tell a stale ID from an unknown one. */
const STALE_HISTORY = 4;

/**
 * The monitoring UE: matches announcements against every code it is authorized for. Option 1 costs one HMAC per
 * watched code per announcement; option 2 precomputes a table per time slot (one HMAC per code per slot) and then
 * costs one lookup per announcement. Checks, cheapest first: format, ID, freshness, MIC, replay.
 */
export class RestrictedMonitor {
  private watched: Watched[] = [];
  /** Option 2: ID (hex) -> watched entry and slot, for the slots computed so far. */
  private readonly slotTable = new Map<string, { w: Watched; slot: number }>();
  private readonly slotsComputed = new Set<number>();
  private readonly seenNonces: BoundedSeenSet;
  /** Option 2: IDs already accepted (one announcement per slot), with their slot for pruning. */
  private readonly seenSlotIds = new Map<string, number>();
  /** HMAC computations done for matching (receiver cost, TR 33.833 editor's note on solution #2.1). */
  hmacs = 0;

  constructor(
    private readonly opts: {
      slotMs: number;
      replayCacheSize?: number;
      tolerance?: number;
      /** false only for the threat matrix's weakened control: a replayed announcement matches again. */
      replayCheck?: boolean;
    },
  ) {
    this.seenNonces = new BoundedSeenSet(opts.replayCacheSize ?? 8192);
  }

  /** Replaces the authorized set (allocation update, revocation). */
  setEntries(entries: MonitorEntry[]): void {
    this.watched = entries.map((e) => ({ ...e, ...derive(e) }));
    this.slotTable.clear();
    this.slotsComputed.clear();
  }

  get watchedCount(): number {
    return this.watched.length;
  }

  receive(payload: Uint8Array, nowMs: number): MonitorEvent {
    let m: RestrictedAnnounce;
    try {
      const d = decodeDiscovery(payload);
      if (d.kind !== 'restricted_nonce' && d.kind !== 'restricted_slot') return reject('malformed');
      m = d;
    } catch (e) {
      if (e instanceof DiscoveryFormatError) return reject('malformed');
      throw e;
    }
    return m.kind === 'restricted_nonce' ? this.receiveNonce(m) : this.receiveSlot(m, nowMs);
  }

  private receiveNonce(m: RestrictedAnnounce): MonitorEvent {
    let hit: Watched | undefined;
    for (const w of this.watched) {
      this.hmacs++;
      if (constantTimeEqual(rotatingIdNonce(w.kId, m.fresh), m.rotatingId)) {
        hit = w;
        break;
      }
    }
    if (!hit) return reject('unknown');
    if (!constantTimeEqual(discoveryMic(hit.kMic, m), m.mic)) return reject('bad_mic');
    const key = `${toHex(hit.code)}:${toHex(m.fresh)}`;
    if (this.opts.replayCheck !== false && this.seenNonces.has(key)) return reject('replay');
    this.seenNonces.add(key);
    return { type: 'match', owner: hit.owner, code: hit.code, option: 'nonce', meta: m.meta };
  }

  private receiveSlot(m: RestrictedAnnounce, nowMs: number): MonitorEvent {
    const cur = timeSlot(nowMs, this.opts.slotMs);
    const tol = this.opts.tolerance ?? 1;
    this.prepareSlots(cur, tol);
    const idHex = toHex(m.rotatingId);
    const hit = this.slotTable.get(idHex);
    if (!hit) return reject('unknown');
    if (Math.abs(hit.slot - cur) > tol) return reject('stale');
    if ((hit.slot & 0xff) !== m.fresh[0]) return reject('malformed');
    if (!constantTimeEqual(discoveryMic(hit.w.kMic, m, hit.slot), m.mic)) return reject('bad_mic');
    if (this.opts.replayCheck !== false && this.seenSlotIds.has(idHex)) return reject('replay');
    this.seenSlotIds.set(idHex, hit.slot);
    return { type: 'match', owner: hit.w.owner, code: hit.w.code, option: 'time-slot', meta: m.meta };
  }

  /** Computes the ID tables of the acceptance window and drops slots older than the stale history. */
  private prepareSlots(cur: number, tol: number): void {
    for (let s = cur - tol - STALE_HISTORY; s <= cur + tol; s++) {
      if (s < 0 || this.slotsComputed.has(s)) continue;
      for (const w of this.watched) {
        this.hmacs++;
        this.slotTable.set(toHex(rotatingIdSlot(w.kId, s)), { w, slot: s });
      }
      this.slotsComputed.add(s);
    }
    const oldest = cur - tol - STALE_HISTORY;
    for (const s of this.slotsComputed) if (s < oldest) this.slotsComputed.delete(s);
    if (this.slotTable.size > this.watched.length * (2 * tol + 1 + STALE_HISTORY) * 2) {
      for (const [k, v] of this.slotTable) if (v.slot < oldest) this.slotTable.delete(k);
    }
    for (const [k, s] of this.seenSlotIds) if (s < cur - tol) this.seenSlotIds.delete(k);
  }
}

function reject(cause: DiscoveryRejectCause): MonitorEvent {
  return { type: 'rejected', cause };
}
