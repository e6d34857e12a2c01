// The ProSe Function's discovery allocation, revocation push, ALUID binding, match reports and registration
// throttle over real PC3 (TLS 1.3, mutual certificates from a testbed CA).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, test } from 'node:test';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { createProseFunctionHandler, ProseFunctionPolicy } from '../../nodes/roles/prose-function.js';
import {
  attachProseFunctionDiscovery,
  DEFAULT_THROTTLE,
} from '../../nodes/roles/prose-function-discovery.js';
import { createNodeMetrics } from '../../nodes/runtime/metrics.js';
import {
  DiscoveryRequester,
  DiscoveryResponder,
  discoveryIdKey,
} from '../../procedures/discovery/discovery-request-response.js';
import { Pc3Client } from '../../transport/pc3/client.js';
import type { DiscoveryAllocation, Pc3Message } from '../../transport/pc3/messages.js';
import { createNodeCredentials, createTestbedCa, type TestbedCa } from '../../transport/pc3/pki.js';
import { Pc3Server } from '../../transport/pc3/server.js';

const SLOT = 500;
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;
let ca: TestbedCa;
let server: Pc3Server;
let port: number;
const metrics = createNodeMetrics('prose-function', { processMetrics: false });
let pf: ReturnType<typeof attachProseFunctionDiscovery>;
const clients: Pc3Client[] = [];
const pushed = new Map<string, DiscoveryAllocation[]>();
const pk = () =>
  String(
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }),
  );

before(async () => {
  ca = await createTestbedCa();
  const creds = await createNodeCredentials(ca, { nodeId: 'prose-function', role: 'prose-function' });
  const policy = new ProseFunctionPolicy({
    subscribers: ['ue-1', 'ue-2', 'ue-3', 'ue-4'],
    groups: [],
    discovery: { multicastAddress: '239.1.2.1', port: 40000 },
    configValidityMs: 60_000,
  });
  pf = attachProseFunctionDiscovery({
    policy: {
      applicationId: 'chat',
      option: 'time-slot',
      slotMs: SLOT,
      users: [
        { ueId: 'ue-1', aluid: 'mary', permits: ['john', 'ann'] },
        { ueId: 'ue-2', aluid: 'john', permits: ['peter'] },
        { ueId: 'ue-3', aluid: 'peter', permits: [] },
        { ueId: 'ue-4', aluid: 'ann', permits: [] },
      ],
    },
    throttle: DEFAULT_THROTTLE,
    metrics,
    log: silent,
  });
  server = new Pc3Server({
    ...creds,
    caCertPem: ca.certPem,
    handler: pf.wrap(createProseFunctionHandler(policy, { registration: () => {}, unexpected: () => {} })),
    admitConnection: pf.admitConnection,
    acceptTypes: ['register_request', 'config_request', ...pf.acceptTypes],
  });
  pf.setServer(server);
  ({ port } = await server.listen());
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.close(100);
});

async function client(nodeId: string): Promise<Pc3Client> {
  const creds = await createNodeCredentials(ca, { nodeId, role: 'ue' });
  const c = new Pc3Client({
    host: '127.0.0.1',
    port,
    ...creds,
    caCertPem: ca.certPem,
    expectedServer: { role: 'prose-function' },
    onUnsolicited: (m: Pc3Message) => {
      if (m.type === 'discovery_allocation')
        pushed.set(nodeId, [...(pushed.get(nodeId) ?? []), m.body.allocation]);
    },
  });
  clients.push(c);
  return c;
}

async function register(c: Pc3Client, aluid: string) {
  return c.request('discovery_register_request', { aluid, applicationId: 'chat', publicKeyPem: pk() });
}

const waitPush = async (id: string, n: number) => {
  for (let i = 0; i < 100 && (pushed.get(id)?.length ?? 0) < n; i++)
    await new Promise((r) => setTimeout(r, 20));
  return pushed.get(id) ?? [];
};

