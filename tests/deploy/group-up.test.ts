// End-to-end: the shipped group scenario through the real CLI: a group manager process distributes GMKs as
// MIKEY-SAKKE I_MESSAGEs over PC3/TLS (group alpha), the ProSe Function provisions and reconfigures a group key
// (group bravo), members set up group calls over PC5 multicast and decipher the media; ue-4 is removed from
// alpha mid-run and must decrypt nothing after the rekey, although it keeps listening.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunSummary } from '../../deploy/orchestrator.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { isAlive, readRunState, runCli } from '../helpers/processes.js';

test('prosec up scenarios/group.yaml: four solutions side by side (standard, pc3, ad-hoc, network white-list and invitation), calls set up, removed member decrypts nothing after the rekey', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-group-'));
  const runsDir = join(dir, 'runs');
  const shipped = readFileSync(join(REPO_ROOT, 'scenarios', 'group.yaml'), 'utf8');
  const file = join(dir, 'group.yaml');
  writeFileSync(
    file,
    `${shipped.replace('readyTimeout: 60s', 'readyTimeout: 200s')}metrics: { processMetrics: false }\n`,
  );
  // Start-up is CPU-bound (SAKKE tables per UE, the KMS master keys): slow on a loaded 2-core host.
  const run = runCli(['up', file, '--json', '--runs-dir', runsDir], { timeoutMs: 260_000 });
  try {
    const { code } = await run.exit;
    assert.equal(code, 0, `exit code ${code}\nstderr:\n${run.stderr()}\nstdout:\n${run.stdout()}`);
    const s = JSON.parse(run.stdout()) as RunSummary;
    assert.equal(s.ok, true, s.problems.join('; '));
    const g = s.groupSecurity!;
    const alpha = g.groups.find((x) => x.group === 'alpha')!;
    const bravo = g.groups.find((x) => x.group === 'bravo')!;
    assert.equal(alpha.solution, 'standard');
    assert.equal(bravo.solution, 'pc3');
    // alpha: initial GMK to 4 members, then a rekey for the 3 remaining ones.
    assert.deepEqual(
      alpha.rekeys.map((r) => [r.reason, r.members]),
      [
        ['initial', 4],
        ['member_removed', 3],
      ],
    );
    assert.equal(alpha.gmkInstalls, 4 + 3);
    // 2 calls before the removal reach 3 members each; 2 after reach the 2 remaining others.
    assert.equal(alpha.callSetupMs.n, 2 * 3 + 2 * 2);
    assert.ok(alpha.callSetupMs.p50 > 0);
    // bravo: the PC3 key has a 3 s period of use, so members were reconfigured during the run.
    assert.ok(bravo.gmkInstalls > 4, `bravo installs ${bravo.gmkInstalls}`);
    assert.ok(bravo.callSetupMs.n >= 3, `bravo set-ups ${bravo.callSetupMs.n}`);
    // The removed member: told, listened (its PDUs were rejected), and decrypted nothing after the rekey.
    const rm = g.removedMembers.find((r) => r.member === 'ue-4')!;
    assert.equal(rm.toldRemoved, true);
    assert.equal(rm.callsSetUpAfterRemoval, 0);
    assert.equal(rm.decryptedAfterRemoval, 0);
    assert.ok(rm.rejectedAfterRemoval > 0, 'ue-4 kept listening and its PDUs were rejected');
    assert.ok((g.failuresByCause['call.unknown_key'] ?? 0) >= 2, JSON.stringify(g.failuresByCause));
    // charlie (ad-hoc): ue-6 sent the GMK over a PC5 one-to-one link to each of 3 members, then, after removing
    // ue-2, a new GMK to the 2 others; its own two installs count too. AES-128-GCM media.
    const charlie = g.groups.find((x) => x.group === 'charlie')!;
    assert.equal(charlie.solution, 'adhoc');
    assert.equal(charlie.gmkInstalls, 2 + 3 + 2);
    assert.ok(charlie.gmkDistributionMs.n === 5 && charlie.gmkDistributionMs.p50 > 0);
    // The first call reaches 3 members (fewer only if a member had no GMK yet), the second the 2 remaining.
    assert.ok(charlie.callSetupMs.n >= 4, `charlie set-ups ${charlie.callSetupMs.n}`);
    const rm2 = g.removedMembers.find((r) => r.member === 'ue-2')!;
    assert.equal(rm2.toldRemoved, true);
    assert.equal(rm2.callsSetUpAfterRemoval, 0);
    assert.equal(rm2.decryptedAfterRemoval, 0);
    assert.ok(rm2.rejectedAfterRemoval > 0, 'ue-2 kept listening and its PDUs were rejected');
    // delta (network, white-list): the key server pushed the group key to its 3 members under GBA push.
    const delta = g.groups.find((x) => x.group === 'delta')!;
    assert.equal(delta.solution, 'network');
    assert.equal(delta.gmkInstalls, 3);
    assert.equal(delta.callSetupMs.n, 2);
    // echo (network, invitation): the owner invited 2 of 3 other members; ue-4, never invited, got no key and
    // could not open the call.
    const echo = g.groups.find((x) => x.group === 'echo')!;
    assert.equal(echo.keyHolders, 3);
    assert.equal(echo.gmkInstalls, 3);
    assert.equal(echo.callSetupMs.n, 2);
    const ks = s.nodes.find((n) => n.role === 'key-server');
    assert.ok(ks, 'a key server process ran');
    assert.ok(g.media.received > 0);
    assert.equal(g.failuresByCause['media.mac'] ?? 0, 0);
    for (const n of s.nodes) assert.equal(isAlive(n.pid), false, `${n.id} survived`);
  } finally {
    if (run.child.exitCode === null && run.child.pid) run.child.kill('SIGKILL');
    const st = readRunState(runsDir);
    for (const n of st?.nodes ?? []) {
      if (isAlive(n.pid)) process.kill(n.pid, 'SIGKILL');
    }
  }
});
