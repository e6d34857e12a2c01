// CI gate for the live threat matrix (issue: every attack must fail against the defence and succeed against the
// weakened control): runs `prosec attack` on scenarios/attack.yaml (and rogue-relay on scenarios/attack-relay.yaml)
// and fails on any failing row.
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
    timeoutMs: 270_000,
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
    'link-downgrade',
    'dsmc-replay',
    'group-key-fetch',
    'registration-flood',
    'gmk-forgery',
    'rogue-config-server',
    'rogue-relay',
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
  // The man in the middle's rows rest on the victims' own counters: the defended run's direct link still came up
  // (with the strongest algorithms) and carried its data; the control's UE_1 accepted the altered offer and a replay.
  const summary = (dir: string) =>
    JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as {
      directLinks: {
        linksUp: number;
        packetsLost: number;
        setupAlgs: Record<string, number>;
        biddingDownAccepted: number;
        dsmcReplaysAccepted: number;
        rejected: Record<string, number>;
        mitm?: { initiator: string; responder: string };
      };
    };
  const dd = summary(m.runs.defence).directLinks;
  assert.equal(dd.linksUp, 1);
  assert.equal(dd.packetsLost, 0);
  assert.deepEqual(dd.setupAlgs, { '128-NEA2/128-NIA2': 1 });
  assert.equal(dd.biddingDownAccepted + dd.dsmcReplaysAccepted, 0);
  assert.ok((dd.rejected.signature ?? 0) >= 1 && (dd.rejected.mac ?? 0) >= 1);
  assert.deepEqual(dd.mitm && [dd.mitm.initiator, dd.mitm.responder], ['ue-1', 'ue-2']);
  const cd = summary(m.runs.control).directLinks;
  assert.deepEqual(cd.setupAlgs, { '128-NEA0/128-NIA1': 1 });
  assert.ok(cd.biddingDownAccepted >= 1 && cd.dsmcReplaysAccepted >= 1);
  // The rogue configuration server's victim, by its own counters: every re-registration at the rogue refused for the
  // server certificate's role, nothing applied; in the control the forged configuration applied.
  const rogueConfig = (dir: string) =>
    (
      JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as {
        rogueConfig: { ue: string; attempts: number; rogueConfigRefused: number; rogueConfigApplied: number };
      }
    ).rogueConfig;
  const vd = rogueConfig(m.runs.defence);
  assert.equal(vd.ue, 'ue-3');
  // (One attempt may still be in flight when the status is taken.)
  assert.ok(vd.rogueConfigRefused >= 1 && vd.rogueConfigRefused >= vd.attempts - 1, JSON.stringify(vd));
  assert.equal(vd.rogueConfigApplied, 0);
  const vc = rogueConfig(m.runs.control);
  assert.equal(vc.rogueConfigRefused, 0);
  assert.ok(vc.rogueConfigApplied >= 1);
  // The rogue relay row ran in its own scenario; the victims' counters: every remote UE refused the tampered
  // challenge (bad_mac) and none installed PC5 keys; in the control every one accepted it.
  assert.deepEqual(Object.keys(m.runsByScenario), ['attack', 'attack-relay']);
  const relay = (dir: string) =>
    (
      JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as {
        relay: {
          remoteUes: number;
          authenticated: number;
          failuresByCause: Record<string, number>;
          badMacAccepted: number;
          tamperedChallenges: number;
        };
      }
    ).relay;
  const rd = relay(m.runsByScenario['attack-relay']!.defence);
  assert.equal(rd.remoteUes, 3);
  assert.equal(rd.tamperedChallenges, 3);
  assert.equal(rd.authenticated, 0);
  assert.deepEqual(rd.failuresByCause, { bad_mac: 3 });
  assert.equal(rd.badMacAccepted, 0);
  const rc = relay(m.runsByScenario['attack-relay']!.control);
  assert.equal(rc.tamperedChallenges, 3);
  assert.equal(rc.badMacAccepted, 3);
  assert.ok(existsSync(join(out, 'threat-matrix.json')));
  const passing = m.rows.length - skippable.length;
  assert.match(
    readFileSync(join(out, 'threat-matrix.md'), 'utf8'),
    new RegExp(`${passing} of ${ids.length} rows pass`),
  );
  // Every run tore everything down, the adversary and the rogue relay included.
  for (const [name, runs] of Object.entries(m.runsByScenario))
    for (const runDir of [runs.defence, runs.control]) {
      const s = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as {
        nodes: { id: string; pid: number }[];
      };
      assert.ok(s.nodes.some((n) => n.id === (name === 'attack' ? 'adversary' : 'relay-1')));
      for (const n of s.nodes) assert.equal(isAlive(n.pid), false, `${n.id} survived`);
    }
});
