// MIKEY wire format (RFC 3830 clause 6, RFC 6043 clause 6, RFC 6509 clause 4): typed payloads, encoder, strict decoder.
// Pure functions over Uint8Array. The decoder accepts exactly the canonical encoding of what the encoder can
// produce, so decode(bytes) succeeds only when encode(decode(bytes)) equals bytes. See docs/mikey.md.
import { CryptoInputError } from './errors.js';

/** Malformed MIKEY bytes. `code` says why: truncated, oversized, unknown_payload, unknown_value, trailing, ... */
export class MikeyDecodeError extends CryptoInputError {
  /** Octet offset in the message where the problem was found. */
  readonly offset: number;
  constructor(code: string, message: string, offset: number) {
    super(code, `MIKEY: ${message} (at octet ${offset})`);
    Object.defineProperty(this, 'name', { value: 'MikeyDecodeError' });
    this.offset = offset;
  }
}

/**
 * Builds a MikeyDecodeError without capturing a stack trace: rejecting hostile input is a hot path (the code and
 * offset say what went wrong), and capturing stacks made rejections about twice as slow.
 */
function decodeError(code: string, message: string, offset: number): MikeyDecodeError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new MikeyDecodeError(code, message, offset);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Registered values (RFC 3830 clause 6 tables, extended by RFC 6043 and RFC 6509).

/** HDR data type (RFC 3830 6.1; SAKKE = 26 from RFC 6509 4.1). */
export const DataType = {
  PSK_INIT: 0,
  PSK_RESP: 1,
  PK_INIT: 2,
  PK_RESP: 3,
  DH_INIT: 4,
  DH_RESP: 5,
  ERROR: 6,
  DHHMAC_INIT: 7,
  DHHMAC_RESP: 8,
  RSA_R_INIT: 9,
  RSA_R_RESP: 10,
  SAKKE: 26,
} as const;
const KNOWN_DATA_TYPES = new Set<number>(Object.values(DataType));

/** Next payload values (RFC 3830 6.1; IDR = 14 from RFC 6043 6.6; SAKKE = 26 from RFC 6509 4.2). */
export const PayloadType = {
  LAST: 0,
  KEMAC: 1,
  SIGN: 4,
  T: 5,
  ID: 6,
  V: 9,
  SP: 10,
  RAND: 11,
  ERR: 12,
  IDR: 14,
  KEY_DATA: 20,
  GENERAL_EXT: 21,
  SAKKE: 26,
} as const;

/** HDR PRF func (RFC 3830 6.1: MIKEY-1 = 0; RFC 6043 6.1: PRF-HMAC-SHA-256 = 1). */
export const PrfFunc = { MIKEY_1: 0, HMAC_SHA_256: 1 } as const;
export type PrfFuncValue = (typeof PrfFunc)[keyof typeof PrfFunc];

/** CS ID map type (RFC 3830 6.1: SRTP-ID = 0; RFC 4563: Empty map = 1; RFC 6043 6.1.1: GENERIC-ID = 2). */
export const CsIdMapType = { SRTP_ID: 0, EMPTY: 1, GENERIC_ID: 2 } as const;

/** T payload TS type (RFC 3830 6.6). */
export const TsType = { NTP_UTC: 0, NTP: 1, COUNTER: 2 } as const;
export type TsTypeValue = (typeof TsType)[keyof typeof TsType];

/** KEMAC encr alg (RFC 3830 6.2; AES-KW-128 = 2 from RFC 6043 6.2). */
export const EncrAlg = { NULL: 0, AES_CM_128: 1, AES_KW_128: 2 } as const;
export type EncrAlgValue = (typeof EncrAlg)[keyof typeof EncrAlg];

/** KEMAC MAC alg and V auth alg (RFC 3830 6.2/6.9; HMAC-SHA-256-256 = 2 from RFC 6043 6.2). */
export const MacAlg = { NULL: 0, HMAC_SHA_1_160: 1, HMAC_SHA_256_256: 2 } as const;
export type MacAlgValue = (typeof MacAlg)[keyof typeof MacAlg];
/** MAC field length in octets for each MAC alg. */
export const MAC_LENGTH: Readonly<Record<MacAlgValue, number>> = { 0: 0, 1: 20, 2: 32 };

/** SIGN S type (RFC 3830 6.5; ECCSI = 2 from RFC 6509 4.3). */
export const SignType = { RSA_PKCS1: 0, RSA_PSS: 1, ECCSI: 2 } as const;
export type SignTypeValue = (typeof SignType)[keyof typeof SignType];

