// HSS/AuC-style subscriber store for the AAA server: K, OPc, AMF and SQN_HE per IMSI; authentication vectors
// with Milenage (TS 33.102 6.3.2, SQN = SEQ || IND of Annex C.1.2) and resynchronisation from AUTS (6.3.5).
// Pure state: the aaa role persists `snapshot()` so a restart keeps SQN_HE.
import {
  type AuthVector,
  generateAuthVector,
  IND_COUNT,
  makeSqn,
  resyncFromAuts,
  splitSqn,
} from '../../crypto-core/aka-sqn.js';
import { fromHex } from '../../crypto-core/bytes.js';
import { Milenage } from '../../crypto-core/milenage.js';
import { randomOctets } from '../../crypto-core/random-pool.js';
import type { AkaVectorSource } from './eap-aka-prime-server.js';

export interface SubscriberRecord {
  imsi: string;
  /** Hex strings (secrets: never logged). */
  k: string;
  opc: string;
  /** AMF, 4 hex digits; bit 0 (0x8000) is the AKA' separation bit (TS 33.402 6.1). Default "8000". */
  amf?: string;
  /** Initial SEQ_HE (Annex C.1.1). */
  seq?: number;
}

interface Entry {
  m: Milenage;
  amf: Uint8Array;
  seq: number;
  ind: number;
}

export class Hss implements AkaVectorSource {
  private readonly subs = new Map<string, Entry>();
  /** Counters for the role's metrics/status. */
  resyncs = 0;
  vectors = 0;

  constructor(
    records: SubscriberRecord[],
    private readonly rng: (n: number) => Uint8Array = randomOctets,
  ) {
    for (const r of records) {
      this.subs.set(r.imsi, {
        m: new Milenage(fromHex(r.k), fromHex(r.opc)),
        amf: fromHex(r.amf ?? '8000'),
        seq: r.seq ?? 0,
        ind: 0,
      });
    }
  }

  has(imsi: string): boolean {
    return this.subs.has(imsi);
  }

  /** TS 33.102 C.3: SEQ_HE + 1 per vector, IND cycling. */
  vector(imsi: string): AuthVector | undefined {
    const e = this.subs.get(imsi);
    if (!e) return undefined;
    e.seq += 1;
    const sqn = makeSqn(e.seq, e.ind);
    e.ind = (e.ind + 1) % IND_COUNT;
    this.vectors++;
    return generateAuthVector(e.m, this.rng(16), sqn, e.amf);
  }

  /** TS 33.102 6.3.5: verify MAC-S; on success continue above SEQ_MS. */
  resync(imsi: string, rand: Uint8Array, auts: Uint8Array): boolean {
    const e = this.subs.get(imsi);
    if (!e) return false;
    const r = resyncFromAuts(e.m, rand, auts);
    if (!r.ok) return false;
    const { seq } = splitSqn(r.sqnMs);
    if (seq > e.seq) e.seq = seq;
    this.resyncs++;
    return true;
  }

  /** SQN_HE state to persist: IMSI -> [SEQ_HE, next IND]. */
  snapshot(): Record<string, [number, number]> {
    return Object.fromEntries([...this.subs].map(([imsi, e]) => [imsi, [e.seq, e.ind]]));
  }

  restore(state: Record<string, [number, number]>): void {
    for (const [imsi, [seq, ind]] of Object.entries(state)) {
      const e = this.subs.get(imsi);
      if (e && Number.isInteger(seq) && seq > e.seq) {
        e.seq = seq;
        e.ind = ind % IND_COUNT;
      }
    }
  }
}
