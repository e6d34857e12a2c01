// KMS key service over real PC3 (TLS 1.3, mutual certificates from a testbed CA): a group identity's key bundle goes
// only to the group manager the scenario names for that group; UEs get their own identity's bundle only.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseBundle } from '../../crypto-core/kms-bundle.js';
import { parseIdentity } from '../../crypto-core/rfc6509-identity.js';
import { kmsGroupManagers, planGroupSecurity } from '../../deploy/groups-plan.js';
import type { Scenario } from '../../deploy/scenario.js';
import { bundleIdentity, type KmsKeyService, startKmsKeyService } from '../../nodes/roles/kms-keys.js';
import type { RoleContext } from '../../nodes/roles/role.js';
import { createNodeMetrics } from '../../nodes/runtime/metrics.js';
import { Pc3Client } from '../../transport/pc3/client.js';
import { createNodeCredentials, createTestbedCa, type TestbedCa } from '../../transport/pc3/pki.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;
let ca: TestbedCa;
let kms: KmsKeyService;
const clients: Pc3Client[] = [];
const metrics = createNodeMetrics('kms', { processMetrics: false });

before(async () => {
  ca = await createTestbedCa();
  const ctx = {
    config: { id: 'kms', runId: 'kms-test', host: '127.0.0.1' },
    log: silent,
    metrics,
    signal: new AbortController().signal,
  } as unknown as RoleContext;
  kms = await startKmsKeyService(ctx, ca, { alpha: 'gm-1', bravo: 'gm-2' });
});

after(async () => {
  for (const c of clients) await c.close();
  await kms.close();
});

async function client(nodeId: string, role: string): Promise<Pc3Client> {
  const creds = await createNodeCredentials(ca, { nodeId, role });
  const c = new Pc3Client({
    host: '127.0.0.1',
    port: kms.port,
    certPem: creds.certPem,
    keyPem: creds.keyPem,
    caCertPem: ca.certPem,
    expectedServer: { role: 'kms' },
  });
  clients.push(c);
  return c;
}

test('bundleIdentity: group keys only for the named group manager; UEs only their own', () => {
  const gm = { alpha: 'gm-1' };
  assert.deepEqual(bundleIdentity({ role: 'group-manager', nodeId: 'gm-1' }, 'alpha', gm), {
    uri: 'sip:alpha@groups.prosec.test',
  });
  for (const [peer, groupId] of [
    [{ role: 'group-manager', nodeId: 'gm-2' }, 'alpha'], // another group manager
    [{ role: 'group-manager', nodeId: 'gm-1' }, 'bravo'], // a group it does not manage
    [{ role: 'group-manager', nodeId: 'gm-1' }, 'toString'], // not an own property of the table
    [{ role: 'group-manager', nodeId: 'gm-1' }, undefined], // no group named
    [{ role: 'ue', nodeId: 'ue-1' }, 'alpha'], // a UE asking for a group identity
    [{ role: 'prose-function', nodeId: 'pf' }, undefined],
  ] as const)
    assert.ok('refused' in bundleIdentity(peer, groupId, gm), `${peer.nodeId} ${groupId}`);
  assert.deepEqual(bundleIdentity({ role: 'ue', nodeId: 'ue-1' }, undefined, gm), {
    uri: 'prose-ue:ue-1',
  });
});

test('kmsGroupManagers names the run group manager for every standard group, none for pc3 groups', () => {
  const plan = planGroupSecurity(
    {
      groupSecurity: {
        groups: [
          { group: 'alpha', solution: 'standard', remove: [] },
          { group: 'bravo', solution: 'pc3', remove: [] },
        ],
        calls: [],
        media: {},
        groupManagerWorkers: 1,
      },
    } as unknown as Scenario,
    new Map([
      ['alpha', ['ue-1']],
      ['bravo', ['ue-2']],
    ]),
  );
  assert.deepEqual(kmsGroupManagers(plan, 'group-manager'), { alpha: 'group-manager' });
  assert.deepEqual(kmsGroupManagers(undefined, 'group-manager'), {});
});

test('over PC3: another group manager, another group, or a UE asking for a group is refused not_authorized; the named manager gets the group identity', async () => {
  const refusedBefore = kms.refused();
  for (const [nodeId, role, body] of [
    ['gm-2', 'group-manager', { groupId: 'alpha' }],
    ['gm-1', 'group-manager', { groupId: 'bravo' }],
    ['gm-1', 'group-manager', {}],
    ['ue-1', 'ue', { groupId: 'alpha' }],
  ] as const) {
    const c = await client(nodeId, role);
    const r = await c.request('kms_bundle_request', body);
    assert.equal(r.type, 'error', `${nodeId} ${JSON.stringify(body)}`);
    assert.equal(r.type === 'error' && r.body.cause, 'not_authorized');
  }
  assert.equal(kms.refused() - refusedBefore, 4);
  assert.equal(kms.issued(), 0, 'nothing was issued to the refused requests');
  const gm = await client('gm-1', 'group-manager');
  const ok = await gm.request('kms_bundle_request', { groupId: 'alpha' });
  assert.equal(ok.type, 'kms_bundle_response');
  const bundle = parseBundle(ok.type === 'kms_bundle_response' ? ok.body.bundle : '');
  assert.equal(parseIdentity(bundle.identity).uri, 'sip:alpha@groups.prosec.test');
  assert.equal(kms.issued(), 1);
  const text = await metrics.registry.metrics();
  assert.match(
    text,
    /prosec_key_setup_seconds_count\{procedure="kms_bundle",method="mikey_sakke",result="failed"\} 4/,
  );
  assert.match(
    text,
    /prosec_key_setup_seconds_count\{procedure="kms_bundle",method="mikey_sakke",result="ok"\} 1/,
  );
});
