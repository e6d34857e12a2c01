// EAP packets (RFC 3748 4) and EAP-AKA' messages and attributes (RFC 4187 8-10, RFC 5448 3, RFC 9048).
// Pure codec over Uint8Array: parse errors are EapDecodeError with a short machine-readable reason.
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';

/** RFC 3748 4: EAP Code field. */
export const EAP_CODE = { REQUEST: 1, RESPONSE: 2, SUCCESS: 3, FAILURE: 4 } as const;
/** RFC 3748 5 / RFC 5448 6: EAP Type field (Identity, Notification, legacy Nak, EAP-AKA'). */
export const EAP_TYPE = { IDENTITY: 1, NOTIFICATION: 2, NAK: 3, AKA_PRIME: 50 } as const;

/** RFC 4187 11 (IANA, reused by RFC 5448): EAP-AKA' subtypes. */
export const AKA_SUBTYPE = {
  CHALLENGE: 1,
  AUTHENTICATION_REJECT: 2,
  SYNCHRONIZATION_FAILURE: 4,
  IDENTITY: 5,
  NOTIFICATION: 12,
  REAUTHENTICATION: 13,
  CLIENT_ERROR: 14,
} as const;

/** RFC 4187 11 / RFC 5448 6 / RFC 9048: attribute types (0..127 non-skippable, 128..255 skippable). */
export const AT = {
  RAND: 1,
  AUTN: 2,
  RES: 3,
  AUTS: 4,
  PADDING: 6,
  PERMANENT_ID_REQ: 10,
  MAC: 11,
  NOTIFICATION: 12,
  ANY_ID_REQ: 13,
  IDENTITY: 14,
  FULLAUTH_ID_REQ: 17,
  COUNTER: 19,
  COUNTER_TOO_SMALL: 20,
  NONCE_S: 21,
  CLIENT_ERROR_CODE: 22,
  KDF_INPUT: 23,
  KDF: 24,
  IV: 129,
  ENCR_DATA: 130,
  NEXT_PSEUDONYM: 132,
  NEXT_REAUTH_ID: 133,
  CHECKCODE: 134,
  RESULT_IND: 135,
  BIDDING: 136,
} as const;

/** RFC 5448 3.1: KDF identifier 1 = CK'/IK' of TS 33.402 A.2 + PRF' (HMAC-SHA-256). */
export const KDF_AKA_PRIME_SHA256 = 1;
/** RFC 4187 10.20: AT_CLIENT_ERROR_CODE 0 = "unable to process packet". */
export const CLIENT_ERROR_UNABLE_TO_PROCESS = 0;

/** RFC 4187 4.1.1.6 / RFC 5448 3: identity prefixes for EAP-AKA' (permanent '6', pseudonym '7', fast re-auth '8'). */
export const AKA_PRIME_PREFIX = { PERMANENT: '6', PSEUDONYM: '7', REAUTH: '8' } as const;