/** ID payload / IDR ID type (RFC 3830 6.7: NAI = 0, URI = 1; RFC 6043 6.6: byte string = 2). */
export const IdType = { NAI: 0, URI: 1, BYTE_STRING: 2 } as const;
export type IdTypeValue = (typeof IdType)[keyof typeof IdType];

/** IDR ID role (RFC 6043 6.6; IDRkmsi = 6, IDRkmsr = 7 from RFC 6509 4.4). */
export const IdRole = { IDRi: 1, IDRr: 2, IDRkms: 3, IDRpsk: 4, IDRapp: 5, IDRkmsi: 6, IDRkmsr: 7 } as const;
export type IdRoleValue = (typeof IdRole)[keyof typeof IdRole];

/** Key Data sub-payload type (RFC 3830 6.13). */
export const KeyDataType = { TGK: 0, TGK_SALT: 1, TEK: 2, TEK_SALT: 3 } as const;
export type KeyDataTypeValue = (typeof KeyDataType)[keyof typeof KeyDataType];

/** Key validity type (RFC 3830 6.13). */
export const KvType = { NULL: 0, SPI: 1, INTERVAL: 2 } as const;

/** SAKKE params (RFC 6509 4.2: parameter set 1 of RFC 6508). */
export const SAKKE_PARAMS_SET_1 = 1;
/** SAKKE ID scheme: 1 = tel URI with monthly keys (RFC 6509 4.2); 2 = MIKEY-SAKKE-UID (TS 33.180 F.2.1). */
export const SAKKE_ID_SCHEME_TEL_URI_MONTHLY = 1;
export const SAKKE_ID_SCHEME_MIKEY_SAKKE_UID = 2;

/** SP prot type (RFC 3830 6.10: SRTP = 0). */
export const SP_PROT_SRTP = 0;

/** ERR error number (RFC 3830 6.12): 0 Auth failure ... 12 Unspecified error. */
export const ERR_MAX = 12;

// ---------------------------------------------------------------------------------------------------------
// Typed representation.

export interface SrtpIdEntry {
  policyNo: number;
  ssrc: number;
  roc: number;
}
/** One GENERIC-ID crypto session (RFC 6043 6.1.1). */
export interface GenericIdEntry {
  csId: number;
  protType: number;
  /** S flag: session data present. */
  s: boolean;
  /** Security policy numbers (Ps), at most 127. */
  policyNos: number[];
  sessionData: Uint8Array;
  spi: Uint8Array;
}
export type CsIdMap =
  | { type: 'SRTP-ID'; entries: SrtpIdEntry[] }
  | { type: 'EMPTY'; csCount: number }
  | { type: 'GENERIC-ID'; entries: GenericIdEntry[] };

/** Common Header (RFC 3830 6.1). The next-payload field is derived by the encoder. */
export interface MikeyHeader {
  dataType: number;
  /** V flag: a verification message is requested. */
  v: boolean;
  prfFunc: PrfFuncValue;
  /** CSB ID, 32-bit unsigned. */
  csbId: number;
  csIdMap: CsIdMap;
}

export interface KemacPayload {
  kind: 'KEMAC';
  encrAlg: EncrAlgValue;
  /** Encrypted Key Data sub-payloads (plain when encrAlg is NULL); see encodeKeyData / decodeKeyData. */
  encrData: Uint8Array;
  macAlg: MacAlgValue;
  mac: Uint8Array;
}
export interface SignPayload {
  kind: 'SIGN';
  sType: SignTypeValue;
  signature: Uint8Array;
}
export interface TPayload {
  kind: 'T';
  tsType: TsTypeValue;
  /** 64-bit NTP value (NTP-UTC, NTP) or 32-bit counter. */
  value: bigint;
}
export interface IdPayload {
  kind: 'ID';
  idType: IdTypeValue;
  id: Uint8Array;
}
export interface VPayload {
  kind: 'V';
  authAlg: MacAlgValue;
  verData: Uint8Array;
}
export interface SpParam {
  type: number;
  value: Uint8Array;
}
export interface SpPayload {
  kind: 'SP';
  policyNo: number;
  protType: number;
  params: SpParam[];
}
export interface RandPayload {
  kind: 'RAND';
  rand: Uint8Array;
}
export interface ErrPayload {
  kind: 'ERR';
  errNo: number;
}
export interface IdrPayload {
  kind: 'IDR';
  role: IdRoleValue;
  idType: IdTypeValue;
  id: Uint8Array;
}
export interface GeneralExtPayload {
  kind: 'GENERAL_EXT';
  extType: number;
  data: Uint8Array;
}
export interface SakkePayload {
  kind: 'SAKKE';
  params: number;
  idScheme: number;
  /** SAKKE Encapsulated Data (RFC 6508 R || H), opaque here. */
  data: Uint8Array;
}
export type MikeyPayload =
  | KemacPayload
  | SignPayload
  | TPayload
  | IdPayload
  | VPayload
  | SpPayload
  | RandPayload
  | ErrPayload
  | IdrPayload
  | GeneralExtPayload
  | SakkePayload;

