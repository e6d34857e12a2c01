import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { planDiscovery, summariseDiscovery } from '../../deploy/discovery-plan.js';
import { loadScenario, ScenarioError, validateScenario } from '../../deploy/scenario.js';
import type { NodeStatus } from '../../nodes/runtime/protocol.js';
import { REPO_ROOT } from '../helpers/paths.js';

const base = {
  name: 't',
  roles: { ue: 4 },
  discovery: {
    users: [
      { ue: 'ue-1', aluid: 'mary', permits: ['john'] },
      { ue: 'ue-2', aluid: 'john', permits: ['peter'] },
      { ue: 'ue-3', aluid: 'peter' },
    ],
    impostors: [{ ue: 'ue-4', claims: 'mary' }],
    revoke: { at: '2s', announcer: 'mary', monitor: 'john' },
  },
};

test('discovery scenario: shipped file loads; existing scenarios have no discovery section', () => {
  const s = loadScenario(join(REPO_ROOT, 'scenarios', 'discovery.yaml'));
  assert.equal(s.discovery!.restrictedOption, 'time-slot');
  assert.equal(loadScenario(join(REPO_ROOT, 'scenarios', 'default.yaml')).discovery, undefined);
  const p = planDiscovery(validateScenario(base))!;
  assert.equal(p.revoke!.command, 'discovery-revoke mary john');
  assert.equal(p.ues.get('ue-4')!.claimAluid, 'mary');
  assert.deepEqual(p.policy.users[2], { ueId: 'ue-3', aluid: 'peter', permits: [] });
});

test('discovery scenario: bad references are rejected with their path', () => {
  const bad = (patch: (d: typeof base.discovery) => unknown, path: string) => {
    const d = structuredClone(base.discovery);
    patch(d);
    assert.throws(
      () => validateScenario({ ...base, discovery: d }),
      (e: unknown) => e instanceof ScenarioError && e.issues.some((i) => i.path.startsWith(path)),
      path,
    );
  };
  bad((d) => d.users[0]!.permits!.push('nobody'), 'discovery.users.0.permits.1');
  bad((d) => (d.users[1]!.ue = 'ue-9'), 'discovery.users.1.ue');
  bad((d) => (d.impostors[0]!.ue = 'ue-1'), 'discovery.impostors.0.ue');
  bad((d) => (d.revoke.monitor = 'peter'), 'discovery.revoke');
  bad((d) => (d.revoke.at = '30s'), 'discovery.revoke.at');
});

test('discovery summary: a monitor that discovers someone it is not permitted to is a problem', () => {
  const s = validateScenario(base);
  const st = (id: string, restricted: Record<string, [number, number]>, extra: object = {}): NodeStatus =>
    ({
      role: 'ue',
      id,
      ready: true,
      errors: 0,
      details: {
        discovery: {
          registered: true,
          discovered: {
            restricted: Object.fromEntries(
              Object.entries(restricted).map(([k, [f, l]]) => [k, { count: 2, firstMs: f, lastMs: l }]),
            ),
            open: {},
          },
          rejectedByCause: {},
          announcementsSent: 1,
          hmacs: 0,
          verifications: 0,
          ...extra,
        },
      },
    }) as unknown as NodeStatus;
  const good = [
    st('ue-1', {}),
    st('ue-2', { mary: [1000, 2100] }),
    st('ue-3', { john: [1000, 9000] }),
    st('ue-4', {}, { registered: false, rejected: 'aluid_mismatch' }),
  ];
  const ok = summariseDiscovery(s, good, 2000, true)!;
  const restrictedProblems = ok.problems.filter((p) => !p.includes('open'));
  assert.deepEqual(restrictedProblems, []);
  const leaky = [
    st('ue-1', { peter: [1000, 1000] }),
    st('ue-2', { mary: [1000, 9000] }),
    st('ue-3', { john: [1000, 9000] }),
    st('ue-4', {}, { registered: true }),
  ];
  const bad = summariseDiscovery(s, leaky, 2000, true)!;
  assert.ok(
    bad.problems.some((p) => p.startsWith('discovery: mary discovered [peter]')),
    bad.problems.join('\n'),
  );
  assert.ok(
    bad.problems.some((p) => p.includes('after the revocation john')),
    bad.problems.join('\n'),
  );
  assert.ok(
    bad.problems.some((p) => p.includes('impostor')),
    bad.problems.join('\n'),
  );
});
