// End-to-end: the real CLI brings up real node processes (KMS, ProSe Function, UEs), runs, and tears down.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunSummary } from '../../deploy/orchestrator.js';
import { parsePrometheusText, sumBy } from '../../deploy/prom-text.js';
import { isAlive, readRunState, runCli, waitFor, waitRunning } from '../helpers/processes.js';

function scenario(dir: string, body: string): string {
  const p = join(dir, 'scenario.yaml');
  writeFileSync(p, body);
  return p;
}

const SMALL = `name: small
duration: 2s
roles: { ue: 4 }
ues: { unsubscribed: 1 }
groups:
  - { id: team, members: all }
  - { id: pair, members: [ue-1, ue-2] }
traffic: { groupRate: 10, payloadBytes: 100 }
metrics: { processMetrics: false }
`;

test('prosec up: every subscribed UE registers over PC3, hears every group peer over PC5; the intruder is rejected; malformed PC5 datagrams are counted and dropped; nothing survives', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-up-'));
  const runsDir = join(dir, 'runs');
  const run = runCli([
    'up',
    scenario(dir, SMALL.replace('duration: 2s', 'duration: 4s')),
    '--json',
    '--runs-dir',
    runsDir,
  ]);
  const state = await waitRunning(runsDir);
  // Throw garbage at ue-1's PC5 unicast socket: bad magic, a truncated header, a bad version.
  const ue1 = state.nodes.find((n) => n.id === 'ue-1')!;
  const sock = createSocket('udp4');
  const garbage = [
    Buffer.from('not a PC5 frame at all'),
    Buffer.from([0x50]),
    Buffer.from([0x50, 0x35, 0x09, ...new Array(20).fill(0)]),
  ];
  for (const g of garbage) await new Promise((r) => sock.send(g, ue1.endpoints.pc5!, '127.0.0.1', r));
  sock.close();
  const dropped = await waitFor(
    'the drops to be counted',
    async () => {
      const samples = parsePrometheusText(
        await (await fetch(`http://127.0.0.1:${ue1.metricsPort}/metrics`)).text(),
      );
      const by = sumBy(samples, 'prosec_pc5_frames_dropped_total', 'reason');
      return (by.bad_magic ?? 0) >= 1 && (by.too_short ?? 0) >= 1 && (by.bad_version ?? 0) >= 1
        ? by
        : undefined;
    },
    5000,
  );
  assert.ok(dropped);
  const { code } = await run.exit;
  assert.equal(code, 0, `exit code ${code}\nstderr:\n${run.stderr()}\nstdout:\n${run.stdout()}`);
  const s = JSON.parse(run.stdout()) as RunSummary;
  assert.equal(s.ok, true, s.problems.join('; '));
  const ue = s.roles.find((r) => r.role === 'ue')!;
  assert.equal(ue.processes, 5);
  assert.equal(ue.up, 5);
  assert.equal(ue.provisioned, 4);
  assert.equal(s.registrations.accepted, 4);
  assert.equal(s.registrations.unknown_ue, 1);
  assert.deepEqual(
    s.groups.map((g) => [g.id, g.members, g.minPeersHeard]),
    [
      ['team', 4, 3],
      ['pair', 2, 1],
    ],
  );
  assert.ok(ue.pc5FramesReceived > 0 && ue.pc5FramesSent > 0);
  const pids = new Set(s.nodes.map((n) => n.pid));
  assert.equal(pids.size, 7, 'each node is its own OS process');
  for (const n of s.nodes) assert.equal(isAlive(n.pid), false, `${n.id} (pid ${n.pid}) survived`);
});

test('a UE killed mid-run is reported with its last log lines; the orchestrator does not hang and leaves no process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-kill-'));
  const runsDir = join(dir, 'runs');
  const run = runCli([
    'up',
    scenario(dir, SMALL.replace('duration: 2s', 'duration: 8s')),
    '--json',
    '--runs-dir',
    runsDir,
  ]);
  const state = await waitRunning(runsDir);
  const victim = state.nodes.find((n) => n.id === 'ue-3')!;
  process.kill(victim.pid, 'SIGKILL');
  const { code } = await run.exit;
  assert.equal(code, 1, run.stderr());
  assert.match(run.stderr(), /node ue-3 \(ue, pid \d+\) died during traffic: SIGKILL/);
  const s = JSON.parse(run.stdout()) as RunSummary;
  assert.equal(s.ok, false);
  const f = s.failures.find((x) => x.id === 'ue-3');
  assert.ok(f, 'the failure is in the summary');
  assert.equal(f.signal, 'SIGKILL');
  assert.ok(
    f.lastLines.some((l) => l.includes('"registered"')),
    'the last log lines are reported',
  );
  for (const n of state.nodes) assert.equal(isAlive(n.pid), false, `${n.id} survived`);
});

