// Configuration protected at rest on the UE (TR 33.833 key issue #1.1): the ProSe configuration and discovery
// allocation (which hold ProSe Application Keys) are stored encrypted and integrity protected with a device key.
// Format v1 (docs/discovery.md):
//   "PCFG" (4) | version 0x01 (1) | salt (16) | IV (12) | AES-256-GCM ciphertext | tag (16)
//   file key = HKDF-SHA-256(device key, salt, "prosec config at rest v1"), AAD = header (magic..IV) || UTF-8 ueId,
// so a file copied from another UE, from another device or modified in any octet is refused at load.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const MAGIC = Buffer.from('PCFG', 'ascii');
const VERSION = 1;
const HEADER = MAGIC.length + 1 + 16 + 12;
const TAG = 16;
const INFO = Buffer.from('prosec config at rest v1', 'ascii');

export class ProtectedConfigError extends Error {
  override readonly name = 'ProtectedConfigError';
  constructor(
    readonly code: 'bad_format' | 'tampered' | 'missing',
    message: string,
  ) {
    super(message);
  }
}

function fileKey(deviceKey: Uint8Array, salt: Uint8Array): Buffer {
  if (deviceKey.length !== 32)
    throw new ProtectedConfigError('bad_format', 'the device key must be 32 octets');
  return Buffer.from(hkdfSync('sha256', deviceKey, salt, INFO, 32));
}

/** Encrypts and integrity-protects `value` (JSON) for UE `ueId` under the device key. */
export function sealConfig(deviceKey: Uint8Array, ueId: string, value: unknown): Buffer {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const header = Buffer.concat([MAGIC, Buffer.of(VERSION), salt, iv]);
  const c = createCipheriv('aes-256-gcm', fileKey(deviceKey, salt), iv);
  c.setAAD(Buffer.concat([header, Buffer.from(ueId, 'utf8')]));
  const body = Buffer.concat([c.update(JSON.stringify(value), 'utf8'), c.final()]);
  return Buffer.concat([header, body, c.getAuthTag()]);
}

/** Verifies and decrypts; throws ProtectedConfigError('tampered') on any modification, other UE or device. */
export function openConfig(deviceKey: Uint8Array, ueId: string, sealed: Uint8Array): unknown {
  const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (b.length < HEADER + TAG || !b.subarray(0, 4).equals(MAGIC) || b[4] !== VERSION)
    throw new ProtectedConfigError('bad_format', 'not a protected configuration (v1)');
  const header = b.subarray(0, HEADER);
  const salt = b.subarray(5, 21);
  const iv = b.subarray(21, HEADER);
  const d = createDecipheriv('aes-256-gcm', fileKey(deviceKey, salt), iv);
  d.setAAD(Buffer.concat([header, Buffer.from(ueId, 'utf8')]));
  d.setAuthTag(b.subarray(b.length - TAG));
  let plain: Buffer;
  try {
    plain = Buffer.concat([d.update(b.subarray(HEADER, b.length - TAG)), d.final()]);
  } catch {
    throw new ProtectedConfigError('tampered', 'stored configuration failed its integrity check');
  }
  return JSON.parse(plain.toString('utf8'));
}

/** The device key: 32 random octets in a file readable by the owner only, created on first use. */
export function loadOrCreateDeviceKey(path: string): Uint8Array {
  if (existsSync(path)) {
    const k = readFileSync(path);
    if (k.length !== 32) throw new ProtectedConfigError('bad_format', 'device key file is not 32 octets');
    return k;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const k = randomBytes(32);
  writeFileSync(path, k, { mode: 0o600, flag: 'wx' });
  return k;
}

/** Writes atomically (temporary file + rename), mode 0600. */
export function saveProtectedConfig(path: string, deviceKey: Uint8Array, ueId: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, sealConfig(deviceKey, ueId, value), { mode: 0o600 });
  renameSync(tmp, path);
}

export function loadProtectedConfig(path: string, deviceKey: Uint8Array, ueId: string): unknown {
  if (!existsSync(path)) throw new ProtectedConfigError('missing', 'no stored configuration');
  return openConfig(deviceKey, ueId, readFileSync(path));
}