export interface MikeyMessage {
  header: MikeyHeader;
  payloads: MikeyPayload[];
}

/** Key validity (RFC 3830 6.13). */
export type KeyValidity =
  | { type: 'NULL' }
  | { type: 'SPI'; spi: Uint8Array }
  | { type: 'INTERVAL'; validFrom: Uint8Array; validTo: Uint8Array };
/** Key Data sub-payload (RFC 3830 6.13), carried inside KEMAC. */
export interface KeyData {
  type: KeyDataTypeValue;
  key: Uint8Array;
  /** Present exactly for TGK+SALT and TEK+SALT. */
  salt?: Uint8Array;
  kv: KeyValidity;
}

const PAYLOAD_CODE: Record<MikeyPayload['kind'], number> = {
  KEMAC: PayloadType.KEMAC,
  SIGN: PayloadType.SIGN,
  T: PayloadType.T,
  ID: PayloadType.ID,
  V: PayloadType.V,
  SP: PayloadType.SP,
  RAND: PayloadType.RAND,
  ERR: PayloadType.ERR,
  IDR: PayloadType.IDR,
  GENERAL_EXT: PayloadType.GENERAL_EXT,
  SAKKE: PayloadType.SAKKE,
};
/** Payload types the decoder accepts at most once per message. IDR is accepted once per role. */
const SINGLE_PAYLOADS = new Set<number>([
  PayloadType.KEMAC,
  PayloadType.SIGN,
  PayloadType.T,
  PayloadType.V,
  PayloadType.RAND,
  PayloadType.SAKKE,
]);

// ---------------------------------------------------------------------------------------------------------
// Encoder.

/** Scratch space shared by all encodes (they are synchronous and never nested); grown on demand. */
let scratch = new Uint8Array(4096);

class Writer {
  private buf = scratch;
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
    scratch = nb;
  }
  u8(v: number, what: string): void {
    checkUint(v, 0xff, what);
    this.room(1);
    this.buf[this.length++] = v;
  }
  u16(v: number, what: string): void {
    checkUint(v, 0xffff, what);
    this.room(2);
    this.buf[this.length++] = v >>> 8;
    this.buf[this.length++] = v & 0xff;
  }
  u32(v: number, what: string): void {
    checkUint(v, 0xffffffff, what);
    this.room(4);
    this.buf[this.length++] = v >>> 24;
    this.buf[this.length++] = (v >>> 16) & 0xff;
    this.buf[this.length++] = (v >>> 8) & 0xff;
    this.buf[this.length++] = v & 0xff;
  }
  bytes(b: Uint8Array): void {
    if (!(b instanceof Uint8Array)) throw new CryptoInputError('type', 'MIKEY field must be a Uint8Array');
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function checkUint(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new CryptoInputError('range', `MIKEY ${what} must be an integer in 0..${max}, got ${v}`);
  }
}

