// CI gate for the live threat matrix (issue: every attack must fail against the defence and succeed against the
// weakened control): runs `prosec attack` on scenarios/attack.yaml and fails on any failing row.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ThreatMatrix } from '../../deploy/attack.js';
import { findCaptureTool } from '../../nodes/adversary/capture.js';
import { isAlive, runCli } from '../helpers/processes.js';

test('prosec attack: every threat-matrix row passes (attack fails against the defence, succeeds against the control); matrix files written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-attack-'));
  const out = join(dir, 'matrix');
  const run = runCli(['attack', '--json', '--runs-dir', join(dir, 'runs'), '--out', out], {
    timeoutMs: 150_000,
  });
  const { code } = await run.exit;
  const m = JSON.parse(run.stdout()) as ThreatMatrix;
  // Only a row whose attack needs a packet capture tool may be skipped, and only on a host without one.
  const skippable = findCaptureTool() ? [] : ['link-eavesdrop'];
  const failing = m.rows
    .filter((r) => !r.pass && !(r.skipped && skippable.includes(r.id)))
    .map((r) => `${r.id}: ${JSON.stringify(r)}`);
  assert.deepEqual(failing, [], 'every row passes');
  assert.deepEqual(m.problems, []);
  assert.equal(code, 0, run.stderr().slice(-2000));
  const ids = [
    'tracking',
    'group-eavesdrop',
    'group-replay',
    'discovery-replay',
    'open-impersonation',
    'group-call-replay',
    'link-eavesdrop',
    'group-key-fetch',
    'registration-flood',
    'gmk-forgery',
  ];
  assert.deepEqual(
    m.rows.map((r) => r.id),
    ids,
  );
  for (const r of m.rows) {
    if (r.skipped) continue;
    assert.equal(r.defended.succeeded, false, r.id);
    assert.equal(r.weakened.succeeded, true, r.id);
  }
  assert.ok(existsSync(join(out, 'threat-matrix.json')));
  const passing = m.rows.length - skippable.length;
  assert.match(
    readFileSync(join(out, 'threat-matrix.md'), 'utf8'),
    new RegExp(`${passing} of ${ids.length} rows pass`),
  );
  // Both runs tore everything down, the adversary included.
  for (const runDir of [m.runs.defence, m.runs.control]) {
    const s = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as {
      nodes: { id: string; pid: number }[];
    };
    assert.ok(s.nodes.some((n) => n.id === 'adversary'));
    for (const n of s.nodes) assert.equal(isAlive(n.pid), false, `${n.id} survived`);
  }
});
