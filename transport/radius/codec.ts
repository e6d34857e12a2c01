// RADIUS wire format: RFC 2865 (packet, attributes, Request/Response Authenticator), RFC 3579 (EAP-Message,
// Message-Authenticator = HMAC-MD5), RFC 2548 2.4.2-2.4.3 (MS-MPPE-Send/Recv-Key with salt-encrypted key).
import { createHash, createHmac } from 'node:crypto';
import { constantTimeEqual } from '../../crypto-core/bytes.js';
import { randomOctets } from '../../crypto-core/random-pool.js';

/** RFC 2865 3 / RFC 3579: packet codes. */
export const RADIUS_CODE = {
  ACCESS_REQUEST: 1,
  ACCESS_ACCEPT: 2,
  ACCESS_REJECT: 3,
  ACCESS_CHALLENGE: 11,
} as const;

/** RFC 2865 5 / RFC 3579 3: attribute types used here. */
export const RADIUS_ATTR = {
  USER_NAME: 1,
  NAS_IP_ADDRESS: 4,
  SERVICE_TYPE: 6,
  FRAMED_MTU: 12,
  REPLY_MESSAGE: 18,
  STATE: 24,
  CLASS: 25,
  VENDOR_SPECIFIC: 26,
  SESSION_TIMEOUT: 27,
  CALLED_STATION_ID: 30,
  CALLING_STATION_ID: 31,
  NAS_IDENTIFIER: 32,
  NAS_PORT_TYPE: 61,
  CONNECT_INFO: 77,
  EAP_MESSAGE: 79,
  MESSAGE_AUTHENTICATOR: 80,
} as const;

/** RFC 2548 2.4.2/2.4.3: Microsoft vendor id and the MPPE key vendor types. */
export const VENDOR_MICROSOFT = 311;
export const MS_MPPE_SEND_KEY = 16;
export const MS_MPPE_RECV_KEY = 17;

export const RADIUS_HEADER = 20;
export const RADIUS_MAX = 4096;

export class RadiusDecodeError extends Error {
  override readonly name = 'RadiusDecodeError';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RadiusAttribute {
  type: number;
  value: Uint8Array;
}

export interface RadiusPacket {
  code: number;
  id: number;
  /** Request Authenticator (requests) or Response Authenticator (responses). */
  authenticator: Uint8Array;
  attributes: RadiusAttribute[];
}

/** RFC 2865 3: decodes a packet (does not verify authenticators). */
export function decodeRadius(bytes: Uint8Array): RadiusPacket {
  if (bytes.length < RADIUS_HEADER)
    throw new RadiusDecodeError('truncated', 'RADIUS packet shorter than 20 octets');
  const length = (bytes[2]! << 8) | bytes[3]!;
  if (length < RADIUS_HEADER || length > RADIUS_MAX)
    throw new RadiusDecodeError('bad_length', `Length ${length}`);
  if (length > bytes.length) throw new RadiusDecodeError('truncated', `Length ${length} > ${bytes.length}`);
  const attributes: RadiusAttribute[] = [];
  let o = RADIUS_HEADER;
  while (o < length) {
    if (o + 2 > length) throw new RadiusDecodeError('bad_attribute', 'attribute header truncated');
    const l = bytes[o + 1]!;
    if (l < 2 || o + l > length)
      throw new RadiusDecodeError('bad_attribute', `attribute ${bytes[o]} length ${l}`);
    attributes.push({ type: bytes[o]!, value: bytes.slice(o + 2, o + l) });
    o += l;
  }
  return { code: bytes[0]!, id: bytes[1]!, authenticator: bytes.slice(4, 20), attributes };
}

/** RFC 2865 3: encodes a packet with the given authenticator field (no Message-Authenticator computation). */
export function encodeRadius(p: RadiusPacket): Uint8Array {
  let len = RADIUS_HEADER;
  for (const a of p.attributes) {
    if (a.value.length > 253)
      throw new RadiusDecodeError('too_long', `attribute ${a.type} value > 253 octets`);
    len += 2 + a.value.length;
  }
  if (len > RADIUS_MAX) throw new RadiusDecodeError('too_long', `packet of ${len} octets`);
  const out = new Uint8Array(len);
  out[0] = p.code;
  out[1] = p.id & 0xff;
  out[2] = len >>> 8;
  out[3] = len & 0xff;
  out.set(p.authenticator, 4);
  let o = RADIUS_HEADER;
  for (const a of p.attributes) {
    out[o] = a.type;
    out[o + 1] = a.value.length + 2;
    out.set(a.value, o + 2);
    o += 2 + a.value.length;
  }
  return out;
}

/** RFC 3579 3.1: an EAP packet split into EAP-Message attributes of at most 253 octets. */
export function eapMessageAttributes(eap: Uint8Array): RadiusAttribute[] {
  const out: RadiusAttribute[] = [];
  for (let o = 0; o < eap.length; o += 253)
    out.push({ type: RADIUS_ATTR.EAP_MESSAGE, value: eap.slice(o, o + 253) });
  return out;
}

/** RFC 3579 3.1: concatenation of all EAP-Message attributes, or undefined if there is none. */
export function eapMessage(p: RadiusPacket): Uint8Array | undefined {
  const parts = p.attributes.filter((a) => a.type === RADIUS_ATTR.EAP_MESSAGE);
  if (parts.length === 0) return undefined;
  return new Uint8Array(Buffer.concat(parts.map((a) => a.value)));
}

export function attr(p: RadiusPacket, type: number): Uint8Array | undefined {
  return p.attributes.find((a) => a.type === type)?.value;
}

const md5 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('md5');
  for (const x of parts) h.update(x);
  return new Uint8Array(h.digest());
};

