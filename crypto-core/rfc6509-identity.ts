// RFC 6509 identifiers for MIKEY-SAKKE / ECCSI: "YYYY-MM\0" || URI || "\0", where YYYY-MM is the (UTC)
// start of the current key period (RFC 6509 3.2), plus the KMS checks on a requested identifier.
// General over the URI: tel: (E.164), sip:/sips: (user@host), and ProSe UE identifiers (prose-ue:<id>).
import { CryptoInputError } from './errors.js';

/** KMS key period setting: keys change every `lengthMonths` months, periods aligned at `offsetMonths`. */
export interface KeyPeriodSetting {
  lengthMonths: number;
  /** Months after 1970-01 of the start of one period (default 0). */
  offsetMonths?: number;
}

/** The parts of an RFC 6509 identifier. */
export interface Rfc6509Identity {
  /** Start of the key period, "YYYY-MM". */
  periodStart: string;
  uri: string;
}

const PERIOD_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;
const TEL_RE = /^tel:\+[1-9]\d{0,14}$/;
const SIP_RE = /^sips?:[A-Za-z0-9._~!$&'()*+,;=%-]+@[A-Za-z0-9.-]+(:\d{1,5})?$/;
const PROSE_RE = /^prose-ue:[A-Za-z0-9._:-]{1,128}$/;
const MAX_URI = 255;

function monthIndex(periodStart: string): number {
  const m = PERIOD_RE.exec(periodStart);
  if (!m)
    throw new CryptoInputError('identity_period', `key period start must be YYYY-MM, got ${periodStart}`);
  return (Number(m[1]) - 1970) * 12 + (Number(m[2]) - 1);
}

function formatMonth(index: number): string {
  const y = 1970 + Math.floor(index / 12);
  const mo = (((index % 12) + 12) % 12) + 1;
  return `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}`;
}

function checkSetting(setting: KeyPeriodSetting): void {
  const { lengthMonths, offsetMonths = 0 } = setting;
  if (!Number.isInteger(lengthMonths) || lengthMonths < 1 || lengthMonths > 120) {
    throw new CryptoInputError('key_period', 'key period length must be 1..120 months');
  }
  if (!Number.isInteger(offsetMonths))
    throw new CryptoInputError('key_period', 'key period offset must be an integer');
}

/** "YYYY-MM" start of the key period containing `now` (UTC) under the KMS setting (RFC 6509 3.2). */
export function keyPeriodStart(now: Date, setting: KeyPeriodSetting = { lengthMonths: 1 }): string {
  checkSetting(setting);
  const off = setting.offsetMonths ?? 0;
  const idx = (now.getUTCFullYear() - 1970) * 12 + now.getUTCMonth();
  const start = Math.floor((idx - off) / setting.lengthMonths) * setting.lengthMonths + off;
  return formatMonth(start);
}

/** Throws CryptoInputError unless `uri` is a well-formed tel:, sip:/sips: or prose-ue: identifier URI. */
export function validateIdentityUri(uri: string): void {
  if (typeof uri !== 'string' || uri.length === 0 || uri.length > MAX_URI) {
    throw new CryptoInputError('identity_uri', `URI must be 1..${MAX_URI} characters`);
  }
  if (!TEL_RE.test(uri) && !SIP_RE.test(uri) && !PROSE_RE.test(uri)) {
    throw new CryptoInputError(
      'identity_uri',
      `not a tel:+E.164, sip:user@host or prose-ue:<id> URI: ${uri}`,
    );
  }
}

/** Identifier octets "YYYY-MM\0" || URI || "\0" (RFC 6509 3.2). */
export function encodeIdentity(id: Rfc6509Identity): Uint8Array {
  monthIndex(id.periodStart);
  validateIdentityUri(id.uri);
  return new TextEncoder().encode(`${id.periodStart}\0${id.uri}\0`);
}

/** Identifier for `uri` in the key period containing `now` (RFC 6509 3.2). */
export function identityFor(uri: string, now: Date, setting?: KeyPeriodSetting): Uint8Array {
  return encodeIdentity({ periodStart: keyPeriodStart(now, setting), uri });
}

/** Parses identifier octets into period start and URI; throws CryptoInputError if malformed. */
export function parseIdentity(bytes: Uint8Array): Rfc6509Identity {
  if (!(bytes instanceof Uint8Array) || bytes.length < 10 || bytes.length > 8 + MAX_URI + 1) {
    throw new CryptoInputError('identity_format', 'identifier length out of range');
  }
  if (bytes[7] !== 0 || bytes[bytes.length - 1] !== 0) {
    throw new CryptoInputError('identity_format', 'identifier must be "YYYY-MM\\0" URI "\\0"');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CryptoInputError('identity_format', 'identifier is not UTF-8');
  }
  const periodStart = text.slice(0, 7);
  const uri = text.slice(8, -1);
  if (uri.includes('\0')) throw new CryptoInputError('identity_format', 'URI contains NUL');
  monthIndex(periodStart);
  validateIdentityUri(uri);
  return { periodStart, uri };
}

/**
 * KMS validity check on a requested identifier: well formed, with a well-formed URI, and for the key period
 * containing `now` (or the next one when `allowNext`, for provisioning ahead of a change). Returns it parsed.
 */
export function kmsCheckIdentity(
  bytes: Uint8Array,
  now: Date,
  setting: KeyPeriodSetting = { lengthMonths: 1 },
  allowNext = false,
): Rfc6509Identity {
  const id = parseIdentity(bytes);
  const current = keyPeriodStart(now, setting);
  if (id.periodStart === current) return id;
  if (allowNext && monthIndex(id.periodStart) === monthIndex(current) + setting.lengthMonths) return id;
  throw new CryptoInputError(
    'identity_period',
    `identifier is for key period ${id.periodStart}, the current period starts ${current}`,
  );
}
