// The ProSe Function's PC3 authorization over real TLS 1.3 with real testbed certificates.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  createProseFunctionHandler,
  type ProseFunctionConfig,
  ProseFunctionPolicy,
} from '../../nodes/roles/prose-function.js';
import { Pc3Client } from '../../transport/pc3/client.js';
import { createNodeCredentials, createTestbedCa, type TestbedCa } from '../../transport/pc3/pki.js';
import { Pc3Server } from '../../transport/pc3/server.js';

const cfg: ProseFunctionConfig = {
  subscribers: ['ue-1', 'ue-2', 'ue-3', 'ue-4'],
  groups: [
    { groupId: 'team', multicastAddress: '239.1.2.3', port: 40001, members: ['ue-1', 'ue-2', 'ue-3'] },
    { groupId: 'pair', multicastAddress: '239.1.2.4', port: 40002, members: ['ue-1', 'ue-2'] },
  ],
  discovery: { multicastAddress: '239.1.2.1', port: 40000 },
  configValidityMs: 60_000,
};

let ca: TestbedCa;
let server: Pc3Server;
let port: number;
const results: string[] = [];
const clients: Pc3Client[] = [];

before(async () => {
  ca = await createTestbedCa();
  const pf = await createNodeCredentials(ca, { nodeId: 'prose-function', role: 'prose-function' });
  const now = new Date('2026-11-24T12:00:00Z');
  server = new Pc3Server({
    host: '127.0.0.1',
    port: 0,
    ...pf,
    caCertPem: ca.certPem,
    handler: createProseFunctionHandler(new ProseFunctionPolicy(cfg, () => now), {
      registration: (r) => results.push(r),
      unexpected: () => results.push('unexpected'),
    }),
  });
  ({ port } = await server.listen());
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
});

async function clientAs(nodeId: string, role = 'ue'): Promise<Pc3Client> {
  const c = await createNodeCredentials(ca, { nodeId, role });
  const client = new Pc3Client({
    host: '127.0.0.1',
    port,
    certPem: c.certPem,
    keyPem: c.keyPem,
    caCertPem: ca.certPem,
  });
  clients.push(client);
  return client;
}

test('a subscribed UE registers and gets its configuration: only its groups, 24-bit L2 ID, validity', async () => {
  const c = await clientAs('ue-3');
  const r = await c.request('register_request', { ueId: 'ue-3' });
  assert.equal(r.type, 'register_accept');
  if (r.type !== 'register_accept') return;
  const conf = r.body.config;
  assert.equal(conf.ueId, 'ue-3');
  assert.deepEqual(
    conf.groups.map((g) => g.groupId),
    ['team'],
  );
  assert.ok(conf.l2Id > 0 && conf.l2Id <= 0xffffff);
  assert.equal(conf.issuedAt, '2026-11-24T12:00:00.000Z');
  assert.equal(conf.validUntil, '2026-11-24T12:01:00.000Z');
  const again = await c.request('config_request', {});
  assert.equal(again.type, 'config_response');
});

test('distinct UEs get distinct L2 IDs; group L2 IDs are shared by members', async () => {
  const a = await (await clientAs('ue-1')).request('register_request', { ueId: 'ue-1' });
  const b = await (await clientAs('ue-2')).request('register_request', { ueId: 'ue-2' });
  assert.ok(a.type === 'register_accept' && b.type === 'register_accept');
  assert.notEqual(a.body.config.l2Id, b.body.config.l2Id);
  assert.deepEqual(a.body.config.groups, b.body.config.groups);
});

test('an unknown UE with a valid certificate is rejected: unknown_ue', async () => {
  const r = await (await clientAs('ue-99')).request('register_request', { ueId: 'ue-99' });
  assert.equal(r.type, 'register_reject');
  assert.equal(r.type === 'register_reject' && r.body.cause, 'unknown_ue');
});

test('a UE registering under another identity than its certificate is rejected: identity_mismatch', async () => {
  const r = await (await clientAs('ue-2')).request('register_request', { ueId: 'ue-1' });
  assert.equal(r.type === 'register_reject' && r.body.cause, 'identity_mismatch');
});

test('a node of another role cannot register as a UE: not_authorized', async () => {
  const r = await (await clientAs('ue-1', 'relay')).request('register_request', { ueId: 'ue-1' });
  assert.equal(r.type === 'register_reject' && r.body.cause, 'not_authorized');
});

test('configuration is not given before registration', async () => {
  const r = await (await clientAs('ue-4')).request('config_request', {});
  assert.equal(r.type, 'error');
  assert.equal(r.type === 'error' && r.body.cause, 'not_authorized');
  assert.ok(
    results.includes('unknown_ue') &&
      results.includes('identity_mismatch') &&
      results.includes('not_authorized'),
  );
});