/** Offset of the Message-Authenticator value in an encoded packet, or -1. */
function messageAuthenticatorOffset(bytes: Uint8Array): number {
  const length = (bytes[2]! << 8) | bytes[3]!;
  for (let o = RADIUS_HEADER; o + 2 <= length; o += bytes[o + 1]!) {
    if (bytes[o + 1]! < 2) return -1;
    if (bytes[o] === RADIUS_ATTR.MESSAGE_AUTHENTICATOR && bytes[o + 1] === 18) return o + 2;
  }
  return -1;
}

/** RFC 3579 3.2: HMAC-MD5(secret, packet with the Message-Authenticator value zeroed and `authField` in 4..19). */
function computeMessageAuthenticator(
  bytes: Uint8Array,
  off: number,
  secret: Uint8Array,
  authField: Uint8Array,
) {
  const copy = bytes.slice();
  copy.fill(0, off, off + 16);
  copy.set(authField, 4);
  return new Uint8Array(createHmac('md5', secret).update(copy).digest());
}

/**
 * Builds a signed Access-Request (RFC 2865 3: random Request Authenticator; RFC 3579 3.2: Message-Authenticator).
 * Returns the bytes; the Request Authenticator is bytes[4..20].
 */
export function buildAccessRequest(
  id: number,
  attributes: RadiusAttribute[],
  secret: Uint8Array,
): Uint8Array {
  const authenticator = randomOctets(16);
  const bytes = encodeRadius({
    code: RADIUS_CODE.ACCESS_REQUEST,
    id,
    authenticator,
    attributes: [...attributes, { type: RADIUS_ATTR.MESSAGE_AUTHENTICATOR, value: new Uint8Array(16) }],
  });
  const off = bytes.length - 16;
  bytes.set(computeMessageAuthenticator(bytes, off, secret, authenticator), off);
  return bytes;
}

/**
 * Builds a response (Accept/Reject/Challenge) to a request: Message-Authenticator computed with the Request
 * Authenticator (RFC 3579 3.2), then Response Authenticator = MD5(Code|ID|Length|RequestAuth|Attributes|Secret)
 * (RFC 2865 3).
 */
export function buildResponse(
  code: number,
  id: number,
  requestAuthenticator: Uint8Array,
  attributes: RadiusAttribute[],
  secret: Uint8Array,
): Uint8Array {
  const bytes = encodeRadius({
    code,
    id,
    authenticator: requestAuthenticator,
    attributes: [...attributes, { type: RADIUS_ATTR.MESSAGE_AUTHENTICATOR, value: new Uint8Array(16) }],
  });
  const off = bytes.length - 16;
  bytes.set(computeMessageAuthenticator(bytes, off, secret, requestAuthenticator), off);
  bytes.set(md5(bytes.subarray(0, 4), requestAuthenticator, bytes.subarray(20), secret), 4);
  return bytes;
}

/** RFC 3579 3.2: verifies an Access-Request's Message-Authenticator (required when EAP-Message is present). */
export function verifyRequestMessageAuthenticator(bytes: Uint8Array, secret: Uint8Array): boolean {
  const off = messageAuthenticatorOffset(bytes);
  if (off < 0) return false;
  const expect = computeMessageAuthenticator(bytes, off, secret, bytes.subarray(4, 20));
  return constantTimeEqual(expect, bytes.subarray(off, off + 16));
}

/** RFC 2865 3 + RFC 3579 3.2: verifies a response's Response Authenticator and Message-Authenticator. */
export function verifyResponse(
  bytes: Uint8Array,
  requestAuthenticator: Uint8Array,
  secret: Uint8Array,
): boolean {
  if (bytes.length < RADIUS_HEADER) return false;
  const expectRa = md5(bytes.subarray(0, 4), requestAuthenticator, bytes.subarray(20), secret);
  if (!constantTimeEqual(expectRa, bytes.subarray(4, 20))) return false;
  const off = messageAuthenticatorOffset(bytes);
  if (off < 0) return false;
  const expectMa = computeMessageAuthenticator(bytes, off, secret, requestAuthenticator);
  return constantTimeEqual(expectMa, bytes.subarray(off, off + 16));
}