function writeHeader(w: Writer, h: MikeyHeader, next: number): void {
  w.u8(1, 'version');
  w.u8(h.dataType, 'data type');
  w.u8(next, 'next payload');
  checkUint(h.prfFunc, 0x7f, 'PRF func');
  w.u8((h.v ? 0x80 : 0) | h.prfFunc, 'V/PRF');
  w.u32(h.csbId, 'CSB ID');
  const map = h.csIdMap;
  switch (map.type) {
    case 'SRTP-ID':
      w.u8(map.entries.length, '#CS');
      w.u8(CsIdMapType.SRTP_ID, 'CS ID map type');
      for (const e of map.entries) {
        w.u8(e.policyNo, 'Policy_no');
        w.u32(e.ssrc, 'SSRC');
        w.u32(e.roc, 'ROC');
      }
      break;
    case 'EMPTY':
      w.u8(map.csCount, '#CS');
      w.u8(CsIdMapType.EMPTY, 'CS ID map type');
      break;
    case 'GENERIC-ID':
      w.u8(map.entries.length, '#CS');
      w.u8(CsIdMapType.GENERIC_ID, 'CS ID map type');
      for (const e of map.entries) {
        w.u8(e.csId, 'CS ID');
        w.u8(e.protType, 'Prot type');
        w.u8((e.s ? 0x80 : 0) | checkedCount(e.policyNos.length, 0x7f, '#P'), 'S/#P');
        for (const p of e.policyNos) w.u8(p, 'Ps');
        w.u16(e.sessionData.length, 'Session Data Length');
        w.bytes(e.sessionData);
        w.u8(e.spi.length, 'SPI Length');
        w.bytes(e.spi);
      }
      break;
    default:
      throw new CryptoInputError('range', 'MIKEY: unknown CS ID map type');
  }
}

function checkedCount(n: number, max: number, what: string): number {
  checkUint(n, max, what);
  return n;
}

function writePayload(w: Writer, p: MikeyPayload, next: number): void {
  switch (p.kind) {
    case 'KEMAC': {
      w.u8(next, 'next payload');
      w.u8(p.encrAlg, 'encr alg');
      w.u16(p.encrData.length, 'encr data len');
      w.bytes(p.encrData);
      w.u8(p.macAlg, 'mac alg');
      const ml = MAC_LENGTH[p.macAlg];
      if (ml === undefined || p.mac.length !== ml) {
        throw new CryptoInputError('length', `MIKEY KEMAC MAC must be ${ml} octets for mac alg ${p.macAlg}`);
      }
      w.bytes(p.mac);
      return;
    }
    case 'SIGN':
      // RFC 3830 6.5: no next-payload field; S type (4 bits) | Signature len (12 bits) | Signature.
      checkUint(p.sType, 0xf, 'S type');
      checkUint(p.signature.length, 0xfff, 'signature len');
      w.u16((p.sType << 12) | p.signature.length, 'S type/len');
      w.bytes(p.signature);
      return;
    case 'T': {
      w.u8(next, 'next payload');
      w.u8(p.tsType, 'TS type');
      const bits = p.tsType === TsType.COUNTER ? 32 : 64;
      if (typeof p.value !== 'bigint' || p.value < 0n || p.value >> BigInt(bits) !== 0n) {
        throw new CryptoInputError('range', `MIKEY TS value must fit in ${bits} bits`);
      }
      if (bits === 64) w.u32(Number(p.value >> 32n), 'TS value');
      w.u32(Number(p.value & 0xffffffffn), 'TS value');
      return;
    }
    case 'ID':
      w.u8(next, 'next payload');
      w.u8(p.idType, 'ID type');
      w.u16(p.id.length, 'ID len');
      w.bytes(p.id);
      return;
    case 'V': {
      w.u8(next, 'next payload');
      w.u8(p.authAlg, 'auth alg');
      const ml = MAC_LENGTH[p.authAlg];
      if (ml === undefined || p.verData.length !== ml) {
        throw new CryptoInputError('length', `MIKEY V ver data must be ${ml} octets`);
      }
      w.bytes(p.verData);
      return;
    }
    case 'SP': {
      w.u8(next, 'next payload');
      w.u8(p.policyNo, 'policy no');
      w.u8(p.protType, 'prot type');
      let len = 0;
      for (const q of p.params) len += 2 + q.value.length;
      w.u16(len, 'policy param length');
      for (const q of p.params) {
        w.u8(q.type, 'SP param type');
        w.u8(q.value.length, 'SP param length');
        w.bytes(q.value);
      }
      return;
    }
    case 'RAND':
      w.u8(next, 'next payload');
      w.u8(p.rand.length, 'RAND len');
      w.bytes(p.rand);
      return;
    case 'ERR':
      w.u8(next, 'next payload');
      w.u8(p.errNo, 'error no');
      w.u16(0, 'reserved');
      return;
    case 'IDR':
      w.u8(next, 'next payload');
      w.u8(p.role, 'ID role');
      w.u8(p.idType, 'ID type');
      w.u16(p.id.length, 'ID len');
      w.bytes(p.id);
      return;
    case 'GENERAL_EXT':
      w.u8(next, 'next payload');
      w.u8(p.extType, 'extension type');
      w.u16(p.data.length, 'extension length');
      w.bytes(p.data);
      return;
    case 'SAKKE':
      w.u8(next, 'next payload');
      w.u8(p.params, 'SAKKE params');
      w.u8(p.idScheme, 'ID scheme');
      w.u16(p.data.length, 'SAKKE data length');
      w.bytes(p.data);
      return;
    default:
      throw new CryptoInputError('range', 'MIKEY: unknown payload kind');
  }
}

