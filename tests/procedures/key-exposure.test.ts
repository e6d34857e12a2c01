// Key freshness / lawful interception experiment (procedures/group/key-exposure.ts): the attacker's counts come from
// real decryptions, so they must match what the key timeline allows, exactly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exposureMarkdown, realSigner } from '../../deploy/li-exposure.js';
import { type ExposureParams, runSchemeA, runSchemeB } from '../../procedures/group/key-exposure.js';

const MIN = 60_000;
const P: ExposureParams = {
  members: 10,
  periodMs: 10 * MIN,
  pgkBatch: 12,
  callEveryMs: 2 * MIN,
  pdusPerCall: 3,
  horizonMs: 180 * MIN,
  leakAtMs: 35 * MIN,
  detectAfterMs: 5 * MIN,
  coverageReturnAfterMs: 30 * MIN,
  distributionRate: 100,
};

test('leak exposure: both schemes expose the leaked period and nothing after re-provisioning; pre-provisioned batches widen the window', () => {
  const a = runSchemeA(P);
  const b = runSchemeB(P, realSigner());
  // Before the leak only the calls of the leak's own period (30..35 min: calls at 30, 32, 34) decrypt, in both.
  for (const s of [a, b]) {
    assert.equal(s.beforeLeak.callsExposed, 3, s.scheme);
    assert.equal(s.beforeLeak.decrypted, 3 * P.pdusPerCall, s.scheme);
    assert.equal(
      s.leakToReprovisioned.decrypted,
      s.leakToReprovisioned.pdus,
      `${s.scheme}: all traffic of the window`,
    );
    assert.equal(s.afterReprovisioned.decrypted, 0, `${s.scheme}: nothing after re-provisioning`);
    assert.ok(s.afterReprovisioned.pdus > 0);
  }
  // A: the rest of the batch the device holds (periods 3..6) until the members are back in coverage at 70 min.
  assert.equal(a.reprovisionedAtMs, 70 * MIN);
  assert.equal(a.keysObtained, 4);
  assert.equal(a.exposureFromMs, 30 * MIN);
  assert.equal(a.exposureToMs, 68 * MIN);
  // B: removal at detection (40 min) and 9 members at 100/s: re-provisioned at 40 min + 90 ms. The device held the
  // current GMK (period 3) and received GMK 4, distributed at 80% of period 3 (38 min), before detection.
  assert.equal(b.reprovisionedAtMs, 40 * MIN + 90);
  assert.equal(b.keysObtained, 2);
  assert.equal(b.exposureFromMs, 30 * MIN);
  assert.equal(b.exposureToMs, 40 * MIN);
  assert.ok(a.leakToReprovisioned.decrypted > b.leakToReprovisioned.decrypted);
  const md = exposureMarkdown(P, [a, b], 'test', 1);
  assert.match(md, /\| traffic after re-provisioning \| 0\/\d+ PDUs \(0\.0 %\), 0\/\d+ calls \| 0\/\d+ PDUs/);
});