test('PF over PC3: allocation by permission, ALUID bound to the EPSID, pushes on registration and on unfriend, match reports checked', async () => {
  const mary = await client('ue-1');
  const john = await client('ue-2');
  const peter = await client('ue-3');
  const r1 = await register(john, 'john');
  assert.equal(r1.type, 'discovery_register_accept');
  const johnAlloc = r1.type === 'discovery_register_accept' ? r1.body.allocation : assert.fail();
  assert.deepEqual(
    johnAlloc.monitor.restricted.map((e) => e.aluid),
    ['mary'],
  );
  // ue-3 claims Mary's ALUID: key issue #2.6.
  const bad = await register(peter, 'mary');
  assert.equal(bad.type, 'discovery_register_reject');
  assert.equal(bad.type === 'discovery_register_reject' && bad.body.cause, 'aluid_mismatch');
  // The failure cost this identity its burst (misbehaviour penalty): an immediate retry is throttled.
  const retry = await register(peter, 'peter');
  assert.equal(retry.type === 'discovery_register_reject' && retry.body.cause, 'rate_limited');
  await new Promise((r) => setTimeout(r, 1100));
  const r3 = await register(peter, 'peter');
  const peterAlloc = r3.type === 'discovery_register_accept' ? r3.body.allocation : assert.fail();
  assert.deepEqual(
    peterAlloc.monitor.restricted.map((e) => e.aluid),
    ['john'],
  );
  const r2 = await register(mary, 'mary');
  const maryAlloc = r2.type === 'discovery_register_accept' ? r2.body.allocation : assert.fail();
  assert.deepEqual(maryAlloc.monitor.restricted, [], 'Mary sees nobody (nobody permits her)');
  // John was pushed Mary's open code and public key when she registered.
  const johnPushes = await waitPush('ue-2', 2);
  assert.ok(johnPushes.at(-1)!.monitor.open.some((e) => e.aluid === 'mary'));

  // Model B with the PF in the loop: John holds only Mary's ID key; Mary answers; the PF checks the MIC.
  const maryKey = {
    code: fromHex(maryAlloc.announce.restricted.code),
    key: fromHex(maryAlloc.announce.restricted.key),
  };
  const requester = new DiscoveryRequester({ mode: 'mic', slotMs: SLOT, verifyAt: 'prose-function' });
  const responder = new DiscoveryResponder({ mode: 'mic', slotMs: SLOT, own: maryKey });
  const q = requester.request(
    { owner: 'mary', code: maryKey.code, idKey: discoveryIdKey(maryKey) },
    Date.now(),
  );
  const resp = responder.receive(q, Date.now());
  if (resp.type !== 'respond') return assert.fail(resp.cause);
  const ev = requester.receive(resp.payload, Date.now());
  if (ev.type !== 'match_report') return assert.fail(ev.type);
  const report = { code: toHex(ev.code), requestNonce: toHex(ev.requestNonce), response: toHex(ev.response) };
  const tampered = {
    ...report,
    response: `${report.response.slice(0, -2)}${report.response.endsWith('00') ? '01' : '00'}`,
  };
  const t = await john.request('discovery_match_report', tampered);
  assert.deepEqual(t.type === 'discovery_match_ack' && t.body, { ok: false, cause: 'bad_mic' });
  const ok = await john.request('discovery_match_report', report);
  assert.deepEqual(ok.type === 'discovery_match_ack' && ok.body, { ok: true, aluid: 'mary' });
  const again = await john.request('discovery_match_report', report);
  assert.deepEqual(again.type === 'discovery_match_ack' && again.body, { ok: false, cause: 'replay' });

  // Mary unfriends John: Mary gets a new code/key, John loses the entry.
  const before = { mary: (await waitPush('ue-1', 0)).length, john: johnPushes.length };
  pf.command('discovery-revoke mary john');
  const maryNew = (await waitPush('ue-1', before.mary + 1)).at(-1)!;
  const johnNew = (await waitPush('ue-2', before.john + 1)).at(-1)!;
  assert.notEqual(maryNew.announce.restricted.key, maryAlloc.announce.restricted.key);
  assert.notEqual(maryNew.announce.restricted.code, maryAlloc.announce.restricted.code);
  assert.deepEqual(johnNew.monitor.restricted, []);
  assert.ok(johnNew.epoch > johnAlloc.epoch);
  const s = pf.status() as { discovery: { revocations: number } };
  assert.equal(s.discovery.revocations, 1);
});

test('PF throttle: an unsubscribed identity hammering register_request is refused cheaply; a legitimate UE still registers', async () => {
  // Ann shares the loopback address with Mallory; her connection is up before the flood (the address-level
  // penalty will refuse new connections from this address; bench:registration-flood uses separate addresses).
  const ann = await client('ue-4');
  await ann.connect();
  const mallory = await client('mallory');
  const causes: string[] = [];
  for (let i = 0; i < 12; i++) {
    const r = await mallory.request('register_request', { ueId: 'mallory' });
    causes.push(r.type === 'register_reject' ? r.body.cause : r.type);
  }
  assert.equal(causes[0], 'unknown_ue');
  assert.ok(
    causes.slice(2).every((c) => c === 'rate_limited'),
    causes.join(','),
  );
  const r = await ann.request('register_request', { ueId: 'ue-4' });
  assert.equal(r.type, 'register_accept');
  const text = await metrics.registry.getSingleMetricAsString('prosec_registration_throttled_total');
  assert.match(text, /stage="request",cause="rate_limited"} (\d+)/);
  // Connection admission (before TLS): an address whose bucket is drained is refused.
  let refused = 0;
  for (let i = 0; i < 500; i++) if (!pf.admitConnection('127.0.0.77')) refused++;
  assert.ok(refused >= 99, `refused ${refused}`);
  assert.equal(pf.admitConnection('127.0.0.78'), true, 'other addresses are unaffected');
});
