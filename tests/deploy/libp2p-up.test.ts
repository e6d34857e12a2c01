// End-to-end: the shipped libp2p scenario through the real CLI. The UEs carry PC5 over libp2p (gossipsub topic
// per group, /prosec/pc5/1.0.0 streams for the direct link): every group member hears every peer, the direct
// link passes user data, the summary and each UE's metrics name the medium, and no UE holds a UDP socket.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunSummary } from '../../deploy/orchestrator.js';
import { parsePrometheusText } from '../../deploy/prom-text.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { isAlive, readRunState, runCli, waitRunning } from '../helpers/processes.js';

/** UDP sockets (IPv4 and IPv6) the process holds: its socket inodes found in /proc/net/udp{,6}. */
function udpSocketsOf(pid: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {}
  }
  let n = 0;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length >= 10 && inodes.has(cols[9]!)) n++;
    }
  }
  return n;
}

test('prosec up scenarios/libp2p.yaml: group peers hear each other and the direct link carries data over libp2p; the medium is recorded; no UE uses UDP', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-libp2p-'));
  const runsDir = join(dir, 'runs');
  // The shipped scenario with a longer traffic phase: the test reads every UE's /metrics while the run is up,
  // and on a loaded host 5 s between 'running' and teardown was not always enough (fetch failed).
  const file = join(dir, 'libp2p.yaml');
  const shipped = readFileSync(join(REPO_ROOT, 'scenarios', 'libp2p.yaml'), 'utf8');
  assert.match(shipped, /^duration: 5s$/m);
  writeFileSync(file, shipped.replace(/^duration: 5s$/m, 'duration: 20s'));
  const run = runCli(['up', file, '--json', '--runs-dir', runsDir], {
    timeoutMs: 180_000,
  });
  try {
    const state = await waitRunning(runsDir, 120_000);
    const ues = state.nodes.filter((n) => n.id.startsWith('ue-'));
    assert.equal(ues.length, 4);
    for (const ue of ues) {
      // The info metric names the medium; the UE's PC5 endpoint is its libp2p TCP listener.
      const text = await (await fetch(`http://127.0.0.1:${ue.metricsPort}/metrics`)).text();
      const info = parsePrometheusText(text).filter((x) => x.name === 'prosec_pc5_medium_info');
      assert.deepEqual(
        info.map((x) => [x.labels.medium, x.value]),
        [['libp2p', 1]],
        `${ue.id}: ${JSON.stringify(info)}`,
      );
      assert.equal(udpSocketsOf(ue.pid), 0, `${ue.id} holds UDP sockets`);
    }
    const { code } = await run.exit;
    assert.equal(code, 0, `exit code ${code}\nstderr:\n${run.stderr()}\nstdout:\n${run.stdout()}`);
    const s = JSON.parse(run.stdout()) as RunSummary;
    assert.equal(s.ok, true, s.problems.join('; '));
    assert.deepEqual(s.pc5Media, { libp2p: 4 });
    assert.deepEqual(
      s.groups.map((g) => [g.id, g.members, g.minPeersHeard]),
      [['team', 4, 3]],
    );
    const ue = s.roles.find((r) => r.role === 'ue')!;
    assert.equal(ue.provisioned, 4);
    assert.ok(ue.pc5FramesSent > 0 && ue.pc5FramesReceived >= ue.pc5FramesSent, JSON.stringify(ue));
    assert.equal(ue.pc5FramesDropped, 0);
    const dl = s.directLinks!;
    assert.equal(dl.linksUp, 1, JSON.stringify(dl));
    assert.ok(dl.packetsReceived > 0 && dl.packetsLost === 0, JSON.stringify(dl));
    for (const n of s.nodes) assert.equal(isAlive(n.pid), false, `${n.id} survived`);
  } finally {
    if (run.child.exitCode === null && run.child.pid) run.child.kill('SIGKILL');
    for (const n of readRunState(runsDir)?.nodes ?? []) if (isAlive(n.pid)) process.kill(n.pid, 'SIGKILL');
  }
});
