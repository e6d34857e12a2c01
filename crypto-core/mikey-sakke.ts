// MIKEY message assembly: the MIKEY-SAKKE I_MESSAGE (RFC 6509 clauses 2 and 4) and a signed pre-shared-key
// message carrying a GSK under a GMK (RFC 3830 clauses 3.1, 4.1, 4.2.3, 5). The SAKKE Encapsulated Data and the
// ECCSI signature are opaque bytes produced and checked by injected functions. See docs/mikey.md.
import { createCipheriv, createHmac } from 'node:crypto';
import { concatBytes, constantTimeEqual, uintToBytes } from './bytes.js';
import { CryptoInputError } from './errors.js';
import {
  type CsIdMap,
  DataType,
  decodeKeyData,
  decodeMikey,
  EncrAlg,
  type EncrAlgValue,
  encodeKeyData,
  encodeMikey,
  IdRole,
  type IdrPayload,
  IdType,
  type KemacPayload,
  type KeyData,
  MAC_LENGTH,
  MacAlg,
  type MacAlgValue,
  type MikeyDecodeOptions,
  type MikeyMessage,
  type MikeyPayload,
  PrfFunc,
  type PrfFuncValue,
  payloadOffsets,
  SAKKE_ID_SCHEME_TEL_URI_MONTHLY,
  SAKKE_PARAMS_SET_1,
  type SignPayload,
  SignType,
  TsType,
} from './mikey.js';

/** A well-formed MIKEY message that fails a semantic or cryptographic check. */
export class MikeyMessageError extends CryptoInputError {
  constructor(
    code: 'signature' | 'mac' | 'unknown_key' | 'missing_payload' | 'data_type' | string,
    message: string,
  ) {
    super(code, `MIKEY: ${message}`);
    Object.defineProperty(this, 'name', { value: 'MikeyMessageError' });
  }
}

// ---------------------------------------------------------------------------------------------------------
// PRF and key derivation (RFC 3830 4.1.2 - 4.1.4; RFC 6043 6.1 for the HMAC-SHA-256 variant).

/** Key derivation constants (RFC 3830 4.1.3 and 4.1.4). */
export const MIKEY_CONST = {
  TEK: 0x2ad01c64,
  SALT: 0x39a2c14b,
  ENCR: 0x150533e1,
  AUTH: 0x2d22ac75,
} as const;

/**
 * MIKEY PRF(inkey, label) of RFC 3830 4.1.2: inkey cut into 256-bit pieces, P(s, label, m) per piece
 * (P_hash construction, A_0 = label, A_i = HMAC(s, A_{i-1}), output HMAC(s, A_i || label)), the P outputs XORed
 * and truncated to `outLen` octets. prf 0 = MIKEY-1 (HMAC-SHA-1, 160-bit blocks), prf 1 = PRF-HMAC-SHA-256
 * (the same construction over HMAC-SHA-256, 256-bit blocks).
 */
export function mikeyPrf(
  inkey: Uint8Array,
  label: Uint8Array,
  outLen: number,
  prf: PrfFuncValue = 0,
): Uint8Array {
  if (!(inkey instanceof Uint8Array) || inkey.length === 0) {
    throw new CryptoInputError('key_length', 'MIKEY PRF inkey must be non-empty');
  }
  if (!Number.isInteger(outLen) || outLen < 1 || outLen > 8192) {
    throw new CryptoInputError('range', 'MIKEY PRF output length out of range');
  }
  const hash = prf === PrfFunc.HMAC_SHA_256 ? 'sha256' : 'sha1';
  const hLen = prf === PrfFunc.HMAC_SHA_256 ? 32 : 20;
  const m = Math.ceil(outLen / hLen);
  const out = new Uint8Array(m * hLen);
  for (let off = 0; off < inkey.length; off += 32) {
    const s = inkey.subarray(off, Math.min(off + 32, inkey.length));
    let a: Uint8Array = label;
    for (let i = 0; i < m; i++) {
      a = createHmac(hash, s).update(a).digest();
      const block = createHmac(hash, s).update(a).update(label).digest();
      for (let j = 0; j < hLen; j++) out[i * hLen + j]! ^= block[j]!;
    }
  }
  return out.slice(0, outLen);
}