/**
 * RFC 2548 2.4.2: Salt (2 octets, high bit set) || C, where P = key-length(1) || key || zero padding to 16n,
 * b(1) = MD5(secret | Request-Authenticator | Salt), c(i) = p(i) XOR b(i), b(i) = MD5(secret | c(i-1)).
 */
export function encryptMppeKey(
  key: Uint8Array,
  secret: Uint8Array,
  requestAuthenticator: Uint8Array,
  salt: Uint8Array,
): Uint8Array {
  const plen = Math.ceil((key.length + 1) / 16) * 16;
  const p = new Uint8Array(plen);
  p[0] = key.length;
  p.set(key, 1);
  const out = new Uint8Array(2 + plen);
  out[0] = salt[0]! | 0x80;
  out[1] = salt[1]!;
  let b = md5(secret, requestAuthenticator, out.subarray(0, 2));
  for (let i = 0; i < plen; i += 16) {
    for (let j = 0; j < 16; j++) out[2 + i + j] = p[i + j]! ^ b[j]!;
    b = md5(secret, out.subarray(2 + i, 2 + i + 16));
  }
  return out;
}

/** RFC 2548 2.4.2: decrypts Salt || C back to the key. */
export function decryptMppeKey(
  value: Uint8Array,
  secret: Uint8Array,
  requestAuthenticator: Uint8Array,
): Uint8Array {
  if (value.length < 18 || (value.length - 2) % 16 !== 0)
    throw new RadiusDecodeError('bad_attribute', 'MPPE key size');
  const c = value.subarray(2);
  const p = new Uint8Array(c.length);
  let b = md5(secret, requestAuthenticator, value.subarray(0, 2));
  for (let i = 0; i < c.length; i += 16) {
    for (let j = 0; j < 16; j++) p[i + j] = c[i + j]! ^ b[j]!;
    b = md5(secret, c.subarray(i, i + 16));
  }
  if (p[0]! > p.length - 1) throw new RadiusDecodeError('bad_attribute', 'MPPE key length');
  return p.slice(1, 1 + p[0]!);
}

/** RFC 2865 5.26 / RFC 2548 2.4.2: Vendor-Specific attribute carrying one Microsoft sub-attribute. */
export function msVendorAttribute(vendorType: number, value: Uint8Array): RadiusAttribute {
  const v = new Uint8Array(6 + value.length);
  new DataView(v.buffer).setUint32(0, VENDOR_MICROSOFT);
  v[4] = vendorType;
  v[5] = value.length + 2;
  v.set(value, 6);
  return { type: RADIUS_ATTR.VENDOR_SPECIFIC, value: v };
}

/** Finds a Microsoft vendor sub-attribute value in a packet. */
export function msVendorValue(p: RadiusPacket, vendorType: number): Uint8Array | undefined {
  for (const a of p.attributes) {
    if (a.type !== RADIUS_ATTR.VENDOR_SPECIFIC || a.value.length < 8) continue;
    if (new DataView(a.value.buffer, a.value.byteOffset).getUint32(0) !== VENDOR_MICROSOFT) continue;
    if (a.value[4] === vendorType) return a.value.slice(6, 4 + a.value[5]!);
  }
  return undefined;
}

/**
 * The two MPPE attributes an authenticator expects on Access-Accept (RFC 2548 2.4.2-2.4.3; RFC 3748/5247 key
 * naming as used by hostapd/wpa_supplicant): MS-MPPE-Recv-Key = MSK[0..31], MS-MPPE-Send-Key = MSK[32..63].
 */
export function mppeKeyAttributes(
  msk: Uint8Array,
  secret: Uint8Array,
  requestAuthenticator: Uint8Array,
  rng: (n: number) => Uint8Array = randomOctets,
): RadiusAttribute[] {
  const s1 = rng(2);
  s1[0]! |= 0x80;
  const s2 = s1.slice();
  s2[1] = (s2[1]! + 1) & 0xff; // salts of one packet must differ (RFC 2548 2.4.2)
  return [
    msVendorAttribute(
      MS_MPPE_RECV_KEY,
      encryptMppeKey(msk.subarray(0, 32), secret, requestAuthenticator, s1),
    ),
    msVendorAttribute(
      MS_MPPE_SEND_KEY,
      encryptMppeKey(msk.subarray(32, 64), secret, requestAuthenticator, s2),
    ),
  ];
}
