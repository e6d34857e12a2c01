// Packed mode end-to-end: 12 UEs in 3 pack host processes (--pack 4) run the same UE code as process-per-node
// mode; each UE enrolls for its own certificate, registers on its own, has its own PC5 socket, and hears its groups.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Run } from '../../deploy/orchestrator.js';
import type { NodeHandle } from '../../deploy/pack.js';
import { DEFAULT_SCENARIO_FILE, loadScenario } from '../../deploy/scenario.js';
import type { NodeStatus } from '../../nodes/runtime/protocol.js';
import { isAlive } from '../helpers/processes.js';

test('prosec up --pack 4 with 12 UEs: 3 pack host processes, every UE its own identity, certificate, socket and registration', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-pack-'));
  const scenario = loadScenario(DEFAULT_SCENARIO_FILE, { ues: 11, duration: '3s' });
  scenario.metrics.processMetrics = false;
  let nodes: NodeHandle[] = [];
  let statuses: NodeStatus[] = [];
  const run = new Run({
    scenario,
    scenarioFile: DEFAULT_SCENARIO_FILE,
    runsDir: join(dir, 'runs'),
    progress: () => undefined,
    pack: 4,
    onReady: (ns) => {
      nodes = [...ns];
    },
    onCollected: async () => {
      statuses = await Promise.all(nodes.filter((n) => n.role === 'ue').map((n) => n.status()));
    },
  });
  const summary = await run.execute();
  assert.equal(summary.ok, true, summary.problems.join('; '));
  const ues = nodes.filter((n) => n.role === 'ue');
  assert.equal(ues.length, 12);
  const uePids = new Set(ues.map((n) => n.pid));
  assert.equal(uePids.size, 3, 'three pack host processes');
  for (const n of nodes.filter((x) => x.role !== 'ue'))
    assert.ok(!uePids.has(n.pid), `${n.id} runs in its own process`);
  assert.equal(statuses.length, 12);
  const certs = new Set(statuses.map((s) => s.details.certSha256 as string));
  assert.equal(certs.size, 12, 'twelve distinct certificates');
  const subscribed = statuses.filter((s) => !s.details.rejected);
  assert.equal(
    subscribed.length,
    11,
    '11 subscribed UEs plus the one the default scenario does not subscribe',
  );
  assert.equal(new Set(subscribed.map((s) => s.details.l2Id)).size, 11, 'distinct layer-2 ids');
  assert.equal(new Set(ues.map((n) => n.endpoints.pc5).filter(Boolean)).size, 11, 'distinct PC5 sockets');
  assert.equal(summary.registrations.accepted, 11);
  for (const g of summary.groups)
    assert.equal(g.minPeersHeard, g.expectedPeers, `group ${g.id}: every peer heard`);
  for (const pid of uePids) assert.equal(isAlive(pid), false, `pack host ${pid} stopped`);
});