/** label = constant || cs_id || CSB ID || RAND (RFC 3830 4.1.3; cs_id 0xFF for the envelope keys of 4.1.4). */
export function mikeyLabel(constant: number, csId: number, csbId: number, rand: Uint8Array): Uint8Array {
  return concatBytes(uintToBytes(constant, 4), uintToBytes(csId, 1), uintToBytes(csbId, 4), rand);
}

/** TEK or salt derived from a TGK for crypto session cs_id (RFC 3830 4.1.3). */
export function deriveTek(
  tgk: Uint8Array,
  csId: number,
  csbId: number,
  rand: Uint8Array,
  outLen: number,
  prf: PrfFuncValue = 0,
  constant: number = MIKEY_CONST.TEK,
): Uint8Array {
  return mikeyPrf(tgk, mikeyLabel(constant, csId, csbId, rand), outLen, prf);
}

export interface EnvelopeKeys {
  encrKey: Uint8Array;
  authKey: Uint8Array;
  saltKey: Uint8Array;
}

/** encr_key, auth_key and salt_key from the pre-shared envelope key (RFC 3830 4.1.4). */
export function deriveEnvelopeKeys(
  envKey: Uint8Array,
  csbId: number,
  rand: Uint8Array,
  prf: PrfFuncValue,
  macAlg: MacAlgValue,
): EnvelopeKeys {
  const k = (c: number, n: number) => mikeyPrf(envKey, mikeyLabel(c, 0xff, csbId, rand), n, prf);
  return {
    encrKey: k(MIKEY_CONST.ENCR, 16),
    authKey: k(MIKEY_CONST.AUTH, macAlg === MacAlg.HMAC_SHA_256_256 ? 32 : 20),
    saltKey: k(MIKEY_CONST.SALT, 14),
  };
}

/**
 * AES-CM-128 of the KEMAC (RFC 3830 4.2.3): IV = (S XOR (0x0000 || CSB ID || T)) || 0x0000 with S the 112-bit
 * salt key and T the 64-bit timestamp; then AES counter mode. Encryption and decryption are the same.
 */
