import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex } from '../../crypto-core/bytes.js';
import { CryptoInputError } from '../../crypto-core/errors.js';
import { CryptoPool } from '../../nodes/crypto-pool.js';
import { loadVectors } from '../helpers/paths.js';

const s = loadVectors<{ vectors: Record<string, string>[] }>('sakke_rfc6508.json').vectors[0]!;
const e = loadVectors<{ vectors: Record<string, string>[] }>('eccsi_rfc6507.json').vectors[0]!;
const zS = fromHex(`04${s.Zx}${s.Zy}`);
const rsk = fromHex(`04${s.Kbx}${s.Kby}`);
const b = fromHex(s.b!);

test('a 2-worker pool runs SAKKE and ECCSI jobs and reproduces the RFC appendix values', async () => {
  const pool = new CryptoPool(2);
  try {
    await pool.warm({ zS, kpak: fromHex(e.KPAK!) });
    const [ed, sig] = await Promise.all([
      pool.run('sakke.encapsulate', { ssv: fromHex(s.SSV!), id: b, zS }),
      pool.run('eccsi.sign', {
        message: fromHex(e.M!),
        id: fromHex(e.ID!),
        ssk: fromHex(e.SSK!),
        pvt: fromHex(e.PVT!),
        kpak: fromHex(e.KPAK!),
      }),
    ]);
    assert.equal(Buffer.from(ed).toString('hex'), `04${s.Rbx}${s.Rby}${s.H}`);
    assert.equal(sig.length, 129);
    const [ssv, ok, bad] = await Promise.all([
      pool.run('sakke.decapsulate', { encapsulated: ed, id: b, rsk, zS }),
      pool.run('eccsi.verify', {
        message: fromHex(e.M!),
        signature: sig,
        id: fromHex(e.ID!),
        kpak: fromHex(e.KPAK!),
      }),
      pool.run('eccsi.verify', {
        message: new Uint8Array(3),
        signature: sig,
        id: fromHex(e.ID!),
        kpak: fromHex(e.KPAK!),
      }),
    ]);
    assert.equal(Buffer.from(ssv).toString('hex'), s.SSV);
    assert.deepEqual([...ok], [1]);
    assert.deepEqual([...bad], [0]);
  } finally {
    await pool.close();
  }
});

test('a failing job rejects with CryptoInputError and the pool keeps working; close rejects new jobs', async () => {
  const pool = new CryptoPool(1);
  await assert.rejects(
    pool.run('sakke.encapsulate', { ssv: new Uint8Array(3), id: b, zS }),
    CryptoInputError,
  );
  const tampered = fromHex(`04${s.Rbx}${s.Rby}${s.H}`);
  tampered[tampered.length - 1]! ^= 1;
  await assert.rejects(pool.run('sakke.decapsulate', { encapsulated: tampered, id: b, rsk, zS }), {
    code: 'sakke_decapsulation',
  });
  assert.equal(pool.inFlight, 0);
  await pool.close();
  await assert.rejects(pool.run('sakke.encapsulate', { ssv: new Uint8Array(16), id: b, zS }), /closed/);
});