test('Ctrl-C (SIGINT) during a run stops every node and exits 130', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-int-'));
  const runsDir = join(dir, 'runs');
  const run = runCli([
    'up',
    scenario(dir, SMALL.replace('duration: 2s', 'duration: 60s')),
    '--runs-dir',
    runsDir,
  ]);
  const state = await waitRunning(runsDir);
  run.child.kill('SIGINT');
  const { code } = await run.exit;
  assert.equal(code, 130, run.stderr());
  for (const n of state.nodes) assert.equal(isAlive(n.pid), false, `${n.id} survived`);
});

test('a run that fails during start-up tears down what it started and exits non-zero', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-fail-'));
  const runsDir = join(dir, 'runs');
  // 1 ms is too short for any node to become ready.
  const run = runCli([
    'up',
    scenario(dir, SMALL.replace('duration: 2s', 'duration: 2s\nreadyTimeout: 1ms')),
    '--json',
    '--runs-dir',
    runsDir,
  ]);
  const { code } = await run.exit;
  assert.equal(code, 1);
  const s = JSON.parse(run.stdout()) as RunSummary;
  assert.match(s.problems.join('\n'), /not ready after 1 ms/);
  const st = readRunState(runsDir)!;
  assert.equal(st.state, 'failed');
  for (const n of st.nodes) assert.equal(isAlive(n.pid), false, `${n.id} survived`);
});

test('a bad scenario file is rejected with the file, the field path and the reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-bad-'));
  const p = scenario(dir, 'name: bad\nroles: { ue: lots }\n');
  const run = runCli(['up', p, '--runs-dir', join(dir, 'runs')]);
  const { code } = await run.exit;
  assert.equal(code, 2);
  assert.match(run.stderr(), new RegExp(`invalid scenario ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(run.stderr(), /roles\.ue: .*number/i);
});

test('prosec up --detach runs in the background; prosec down stops it and every node', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-detach-'));
  const runsDir = join(dir, 'runs');
  const started = runCli([
    'up',
    scenario(dir, SMALL.replace('duration: 2s', 'duration: 10m')),
    '--detach',
    '--runs-dir',
    runsDir,
  ]);
  assert.equal((await started.exit).code, 0, started.stderr());
  assert.match(started.stdout(), /prosec down/);
  const state = await waitRunning(runsDir);
  assert.equal(isAlive(state.orchestratorPid), true);
  const down = runCli(['down', '--runs-dir', runsDir]);
  assert.equal((await down.exit).code, 0, down.stderr());
  assert.match(down.stdout(), /stopped 1 run/);
  assert.equal(isAlive(state.orchestratorPid), false);
  for (const n of state.nodes) assert.equal(isAlive(n.pid), false, `${n.id} survived`);
});

test('prosec up --pack --detach: prosec down stops the run and its pack host processes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-detach-pack-'));
  const runsDir = join(dir, 'runs');
  const started = runCli([
    'up',
    scenario(dir, SMALL.replace('duration: 2s', 'duration: 10m')),
    '--detach',
    '--pack',
    '2',
    '--runs-dir',
    runsDir,
  ]);
  assert.equal((await started.exit).code, 0, started.stderr());
  const state = await waitRunning(runsDir);
  const hostPids = new Set(state.nodes.filter((n) => n.id.startsWith('ue')).map((n) => n.pid));
  assert.ok(hostPids.size >= 1 && hostPids.size < state.nodes.filter((n) => n.id.startsWith('ue')).length);
  const down = runCli(['down', '--runs-dir', runsDir]);
  assert.equal((await down.exit).code, 0, down.stderr());
  assert.match(down.stdout(), /stopped 1 run/);
  for (const pid of hostPids) assert.equal(isAlive(pid), false, `pack host ${pid} survived`);
});