export class EapDecodeError extends Error {
  override readonly name = 'EapDecodeError';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** An EAP packet (RFC 3748 4.1): Code, Identifier, and for Request/Response a Type and type data. */
export interface EapPacket {
  code: number;
  id: number;
  type?: number;
  /** Octets after the Type field (Request/Response only). */
  data: Uint8Array;
}

export function decodeEap(bytes: Uint8Array): EapPacket {
  if (bytes.length < 4) throw new EapDecodeError('truncated', 'EAP packet shorter than its 4-octet header');
  const code = bytes[0]!;
  const length = (bytes[2]! << 8) | bytes[3]!;
  if (length > bytes.length)
    throw new EapDecodeError('truncated', `EAP Length ${length} > ${bytes.length} octets`);
  if (length < 4) throw new EapDecodeError('bad_length', `EAP Length ${length} < 4`);
  if (code === EAP_CODE.REQUEST || code === EAP_CODE.RESPONSE) {
    if (length < 5) throw new EapDecodeError('truncated', 'EAP Request/Response without a Type');
    return { code, id: bytes[1]!, type: bytes[4]!, data: bytes.slice(5, length) };
  }
  if (code === EAP_CODE.SUCCESS || code === EAP_CODE.FAILURE) {
    return { code, id: bytes[1]!, data: new Uint8Array(0) };
  }
  throw new EapDecodeError('bad_code', `unknown EAP Code ${code}`);
}

export function encodeEap(p: EapPacket): Uint8Array {
  const hasType = p.code === EAP_CODE.REQUEST || p.code === EAP_CODE.RESPONSE;
  const len = 4 + (hasType ? 1 + p.data.length : 0);
  const out = new Uint8Array(len);
  out[0] = p.code;
  out[1] = p.id & 0xff;
  out[2] = len >>> 8;
  out[3] = len & 0xff;
  if (hasType) {
    out[4] = p.type!;
    out.set(p.data, 5);
  }
  return out;
}

/** One EAP-AKA' attribute: `value` is everything after the Type and Length octets ((Length*4)-2 octets). */
export interface AkaAttribute {
  type: number;
  value: Uint8Array;
  /** Offset of the attribute's first octet within the whole EAP packet (for AT_MAC). */
  offset: number;
}

/** An EAP-AKA' message (RFC 4187 8.1): Subtype, Reserved (2), attributes. */
export interface AkaMessage {
  code: number;
  id: number;
  subtype: number;
  attributes: AkaAttribute[];
}

const KNOWN_TYPES = new Set<number>(Object.values(AT));

/** Decodes an EAP-AKA' (type 50) Request or Response. Unknown non-skippable attributes are an error (RFC 4187 8.1). */
export function decodeAka(bytes: Uint8Array): AkaMessage {
  const eap = decodeEap(bytes);
  if (eap.type !== EAP_TYPE.AKA_PRIME)
    throw new EapDecodeError('not_aka_prime', `EAP Type ${eap.type} is not 50`);
  if (eap.data.length < 3) throw new EapDecodeError('truncated', "EAP-AKA' message without Subtype/Reserved");
  const attributes: AkaAttribute[] = [];
  const d = eap.data;
  let o = 3;
  while (o < d.length) {
    if (o + 2 > d.length) throw new EapDecodeError('truncated', 'attribute header beyond the packet');
    const type = d[o]!;
    const len = d[o + 1]! * 4;
    if (len === 0) throw new EapDecodeError('bad_attribute', `attribute ${type} with Length 0`);
    if (o + len > d.length) throw new EapDecodeError('truncated', `attribute ${type} runs past the packet`);
    if (!KNOWN_TYPES.has(type) && type < 128) {
      throw new EapDecodeError('unknown_attribute', `non-skippable attribute ${type} not understood`);
    }
    attributes.push({ type, value: d.slice(o + 2, o + len), offset: 5 + o });
    o += len;
  }
  return { code: eap.code, id: eap.id, subtype: d[0]!, attributes };
}

/** Attribute to put into a message: raw value after Type/Length (zero-padded to a multiple of 4 with the header). */
export interface AttrOut {
  type: number;
  value: Uint8Array;
}

/** Encodes an EAP-AKA' message. Returns the bytes and the offset of the AT_MAC value (if AT_MAC is present). */
export function encodeAka(
  code: number,
  id: number,
  subtype: number,
  attrs: AttrOut[],
): { bytes: Uint8Array; macOffset?: number } {
  let body = 3;
  for (const a of attrs) body += Math.ceil((a.value.length + 2) / 4) * 4;
  const out = new Uint8Array(5 + body);
  out[0] = code;
  out[1] = id & 0xff;
  out[2] = out.length >>> 8;
  out[3] = out.length & 0xff;
  out[4] = EAP_TYPE.AKA_PRIME;
  out[5] = subtype;
  let o = 8;
  let macOffset: number | undefined;
  for (const a of attrs) {
    const len = Math.ceil((a.value.length + 2) / 4) * 4;
    if (len / 4 > 255) throw new EapDecodeError('too_long', `attribute ${a.type} too long`);
    out[o] = a.type;
    out[o + 1] = len / 4;
    out.set(a.value, o + 2);
    if (a.type === AT.MAC) macOffset = o + 4;
    o += len;
  }
  return macOffset === undefined ? { bytes: out } : { bytes: out, macOffset };
}

// --- attribute value builders (RFC 4187 10 / RFC 5448 3.1-3.2) ---

/** "Reserved(2) || data" attributes: AT_RAND, AT_AUTN, AT_MAC, AT_CHECKCODE, AT_NONCE_S, AT_IV. */
export function reservedValue(data: Uint8Array): Uint8Array {
  const v = new Uint8Array(2 + data.length);
  v.set(data, 2);
  return v;
}

/** "Actual length(2) || data || padding" attributes: AT_IDENTITY, AT_KDF_INPUT, AT_NEXT_PSEUDONYM, ... */
export function lengthValue(data: Uint8Array): Uint8Array {
  const v = new Uint8Array(2 + data.length);
  v[0] = data.length >>> 8;
  v[1] = data.length & 0xff;
  v.set(data, 2);
  return v;
}

/** AT_RES (RFC 4187 10.8): RES Length in bits (2) || RES || padding. */
export function resValue(res: Uint8Array): Uint8Array {
  const v = new Uint8Array(2 + res.length);
  const bits = res.length * 8;
  v[0] = bits >>> 8;
  v[1] = bits & 0xff;
  v.set(res, 2);
  return v;
}

/** 16-bit value attributes: AT_KDF, AT_CLIENT_ERROR_CODE, AT_NOTIFICATION, AT_COUNTER. */
export function u16Value(n: number): Uint8Array {
  return Uint8Array.of(n >>> 8, n & 0xff);
}

export const EMPTY2 = new Uint8Array(2);

// --- attribute readers ---

export function findAttr(m: AkaMessage, type: number): AkaAttribute | undefined {
  return m.attributes.find((a) => a.type === type);
}

export function allAttrs(m: AkaMessage, type: number): AkaAttribute[] {
  return m.attributes.filter((a) => a.type === type);
}

/** Reads a "Reserved(2) || fixed data" attribute, checking its size. */
export function readReserved(
  a: AkaAttribute | undefined,
  size: number,
  name: string,
): Uint8Array | undefined {
  if (!a) return undefined;
  if (a.value.length !== 2 + size)
    throw new EapDecodeError('bad_attribute', `${name} must carry ${size} octets`);
  return a.value.slice(2);
}

/** Reads an "Actual length(2) || data || padding" attribute. */
export function readLength(a: AkaAttribute | undefined, name: string): Uint8Array | undefined {
  if (!a) return undefined;
  if (a.value.length < 2) throw new EapDecodeError('bad_attribute', `${name} too short`);
  const n = (a.value[0]! << 8) | a.value[1]!;
  if (n > a.value.length - 2)
    throw new EapDecodeError('bad_attribute', `${name} actual length ${n} too large`);
  return a.value.slice(2, 2 + n);
}

export function readU16(a: AkaAttribute): number {
  if (a.value.length !== 2)
    throw new EapDecodeError('bad_attribute', `attribute ${a.type} must have Length 1`);
  return (a.value[0]! << 8) | a.value[1]!;
}

/** AT_RES: RES of 32..128 bits (RFC 4187 10.8; lengths that are not whole octets are rejected). */
export function readRes(a: AkaAttribute | undefined): Uint8Array | undefined {
  if (!a) return undefined;
  const bits = (a.value[0]! << 8) | a.value[1]!;
  if (bits % 8 !== 0 || bits < 32 || bits > 128 || bits / 8 > a.value.length - 2) {
    throw new EapDecodeError('bad_attribute', `AT_RES length ${bits} bits invalid`);
  }
  return a.value.slice(2, 2 + bits / 8);
}

/** AT_AUTS carries 14 octets directly after Type/Length (RFC 4187 10.9). */
export function readAuts(a: AkaAttribute | undefined): Uint8Array | undefined {
  if (!a) return undefined;
  if (a.value.length !== 14) throw new EapDecodeError('bad_attribute', 'AT_AUTS must carry 14 octets');
  return a.value.slice();
}

/** Offset of the 16-octet AT_MAC value within the EAP packet. */
export function macValueOffset(a: AkaAttribute): number {
  if (a.value.length !== 18) throw new EapDecodeError('bad_attribute', 'AT_MAC must have Length 5');
  return a.offset + 4;
}

export const utf8 = new TextEncoder();
export const fromUtf8 = (b: Uint8Array): string => new TextDecoder().decode(b);

// --- AT_IV / AT_ENCR_DATA (RFC 4187 10.12): AES-128-CBC under K_encr over attributes padded with AT_PADDING ---

/** Encrypts nested attributes into AT_ENCR_DATA's value (Reserved(2) || ciphertext), padding with AT_PADDING. */
export function encryptAttributes(kEncr: Uint8Array, iv: Uint8Array, attrs: AttrOut[]): Uint8Array {
  let len = 0;
  for (const a of attrs) len += Math.ceil((a.value.length + 2) / 4) * 4;
  const padLen = (16 - (len % 16)) % 16;
  const plain = new Uint8Array(len + padLen);
  let o = 0;
  for (const a of attrs) {
    const l = Math.ceil((a.value.length + 2) / 4) * 4;
    plain[o] = a.type;
    plain[o + 1] = l / 4;
    plain.set(a.value, o + 2);
    o += l;
  }
  if (padLen > 0) {
    plain[o] = AT.PADDING;
    plain[o + 1] = padLen / 4;
  }
  const c = createCipheriv('aes-128-cbc', kEncr, iv).setAutoPadding(false);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return reservedValue(new Uint8Array(ct));
}

/** Decrypts AT_ENCR_DATA and returns the nested attributes (offsets are relative to the plaintext). */
export function decryptAttributes(kEncr: Uint8Array, iv: Uint8Array, encr: AkaAttribute): AkaAttribute[] {
  const ct = encr.value.subarray(2);
  if (ct.length === 0 || ct.length % 16 !== 0) throw new EapDecodeError('bad_attribute', 'AT_ENCR_DATA size');
  const d = createDecipheriv('aes-128-cbc', kEncr, iv).setAutoPadding(false);
  const plain = new Uint8Array(Buffer.concat([d.update(ct), d.final()]));
  const out: AkaAttribute[] = [];
  let o = 0;
  while (o < plain.length) {
    if (o + 2 > plain.length)
      throw new EapDecodeError('bad_attribute', 'encrypted attribute header truncated');
    const type = plain[o]!;
    const len = plain[o + 1]! * 4;
    if (len === 0 || o + len > plain.length)
      throw new EapDecodeError('bad_attribute', 'encrypted attribute size');
    if (type !== AT.PADDING) out.push({ type, value: plain.slice(o + 2, o + len), offset: o });
    o += len;
  }
  return out;
}

/** RFC 5448 3.4 / RFC 4187 10.13: AT_CHECKCODE for EAP-AKA' = SHA-256 over the EAP-AKA'-Identity packets exchanged. */
export class CheckcodeHash {
  private readonly h = createHash('sha256');
  private rounds = 0;
  add(packet: Uint8Array): void {
    this.h.update(packet);
    this.rounds++;
  }
  /** Empty when no AKA'-Identity round took place (AT_CHECKCODE then has Length 1). */
  digest(): Uint8Array {
    return this.rounds === 0 ? new Uint8Array(0) : new Uint8Array(this.h.copy().digest());
  }
}

/** AT_CHECKCODE value: empty (Length 1) or a 32-octet SHA-256 digest for EAP-AKA' (RFC 5448 3.4). */
export function readCheckcode(a: AkaAttribute | undefined): Uint8Array | undefined {
  if (!a) return undefined;
  if (a.value.length !== 2 && a.value.length !== 34)
    throw new EapDecodeError('bad_attribute', 'AT_CHECKCODE size');
  return a.value.slice(2);
}