/** Encodes a MIKEY message; next-payload fields are derived from the payload order. SIGN must be last. */
export function encodeMikey(msg: MikeyMessage): Uint8Array {
  const w = new Writer();
  const ps = msg.payloads;
  ps.forEach((p, i) => {
    if (p.kind === 'SIGN' && i !== ps.length - 1) {
      throw new CryptoInputError('order', 'MIKEY SIGN payload must be the last payload');
    }
  });
  writeHeader(w, msg.header, ps.length > 0 ? PAYLOAD_CODE[ps[0]!.kind] : PayloadType.LAST);
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    const next = i + 1 < ps.length ? PAYLOAD_CODE[ps[i + 1]!.kind] : PayloadType.LAST;
    writePayload(w, p, next);
  }
  return w.finish();
}

/**
 * Octet offset of each payload (index 0 = HDR) in the encoding of `msg`; the last entry is the total length.
 * Used to locate the SIGN and MAC fields for signing.
 */
export function payloadOffsets(msg: MikeyMessage): number[] {
  const offsets: number[] = [0];
  const w = new Writer();
  writeHeader(w, msg.header, 0);
  offsets.push(w.length);
  for (const p of msg.payloads) {
    writePayload(w, p, 0);
    offsets.push(w.length);
  }
  return offsets;
}

/** Encodes Key Data sub-payloads (RFC 3830 6.13) chained by next payload, as carried in KEMAC. */
export function encodeKeyData(keys: KeyData[]): Uint8Array {
  const w = new Writer();
  keys.forEach((k, i) => {
    w.u8(i + 1 < keys.length ? PayloadType.KEY_DATA : PayloadType.LAST, 'next payload');
    const kvCode = k.kv.type === 'NULL' ? KvType.NULL : k.kv.type === 'SPI' ? KvType.SPI : KvType.INTERVAL;
    checkUint(k.type, 3, 'key data type');
    w.u8((k.type << 4) | kvCode, 'type/KV');
    w.u16(k.key.length, 'key data len');
    w.bytes(k.key);
    const salted = k.type === KeyDataType.TGK_SALT || k.type === KeyDataType.TEK_SALT;
    if (salted !== (k.salt !== undefined)) {
      throw new CryptoInputError('range', 'MIKEY key data: salt present exactly for TGK+SALT and TEK+SALT');
    }
    if (k.salt) {
      w.u16(k.salt.length, 'salt len');
      w.bytes(k.salt);
    }
    if (k.kv.type === 'SPI') {
      w.u8(k.kv.spi.length, 'SPI length');
      w.bytes(k.kv.spi);
    } else if (k.kv.type === 'INTERVAL') {
      w.u8(k.kv.validFrom.length, 'VF length');
      w.bytes(k.kv.validFrom);
      w.u8(k.kv.validTo.length, 'VT length');
      w.bytes(k.kv.validTo);
    }
  });
  return w.finish();
}

// ---------------------------------------------------------------------------------------------------------
// Decoder.

