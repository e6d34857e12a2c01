// Scenario knob pc5.medium and the libp2p peer plan (who dials whom).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIBP2P_MAX_UES, planLibp2pPeers } from '../../deploy/libp2p-plan.js';
import { ScenarioError, validateScenario } from '../../deploy/scenario.js';

const base = { name: 't', roles: { ue: 3 }, groups: [{ id: 'g', members: 'all' }] };

test('scenario pc5.medium: udp by default, libp2p accepted, unknown media and unsupported combinations refused', () => {
  assert.equal(validateScenario(base).pc5.medium, 'udp');
  assert.equal(validateScenario({ ...base, pc5: { medium: 'libp2p' } }).pc5.medium, 'libp2p');
  const bad = (raw: unknown, re: RegExp): void => {
    assert.throws(
      () => validateScenario(raw),
      (e: unknown) => e instanceof ScenarioError && re.test(e.message),
    );
  };
  bad({ ...base, pc5: { medium: 'carrier-pigeon' } }, /pc5\.medium/);
  bad(
    { ...base, pc5: { medium: 'libp2p' }, adversary: { attacks: ['tracking'] } },
    /pc5\.medium: the adversary/,
  );
  bad({ ...base, roles: { ue: LIBP2P_MAX_UES + 1 }, pc5: { medium: 'libp2p' } }, /full mesh/);
});

test('planLibp2pPeers: each subscribed UE dials every lower-numbered one; direct-link ports are kept', async () => {
  const plan = await planLibp2pPeers(['ue-1', 'ue-2', 'ue-3'], ['ue-x1'], new Map([['ue-2', 40123]]));
  const p1 = plan.get('ue-1')!;
  const p2 = plan.get('ue-2')!;
  const p3 = plan.get('ue-3')!;
  assert.equal(p2.listenPort, 40123);
  assert.ok(p1.listenPort > 0 && p3.listenPort > 0);
  assert.deepEqual(p1.bootstrap, []);
  assert.deepEqual(p2.bootstrap, [`/ip4/127.0.0.1/tcp/${p1.listenPort}`]);
  assert.deepEqual(p3.bootstrap, [`/ip4/127.0.0.1/tcp/${p1.listenPort}`, '/ip4/127.0.0.1/tcp/40123']);
  assert.deepEqual(plan.get('ue-x1'), { medium: 'libp2p', listenPort: 0, bootstrap: [] });
  // n(n-1)/2 dials in all: every pair exactly once.
  assert.equal(
    [...plan.values()].reduce((n, p) => n + p.bootstrap.length, 0),
    3,
  );
});