export function aesCm128(
  encrKey: Uint8Array,
  saltKey: Uint8Array,
  csbId: number,
  ts: bigint,
  data: Uint8Array,
): Uint8Array {
  if (encrKey.length !== 16 || saltKey.length !== 14) {
    throw new CryptoInputError('key_length', 'AES-CM-128 needs a 16-octet key and a 14-octet salt');
  }
  const iv = new Uint8Array(16);
  iv.set(saltKey, 0);
  const mix = concatBytes(new Uint8Array(2), uintToBytes(csbId, 4), uintToBytes(ts, 8));
  for (let i = 0; i < 14; i++) iv[i]! ^= mix[i]!;
  const c = createCipheriv('aes-128-ctr', encrKey, iv);
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

function macOf(alg: MacAlgValue, key: Uint8Array, data: Uint8Array): Uint8Array {
  if (alg === MacAlg.NULL) return new Uint8Array(0);
  return new Uint8Array(
    createHmac(alg === MacAlg.HMAC_SHA_256_256 ? 'sha256' : 'sha1', key)
      .update(data)
      .digest(),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Signing helpers.

/**
 * Which octets the SIGN payload covers. 'rfc3830' (default): the whole message up to and including the SIGN
 * payload's S type / Signature len octets, i.e. everything except the Signature field (RFC 3830 5.2).
 * 'before-sign': everything before the SIGN payload (what some MIKEY-SAKKE stacks do).
 */
export type SignCoverage = 'rfc3830' | 'before-sign';

/** Checks an ECCSI SIGN, the last payload of the canonical message `bytes`, against the covered octets. */
function checkSign(
  bytes: Uint8Array,
  sign: SignPayload,
  signerUri: string,
  verify: (signed: Uint8Array, signature: Uint8Array, signerUri: string) => boolean,
  coverage: SignCoverage,
): void {
  if (sign.sType !== SignType.ECCSI)
    throw new MikeyMessageError('sign_type', `S type ${sign.sType} is not ECCSI`);
  const n = bytes.length - sign.signature.length - (coverage === 'rfc3830' ? 0 : 2);
  if (!verify(new Uint8Array(bytes.subarray(0, n)), sign.signature, signerUri)) {
    throw new MikeyMessageError('signature', 'ECCSI signature does not verify');
  }
}

/** Encodes `msg` (without SIGN) plus a SIGN payload whose signature comes from `sign` over the covered octets. */
function encodeSigned(
  msg: MikeyMessage,
  sType: number,
  sigLen: number,
  sign: (toBeSigned: Uint8Array) => Uint8Array,
  coverage: SignCoverage,
): Uint8Array {
  const placeholder: SignPayload = {
    kind: 'SIGN',
    sType: sType as SignPayload['sType'],
    signature: new Uint8Array(sigLen),
  };
  const full: MikeyMessage = { header: msg.header, payloads: [...msg.payloads, placeholder] };
  const bytes = encodeMikey(full);
  // SIGN is last: the Signature field is the final sigLen octets, preceded by the 2-octet S type / len.
  const sig = sign(bytes.slice(0, bytes.length - sigLen - (coverage === 'rfc3830' ? 0 : 2)));
  if (!(sig instanceof Uint8Array) || sig.length !== sigLen) {
    throw new CryptoInputError(
      'signature_length',
      `signer returned ${sig?.length} octets, expected ${sigLen}`,
    );
  }
  bytes.set(sig, bytes.length - sigLen);
  return bytes;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function idText(p: IdrPayload | undefined): string | undefined {
  if (!p) return undefined;
  try {
    return utf8Strict.decode(p.id);
  } catch {
    throw new MikeyMessageError('id_encoding', `IDR role ${p.role} is not UTF-8`);
  }
}

function idr(role: IdrPayload['role'], uri: string): IdrPayload {
  return { kind: 'IDR', role, idType: IdType.URI, id: utf8.encode(uri) };
}

function find<K extends MikeyPayload['kind']>(
  msg: MikeyMessage,
  kind: K,
): Extract<MikeyPayload, { kind: K }> | undefined {
  return msg.payloads.find((p) => p.kind === kind) as Extract<MikeyPayload, { kind: K }> | undefined;
}

function findIdr(msg: MikeyMessage, role: number): IdrPayload | undefined {
  return msg.payloads.find((p) => p.kind === 'IDR' && p.role === role) as IdrPayload | undefined;
}

function need<T>(p: T | undefined, what: string): T {
  if (p === undefined) throw new MikeyMessageError('missing_payload', `no ${what} payload`);
  return p;
}

// ---------------------------------------------------------------------------------------------------------
// MIKEY-SAKKE I_MESSAGE (RFC 6509 2.1): HDR, T, RAND, [IDRi], [IDRr], [IDRkmsi], [IDRkmsr], SAKKE, {EXT}, SIGN.

/** ECCSI signature length (RFC 6507: r || s || PVT = 32 + 32 + 65 octets). */
export const ECCSI_SIGNATURE_LENGTH = 129;

export interface SakkeIMessageInput {
  /** CSB ID; carries the key identifier (GMK-ID, PCK-ID) as in TS 33.180. */
  csbId: number;
  /** 64-bit NTP-UTC timestamp (see ntpFromUnixMs). */
  timestamp: bigint;
  /** RAND, 16 or more octets (RFC 3830 6.11 recommends at least 16). */
  rand: Uint8Array;
  initiatorUri: string;
  responderUri: string;
  /** KMS URI for both IDRkmsi and IDRkmsr, or each separately. */
  kmsUri?: string | { initiator?: string; responder?: string };
  /** SAKKE Encapsulated Data R || H (RFC 6508), opaque here. */
  sakkeData: Uint8Array;
  /** SAKKE ID scheme: 1 tel URI with monthly keys (default, RFC 6509), 2 MIKEY-SAKKE-UID (TS 33.180). */
  idScheme?: number;
  /** ECCSI signer over the covered octets; must return `signatureLength` octets. */
  sign: (toBeSigned: Uint8Array) => Uint8Array;
  signatureLength?: number;
  signCoverage?: SignCoverage;
  /** General Extension payloads (RFC 3830 6.15) placed after SAKKE, e.g. TS 33.180 key parameters. */
  extensions?: { type: number; data: Uint8Array }[];
  /** V flag (default false: no response expected); PRF func (default 1, PRF-HMAC-SHA-256, as TS 33.180 stacks use). */
  v?: boolean;
  prfFunc?: PrfFuncValue;
  csIdMap?: CsIdMap;
}

/** Builds and signs a MIKEY-SAKKE I_MESSAGE. */
export function buildSakkeIMessage(input: SakkeIMessageInput): Uint8Array {
  const payloads: MikeyPayload[] = [
    { kind: 'T', tsType: TsType.NTP_UTC, value: input.timestamp },
    { kind: 'RAND', rand: input.rand },
    idr(IdRole.IDRi, input.initiatorUri),
    idr(IdRole.IDRr, input.responderUri),
  ];
  const kms =
    typeof input.kmsUri === 'string' ? { initiator: input.kmsUri, responder: input.kmsUri } : input.kmsUri;
  if (kms?.initiator !== undefined) payloads.push(idr(IdRole.IDRkmsi, kms.initiator));
  if (kms?.responder !== undefined) payloads.push(idr(IdRole.IDRkmsr, kms.responder));
  payloads.push({
    kind: 'SAKKE',
    params: SAKKE_PARAMS_SET_1,
    idScheme: input.idScheme ?? SAKKE_ID_SCHEME_TEL_URI_MONTHLY,
    data: input.sakkeData,
  });
  for (const e of input.extensions ?? [])
    payloads.push({ kind: 'GENERAL_EXT', extType: e.type, data: e.data });
  const msg: MikeyMessage = {
    header: {
      dataType: DataType.SAKKE,
      v: input.v ?? false,
      prfFunc: input.prfFunc ?? PrfFunc.HMAC_SHA_256,
      csbId: input.csbId,
      csIdMap: input.csIdMap ?? { type: 'EMPTY', csCount: 0 },
    },
    payloads,
  };
  return encodeSigned(
    msg,
    SignType.ECCSI,
    input.signatureLength ?? ECCSI_SIGNATURE_LENGTH,
    input.sign,
    input.signCoverage ?? 'rfc3830',
  );
}

export interface SakkeIMessage {
  csbId: number;
  timestamp: bigint;
  rand: Uint8Array;
  initiatorUri: string;
  responderUri: string;
  initiatorKmsUri?: string;
  responderKmsUri?: string;
  sakkeData: Uint8Array;
  idScheme: number;
  signature: Uint8Array;
  extensions: { type: number; data: Uint8Array }[];
  message: MikeyMessage;
}

export interface ParseOptions extends MikeyDecodeOptions {
  signCoverage?: SignCoverage;
}

/**
 * Decodes a MIKEY-SAKKE I_MESSAGE and checks its ECCSI signature with `verify(signed, signature, signerUri)`,
 * the signer being the IDRi URI. Throws MikeyDecodeError for malformed bytes, MikeyMessageError otherwise.
 */
export function parseSakkeIMessage(
  bytes: Uint8Array,
  verify: (signed: Uint8Array, signature: Uint8Array, signerUri: string) => boolean,
  opts: ParseOptions = {},
): SakkeIMessage {
  const message = decodeMikey(bytes, opts);
  if (message.header.dataType !== DataType.SAKKE) {
    throw new MikeyMessageError('data_type', `data type ${message.header.dataType} is not SAKKE (26)`);
  }
  const t = need(find(message, 'T'), 'T');
  const rand = need(find(message, 'RAND'), 'RAND');
  const sakke = need(find(message, 'SAKKE'), 'SAKKE');
  const sign = need(find(message, 'SIGN'), 'SIGN');
  const initiatorUri = need(idText(findIdr(message, IdRole.IDRi)), 'IDRi');
  const responderUri = need(idText(findIdr(message, IdRole.IDRr)), 'IDRr');
  checkSign(bytes, sign, initiatorUri, verify, opts.signCoverage ?? 'rfc3830');
  const out: SakkeIMessage = {
    csbId: message.header.csbId,
    timestamp: t.value,
    rand: rand.rand,
    initiatorUri,
    responderUri,
    sakkeData: sakke.data,
    idScheme: sakke.idScheme,
    signature: sign.signature,
    extensions: message.payloads
      .filter((p) => p.kind === 'GENERAL_EXT')
      .map((p) => ({ type: p.extType, data: p.data })),
    message,
  };
  const ki = idText(findIdr(message, IdRole.IDRkmsi));
  const kr = idText(findIdr(message, IdRole.IDRkmsr));
  if (ki !== undefined) out.initiatorKmsUri = ki;
  if (kr !== undefined) out.responderKmsUri = kr;
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Pre-shared-key message with KEMAC (RFC 3830 3.1): HDR, T, RAND, IDRi, [IDRr], IDRpsk, KEMAC, [SIGN].

export interface PskMessageInput {
  /** CSB ID; carries the GSK identifier. */
  csbId: number;
  timestamp: bigint;
  rand: Uint8Array;
  initiatorUri: string;
  responderUri?: string;
  /** Identifier of the envelope key (GMK-ID), sent in an IDRpsk payload (RFC 6043 6.6) as a byte string. */
  envelopeKeyId: Uint8Array;
  /** The pre-shared envelope key (GMK). */
  envelopeKey: Uint8Array;
  /** Key Data sub-payloads to transport (e.g. the GSK as a TEK with SPI = GSK-ID). */
  keys: KeyData[];
  encrAlg?: typeof EncrAlg.NULL | typeof EncrAlg.AES_CM_128;
  macAlg?: MacAlgValue;
  prfFunc?: PrfFuncValue;
  /** Optional ECCSI signer appended as a SIGN payload after KEMAC. */
  sign?: (toBeSigned: Uint8Array) => Uint8Array;
  signatureLength?: number;
  signCoverage?: SignCoverage;
  dataType?: number;
  v?: boolean;
  csIdMap?: CsIdMap;
}

/**
 * Builds a PSK-mode message: Key Data encrypted under encr_key (AES-CM-128), MAC (RFC 3830 5.2) over the whole
 * message up to and including the KEMAC mac alg field, then the optional SIGN over the message as built.
 */
export function buildPskMessage(input: PskMessageInput): Uint8Array {
  const encrAlg: EncrAlgValue = input.encrAlg ?? EncrAlg.AES_CM_128;
  const macAlg = input.macAlg ?? MacAlg.HMAC_SHA_1_160;
  const prf = input.prfFunc ?? PrfFunc.MIKEY_1;
  if (encrAlg !== EncrAlg.NULL && encrAlg !== EncrAlg.AES_CM_128) {
    throw new CryptoInputError('range', 'only NULL and AES-CM-128 KEMAC encryption are implemented');
  }
  const ek = deriveEnvelopeKeys(input.envelopeKey, input.csbId, input.rand, prf, macAlg);
  const plain = encodeKeyData(input.keys);
  const encrData =
    encrAlg === EncrAlg.AES_CM_128
      ? aesCm128(ek.encrKey, ek.saltKey, input.csbId, input.timestamp, plain)
      : plain;
  const kemac: KemacPayload = {
    kind: 'KEMAC',
    encrAlg,
    encrData,
    macAlg,
    mac: new Uint8Array(MAC_LENGTH[macAlg]),
  };
  const payloads: MikeyPayload[] = [
    { kind: 'T', tsType: TsType.NTP_UTC, value: input.timestamp },
    { kind: 'RAND', rand: input.rand },
    idr(IdRole.IDRi, input.initiatorUri),
  ];
  if (input.responderUri !== undefined) payloads.push(idr(IdRole.IDRr, input.responderUri));
  payloads.push({ kind: 'IDR', role: IdRole.IDRpsk, idType: IdType.BYTE_STRING, id: input.envelopeKeyId });
  payloads.push(kemac);
  const msg: MikeyMessage = {
    header: {
      dataType: input.dataType ?? DataType.PSK_INIT,
      v: input.v ?? false,
      prfFunc: prf,
      csbId: input.csbId,
      csIdMap: input.csIdMap ?? { type: 'EMPTY', csCount: 0 },
    },
    payloads,
  };
  // MAC input: the message as sent (next payload of KEMAC already says SIGN when signed), minus the MAC field.
  const withSign: MikeyMessage = input.sign
    ? {
        header: msg.header,
        payloads: [
          ...payloads,
          { kind: 'SIGN', sType: SignType.ECCSI, signature: new Uint8Array(input.signatureLength ?? 129) },
        ],
      }
    : msg;
  const offs = payloadOffsets(withSign);
  const kemacEnd = offs[payloads.length + 1]!;
  const macInput = encodeMikey(withSign).slice(0, kemacEnd - kemac.mac.length);
  kemac.mac = macOf(macAlg, ek.authKey, macInput);
  if (!input.sign) return encodeMikey(msg);
  return encodeSigned(
    msg,
    SignType.ECCSI,
    input.signatureLength ?? ECCSI_SIGNATURE_LENGTH,
    input.sign,
    input.signCoverage ?? 'rfc3830',
  );
}

export interface PskMessage {
  csbId: number;
  timestamp: bigint;
  rand: Uint8Array;
  initiatorUri: string;
  responderUri?: string;
  envelopeKeyId: Uint8Array;
  keys: KeyData[];
  signed: boolean;
  message: MikeyMessage;
}

export interface PskParseOptions extends ParseOptions {
  /** Reject messages without a SIGN payload (default true when a verifier is given). */
  requireSignature?: boolean;
}

/**
 * Decodes a PSK-mode message: finds the envelope key by its IDRpsk identifier, checks the KEMAC MAC, checks the
 * SIGN when present (signer = IDRi), decrypts and decodes the Key Data. Failures: MikeyMessageError with code
 * 'unknown_key', 'mac', 'signature', 'missing_payload', 'data_type'; MikeyDecodeError for malformed bytes.
 */
export function parsePskMessage(
  bytes: Uint8Array,
  envelopeKeyLookup: (envelopeKeyId: Uint8Array) => Uint8Array | undefined,
  verify?: (signed: Uint8Array, signature: Uint8Array, signerUri: string) => boolean,
  opts: PskParseOptions = {},
): PskMessage {
  const message = decodeMikey(bytes, opts);
  const { header } = message;
  if (header.dataType !== DataType.PSK_INIT && header.dataType !== DataType.PSK_RESP) {
    throw new MikeyMessageError('data_type', `data type ${header.dataType} is not a PSK message`);
  }
  const t = need(find(message, 'T'), 'T');
  const rand = need(find(message, 'RAND'), 'RAND');
  const kemac = need(find(message, 'KEMAC'), 'KEMAC');
  const initiatorUri = need(idText(findIdr(message, IdRole.IDRi)), 'IDRi');
  const pskId = need(findIdr(message, IdRole.IDRpsk), 'IDRpsk').id;
  const sign = find(message, 'SIGN');
  if ((opts.requireSignature ?? verify !== undefined) && !sign) {
    throw new MikeyMessageError('missing_payload', 'no SIGN payload');
  }
  if (sign && !verify) throw new MikeyMessageError('signature', 'signed message but no verifier given');
  // Cheap checks first: key lookup and MAC, then the signature.
  const envKey = envelopeKeyLookup(pskId);
  if (!envKey) throw new MikeyMessageError('unknown_key', 'unknown envelope key identifier');
  if (kemac.macAlg === MacAlg.NULL) throw new MikeyMessageError('mac', 'KEMAC without MAC is not accepted');
  const ek = deriveEnvelopeKeys(envKey, header.csbId, rand.rand, header.prfFunc, kemac.macAlg);
  const offs = payloadOffsets(message);
  const kemacIndex = message.payloads.indexOf(kemac);
  const macEnd = offs[kemacIndex + 2]! - kemac.mac.length;
  if (!constantTimeEqual(macOf(kemac.macAlg, ek.authKey, bytes.subarray(0, macEnd)), kemac.mac)) {
    throw new MikeyMessageError('mac', 'KEMAC MAC does not verify');
  }
  if (sign && verify) checkSign(bytes, sign, initiatorUri, verify, opts.signCoverage ?? 'rfc3830');
  let plain: Uint8Array;
  if (kemac.encrAlg === EncrAlg.AES_CM_128) {
    plain = aesCm128(ek.encrKey, ek.saltKey, header.csbId, t.value, kemac.encrData);
  } else if (kemac.encrAlg === EncrAlg.NULL) plain = kemac.encrData;
  else throw new MikeyMessageError('encr_alg', `KEMAC encr alg ${kemac.encrAlg} is not implemented`);
  const out: PskMessage = {
    csbId: header.csbId,
    timestamp: t.value,
    rand: rand.rand,
    initiatorUri,
    envelopeKeyId: pskId,
    keys: decodeKeyData(plain),
    signed: sign !== undefined,
    message,
  };
  const r = idText(findIdr(message, IdRole.IDRr));
  if (r !== undefined) out.responderUri = r;
  return out;
}