class Reader {
  pos = 0;
  constructor(
    readonly b: Uint8Array,
    readonly base = 0,
  ) {}
  need(n: number, what: string): void {
    if (this.pos + n > this.b.length) {
      throw decodeError(
        'truncated',
        `${what} needs ${n} octets, ${this.b.length - this.pos} left`,
        this.base + this.pos,
      );
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b[this.pos++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = (this.b[this.pos]! << 8) | this.b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const p = this.pos;
    const v = ((this.b[p]! << 24) | (this.b[p + 1]! << 16) | (this.b[p + 2]! << 8) | this.b[p + 3]!) >>> 0;
    this.pos += 4;
    return v;
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    // A plain Uint8Array copy, also when the input is a Buffer (whose slice() is a view).
    const out = new Uint8Array(this.b.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }
  get left(): number {
    return this.b.length - this.pos;
  }
  fail(code: string, message: string, back = 0): never {
    throw decodeError(code, message, this.base + this.pos - back);
  }
}

function oneOf<T extends number>(r: Reader, v: number, allowed: readonly number[], what: string): T {
  if (!allowed.includes(v)) r.fail('unknown_value', `unknown ${what} ${v}`, 1);
  return v as T;
}

export interface MikeyDecodeOptions {
  /** Largest accepted message in octets (default 65,536). */
  maxLength?: number;
}

/** Default largest MIKEY message the decoder accepts (64 KiB). */
export const MIKEY_DEFAULT_MAX_LENGTH = 65_536;

function readHeader(r: Reader): { header: MikeyHeader; next: number } {
  const version = r.u8('HDR version');
  if (version !== 1) r.fail('version', `unsupported MIKEY version ${version}`, 1);
  const dataType = r.u8('HDR data type');
  if (!KNOWN_DATA_TYPES.has(dataType)) r.fail('unknown_value', `unknown data type ${dataType}`, 1);
  const next = r.u8('HDR next payload');
  const vp = r.u8('HDR V/PRF');
  const prfFunc = oneOf<PrfFuncValue>(r, vp & 0x7f, [0, 1], 'PRF func');
  const csbId = r.u32('CSB ID');
  const nCs = r.u8('#CS');
  const mapType = r.u8('CS ID map type');
  let csIdMap: CsIdMap;
  if (mapType === CsIdMapType.SRTP_ID) {
    const entries: SrtpIdEntry[] = [];
    for (let i = 0; i < nCs; i++) {
      entries.push({ policyNo: r.u8('Policy_no'), ssrc: r.u32('SSRC'), roc: r.u32('ROC') });
    }
    csIdMap = { type: 'SRTP-ID', entries };
  } else if (mapType === CsIdMapType.EMPTY) {
    csIdMap = { type: 'EMPTY', csCount: nCs };
  } else if (mapType === CsIdMapType.GENERIC_ID) {
    const entries: GenericIdEntry[] = [];
    for (let i = 0; i < nCs; i++) {
      const csId = r.u8('CS ID');
      const protType = r.u8('Prot type');
      const sp = r.u8('S/#P');
      const policyNos: number[] = [];
      for (let j = 0; j < (sp & 0x7f); j++) policyNos.push(r.u8('Ps'));
      const sessionData = r.bytes(r.u16('Session Data Length'), 'Session Data');
      const spi = r.bytes(r.u8('SPI Length'), 'SPI');
      entries.push({ csId, protType, s: (sp & 0x80) !== 0, policyNos, sessionData, spi });
    }
    csIdMap = { type: 'GENERIC-ID', entries };
  } else {
    r.fail('unknown_value', `unknown CS ID map type ${mapType}`, 1);
  }
  return { header: { dataType, v: (vp & 0x80) !== 0, prfFunc, csbId, csIdMap }, next };
}

function readPayload(r: Reader, type: number): { p: MikeyPayload; next: number } {
  if (type === PayloadType.SIGN) {
    const st = r.u16('SIGN S type/len');
    const sType = st >>> 12;
    if (sType > 2) r.fail('unknown_value', `unknown S type ${sType}`, 2);
    const signature = r.bytes(st & 0xfff, 'Signature');
    return { p: { kind: 'SIGN', sType: sType as SignTypeValue, signature }, next: PayloadType.LAST };
  }
  const next = r.u8('next payload');
  switch (type) {
    case PayloadType.KEMAC: {
      const encrAlg = oneOf<EncrAlgValue>(r, r.u8('encr alg'), [0, 1, 2], 'encr alg');
      const encrData = r.bytes(r.u16('encr data len'), 'encr data');
      const macAlg = oneOf<MacAlgValue>(r, r.u8('mac alg'), [0, 1, 2], 'mac alg');
      const mac = r.bytes(MAC_LENGTH[macAlg], 'MAC');
      return { p: { kind: 'KEMAC', encrAlg, encrData, macAlg, mac }, next };
    }
    case PayloadType.T: {
      const tsType = oneOf<TsTypeValue>(r, r.u8('TS type'), [0, 1, 2], 'TS type');
      let value: bigint;
      if (tsType === TsType.COUNTER) value = BigInt(r.u32('TS value'));
      else {
        const hi = r.u32('TS value');
        value = (BigInt(hi) << 32n) | BigInt(r.u32('TS value'));
      }
      return { p: { kind: 'T', tsType, value }, next };
    }
    case PayloadType.ID: {
      const idType = oneOf<IdTypeValue>(r, r.u8('ID type'), [0, 1, 2], 'ID type');
      const id = r.bytes(r.u16('ID len'), 'ID data');
      return { p: { kind: 'ID', idType, id }, next };
    }
    case PayloadType.V: {
      const authAlg = oneOf<MacAlgValue>(r, r.u8('auth alg'), [0, 1, 2], 'auth alg');
      const verData = r.bytes(MAC_LENGTH[authAlg], 'ver data');
      return { p: { kind: 'V', authAlg, verData }, next };
    }
    case PayloadType.SP: {
      const policyNo = r.u8('policy no');
      const protType = r.u8('prot type');
      if (protType !== SP_PROT_SRTP) r.fail('unknown_value', `unknown SP prot type ${protType}`, 1);
      const len = r.u16('policy param length');
      r.need(len, 'policy params');
      const end = r.pos + len;
      const params: SpParam[] = [];
      while (r.pos < end) {
        const ptype = r.u8('SP param type');
        const plen = r.u8('SP param length');
        if (r.pos + plen > end) r.fail('length_mismatch', 'SP param overruns policy param length', 1);
        params.push({ type: ptype, value: r.bytes(plen, 'SP param value') });
      }
      if (r.pos !== end) r.fail('length_mismatch', 'SP params overrun policy param length');
      return { p: { kind: 'SP', policyNo, protType, params }, next };
    }
    case PayloadType.RAND: {
      const rand = r.bytes(r.u8('RAND len'), 'RAND');
      return { p: { kind: 'RAND', rand }, next };
    }
    case PayloadType.ERR: {
      const errNo = r.u8('error no');
      if (errNo > ERR_MAX) r.fail('unknown_value', `unknown error no ${errNo}`, 1);
      if (r.u16('ERR reserved') !== 0) r.fail('reserved', 'ERR reserved field is not zero', 2);
      return { p: { kind: 'ERR', errNo }, next };
    }
    case PayloadType.IDR: {
      const role = oneOf<IdRoleValue>(r, r.u8('ID role'), [1, 2, 3, 4, 5, 6, 7], 'ID role');
      const idType = oneOf<IdTypeValue>(r, r.u8('ID type'), [0, 1, 2], 'ID type');
      const id = r.bytes(r.u16('ID len'), 'ID data');
      return { p: { kind: 'IDR', role, idType, id }, next };
    }
    case PayloadType.GENERAL_EXT: {
      const extType = r.u8('extension type');
      const data = r.bytes(r.u16('extension length'), 'extension data');
      return { p: { kind: 'GENERAL_EXT', extType, data }, next };
    }
    case PayloadType.SAKKE: {
      const params = r.u8('SAKKE params');
      if (params !== SAKKE_PARAMS_SET_1) r.fail('unknown_value', `unknown SAKKE params ${params}`, 1);
      const idScheme = r.u8('ID scheme');
      if (idScheme !== SAKKE_ID_SCHEME_TEL_URI_MONTHLY && idScheme !== SAKKE_ID_SCHEME_MIKEY_SAKKE_UID) {
        r.fail('unknown_value', `unknown SAKKE ID scheme ${idScheme}`, 1);
      }
      const data = r.bytes(r.u16('SAKKE data length'), 'SAKKE data');
      return { p: { kind: 'SAKKE', params, idScheme, data }, next };
    }
    default:
      // There is no critical bit in MIKEY and a payload's length depends on its type, so an unknown type
      // cannot be skipped: reject it.
      return r.fail('unknown_payload', `unknown or unsupported payload type ${type}`, 1);
  }
}

/**
 * Decodes a MIKEY message. Throws MikeyDecodeError (and nothing else) on any input that is not the
 * canonical encoding of a message this module can represent.
 */
export function decodeMikey(bytes: Uint8Array, opts: MikeyDecodeOptions = {}): MikeyMessage {
  if (!(bytes instanceof Uint8Array)) throw decodeError('type', 'input must be a Uint8Array', 0);
  const max = opts.maxLength ?? MIKEY_DEFAULT_MAX_LENGTH;
  if (bytes.length > max) {
    throw decodeError('oversized', `message of ${bytes.length} octets exceeds ${max}`, max);
  }
  try {
    const r = new Reader(bytes);
    const { header, next: first } = readHeader(r);
    const payloads: MikeyPayload[] = [];
    const seen = new Set<number>();
    const seenRoles = new Set<number>();
    let type = first;
    while (type !== PayloadType.LAST) {
      const start = r.pos;
      if (SINGLE_PAYLOADS.has(type) && seen.has(type)) {
        throw decodeError('duplicate', `second payload of type ${type}`, start);
      }
      seen.add(type);
      const { p, next } = readPayload(r, type);
      if (p.kind === 'IDR') {
        if (seenRoles.has(p.role)) throw decodeError('duplicate', `second IDR role ${p.role}`, start);
        seenRoles.add(p.role);
      }
      payloads.push(p);
      type = next;
      if (p.kind === 'SIGN') break;
    }
    if (r.left !== 0) r.fail('trailing', `${r.left} octets after the last payload`);
    return { header, payloads };
  } catch (e) {
    if (e instanceof MikeyDecodeError) throw e;
    throw decodeError('internal', `decoder fault: ${(e as Error)?.message ?? String(e)}`, 0);
  }
}

/** Decodes the Key Data sub-payloads of a (decrypted) KEMAC. Throws MikeyDecodeError only. */
export function decodeKeyData(bytes: Uint8Array): KeyData[] {
  try {
    const r = new Reader(bytes);
    const keys: KeyData[] = [];
    let next: number = PayloadType.KEY_DATA;
    if (bytes.length === 0) r.fail('truncated', 'no Key Data sub-payload');
    while (next !== PayloadType.LAST) {
      if (next !== PayloadType.KEY_DATA) r.fail('unknown_payload', `payload ${next} inside KEMAC`, 1);
      next = r.u8('next payload');
      const tk = r.u8('type/KV');
      const type = tk >>> 4;
      const kvCode = tk & 0x0f;
      if (type > 3) r.fail('unknown_value', `unknown key data type ${type}`, 1);
      if (kvCode > 2) r.fail('unknown_value', `unknown KV type ${kvCode}`, 1);
      const key = r.bytes(r.u16('key data len'), 'key data');
      let salt: Uint8Array | undefined;
      if (type === KeyDataType.TGK_SALT || type === KeyDataType.TEK_SALT) {
        salt = r.bytes(r.u16('salt len'), 'salt data');
      }
      let kv: KeyValidity;
      if (kvCode === KvType.SPI) kv = { type: 'SPI', spi: r.bytes(r.u8('SPI length'), 'SPI') };
      else if (kvCode === KvType.INTERVAL) {
        const validFrom = r.bytes(r.u8('VF length'), 'valid from');
        kv = { type: 'INTERVAL', validFrom, validTo: r.bytes(r.u8('VT length'), 'valid to') };
      } else kv = { type: 'NULL' };
      const k: KeyData = { type: type as KeyDataTypeValue, key, kv };
      if (salt) k.salt = salt;
      keys.push(k);
    }
    if (r.left !== 0) r.fail('trailing', `${r.left} octets after the last Key Data sub-payload`);
    return keys;
  } catch (e) {
    if (e instanceof MikeyDecodeError) throw e;
    throw decodeError('internal', `decoder fault: ${(e as Error)?.message ?? String(e)}`, 0);
  }
}

// ---------------------------------------------------------------------------------------------------------
// NTP timestamps (RFC 3830 6.6: NTP-UTC is the 64-bit NTP format of RFC 5905, seconds since 1900-01-01).

const NTP_UNIX_OFFSET = 2_208_988_800n;

/** 64-bit NTP timestamp of a time in Unix milliseconds. */
export function ntpFromUnixMs(ms: number): bigint {
  if (!Number.isFinite(ms) || ms < 0)
    throw new CryptoInputError('range', 'time must be a non-negative number');
  const whole = Math.floor(ms);
  const secs = BigInt(Math.floor(whole / 1000)) + NTP_UNIX_OFFSET;
  const frac = (BigInt(whole % 1000) << 32n) / 1000n;
  return (secs << 32n) | frac;
}

/** Unix milliseconds of a 64-bit NTP timestamp (fraction truncated to the millisecond). */
export function ntpToUnixMs(ntp: bigint): number {
  const secs = (ntp >> 32n) - NTP_UNIX_OFFSET;
  const ms = ((ntp & 0xffffffffn) * 1000n) >> 32n;
  return Number(secs * 1000n + ms);
}
