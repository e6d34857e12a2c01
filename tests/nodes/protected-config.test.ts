import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  loadOrCreateDeviceKey,
  loadProtectedConfig,
  openConfig,
  ProtectedConfigError,
  saveProtectedConfig,
  sealConfig,
} from '../../nodes/runtime/protected-config.js';

const cfg = { ueId: 'ue-1', allocation: { key: 'a1b2c3d4'.repeat(8), permits: ['john'] } };

test('protected configuration: round trip; the stored file holds no plaintext', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-pcfg-'));
  const dk = loadOrCreateDeviceKey(join(dir, 'device.key'));
  assert.equal(statSync(join(dir, 'device.key')).mode & 0o777, 0o600);
  assert.deepEqual(loadOrCreateDeviceKey(join(dir, 'device.key')), dk, 'the device key persists');
  const f = join(dir, 'ue-1.pcfg');
  saveProtectedConfig(f, dk, 'ue-1', cfg);
  assert.deepEqual(loadProtectedConfig(f, dk, 'ue-1'), cfg);
  const raw = readFileSync(f);
  assert.ok(!raw.includes(Buffer.from('a1b2c3d4')) && !raw.includes(Buffer.from('john')));
  assert.notDeepEqual(
    sealConfig(dk, 'ue-1', cfg),
    sealConfig(dk, 'ue-1', cfg),
    'fresh salt and IV each time',
  );
});

test('protected configuration: any flipped bit, another device key, another UE or truncation is refused at load', () => {
  const dk = randomBytes(32);
  const sealed = sealConfig(dk, 'ue-1', cfg);
  for (let i = 0; i < sealed.length; i++) {
    const t = Buffer.from(sealed);
    t[i]! ^= 1 << (i % 8);
    assert.throws(() => openConfig(dk, 'ue-1', t), ProtectedConfigError, `bit flipped in octet ${i}`);
  }
  assert.throws(() => openConfig(randomBytes(32), 'ue-1', sealed), { code: 'tampered' });
  assert.throws(() => openConfig(dk, 'ue-2', sealed), { code: 'tampered' });
  assert.throws(() => openConfig(dk, 'ue-1', sealed.subarray(0, 40)), { code: 'bad_format' });
  const dir = mkdtempSync(join(tmpdir(), 'prosec-pcfg-'));
  const f = join(dir, 'ue-1.pcfg');
  saveProtectedConfig(f, dk, 'ue-1', cfg);
  const onDisk = readFileSync(f);
  onDisk[onDisk.length - 20]! ^= 0x40;
  writeFileSync(f, onDisk);
  assert.throws(() => loadProtectedConfig(f, dk, 'ue-1'), { code: 'tampered' });
  assert.throws(() => loadProtectedConfig(join(dir, 'none'), dk, 'ue-1'), { code: 'missing' });
});
