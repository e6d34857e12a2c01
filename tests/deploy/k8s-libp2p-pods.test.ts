// `prosec k8s render --pc5 libp2p` without a cluster: three real libp2p PC5 media started the way UE pods start
// them (the rendered ue.json role config, parsed by the UE's schema, plus a pod environment: POD_IP and the
// bootstrap list of lower ordinals), on three loopback addresses sharing one port like pods share 7400, one
// bootstrap peer named by DNS (`localhost`, resolved from /etc/hosts). Group frames flow between all three.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, test } from 'node:test';
import { type K8sObject, renderManifests } from '../../deploy/k8s/render.js';
import { freeTcpPort } from '../../deploy/libp2p-plan.js';
import { ueRoleConfigSchema } from '../../nodes/roles/ue.js';
import { type UePc5Config, uePc5ConfigSchema, uePc5Libp2pOptions } from '../../nodes/roles/ue-pc5.js';
import { createTestbedCa } from '../../transport/pc3/pki.js';
import { Libp2pPc5Medium } from '../../transport/pc5/libp2p-medium.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { waitUntil } from '../transport/pc5-medium-compliance.js';

const media: Libp2pPc5Medium[] = [];
after(async () => {
  await Promise.all(media.map((m) => m.close()));
});

/** The `pc5` part of the rendered UE configuration, as a UE pod reads it from the ConfigMap. */
async function renderedPc5(): Promise<UePc5Config> {
  const objects: K8sObject[] = renderManifests({
    ca: await createTestbedCa(),
    ues: 3,
    namespace: 'prosec',
    image: 'prosec:test',
    macvlanMaster: 'eth0',
    pc5: 'libp2p',
    dashboardsDir: join(REPO_ROOT, 'dashboards', 'json'),
  });
  const data = objects.find((o) => o.metadata.name === 'prosec-node-config')!.data as Record<string, string>;
  const cfg = ueRoleConfigSchema.parse((JSON.parse(data['ue.json']!) as { roleConfig: unknown }).roleConfig);
  assert.equal(cfg.pc5?.medium, 'libp2p');
  return cfg.pc5!;
}

test('three UE media started as pods start them: pod IP listeners, bootstrap by DNS name, group frames flow', async (t) => {
  const port = await freeTcpPort();
  // In a cluster every pod listens on 7400 on its own IP; here three loopback addresses share one free port.
  const pc5 = { ...(await renderedPc5()), listenPort: port };
  const pods = [
    // ue-0: the address `localhost` resolves to; it dials nobody.
    { name: 'ue-0', l2Id: 0x10, env: { POD_IP: '127.0.0.1', PROSEC_PC5_BOOTSTRAP: '' } },
    // ue-1 and ue-2 dial every lower ordinal, ue-0 by name (resolved by the medium, retried until it is up).
    {
      name: 'ue-1',
      l2Id: 0x11,
      env: { POD_IP: '127.0.0.2', PROSEC_PC5_BOOTSTRAP: ` /dns4/localhost/tcp/${port}` },
    },
    {
      name: 'ue-2',
      l2Id: 0x12,
      env: {
        POD_IP: '127.0.0.3',
        PROSEC_PC5_BOOTSTRAP: `/dns4/localhost/tcp/${port} /ip4/127.0.0.2/tcp/${port}`,
      },
    },
  ];
  const errors: string[] = [];
  const heard = new Map<number, Map<number, string>>();
  const group = { address: '239.77.0.1', port: 40077 };
  const make = (p: (typeof pods)[number]) => {
    const m = new Libp2pPc5Medium({
      ...uePc5Libp2pOptions(pc5, p.env),
      l2Id: p.l2Id,
      onError: (e) => errors.push(`${p.name}: ${e.message}`),
    });
    media.push(m);
    heard.set(p.l2Id, new Map());
    m.onFrame((f, meta) => {
      if (meta.group && f.dstL2Id === 0xabc) heard.get(p.l2Id)!.set(f.srcL2Id, meta.from.host);
    });
    return m;
  };
  // Parallel pod management, ue-0 last: its peers find nobody at `localhost` at first and keep retrying.
  const [m1, m2] = [make(pods[1]!), make(pods[2]!)];
  await Promise.all([m1.start(), m2.start()]);
  await new Promise((r) => setTimeout(r, 600));
  const m0 = make(pods[0]!);
  const t0 = performance.now();
  await m0.start();
  const all = [m0, m1, m2];
  for (const [i, m] of all.entries()) {
    assert.deepEqual(m.unicastAddress, { host: pods[i]!.env.POD_IP, port }, 'listens on its pod IP');
  }
  assert.ok(
    await waitUntil(() => all.every((m) => m.connectedPeers().length === 2), 15_000),
    `full mesh: ${all.map((m) => m.connectedPeers().length)}; ${errors.join('; ')}`,
  );
  const meshMs = performance.now() - t0;
  await Promise.all(all.map((m) => m.joinGroup(group)));
  const complete = () => [...heard.values()].every((h) => h.size === 2);
  // Bounded: at most 50 rounds of one group frame per UE, 100 ms apart.
  for (let round = 0; round < 50 && !complete(); round++) {
    for (const m of all) m.sendToGroup(group, { type: 'test', dstL2Id: 0xabc, payload: new Uint8Array(32) });
    await waitUntil(complete, 100);
  }
  assert.ok(
    complete(),
    `every UE heard the other two: ${JSON.stringify([...heard].map(([k, v]) => [k, [...v]]))}`,
  );
  t.diagnostic(
    `ue-0 start -> full mesh ${meshMs.toFixed(0)} ms (its peers retry every 250 ms); -> all group frames heard ${(performance.now() - t0).toFixed(0)} ms`,
  );
  // The origin address of a group frame is the sender's pod IP.
  assert.deepEqual(Object.fromEntries(heard.get(0x12)!), { 16: '127.0.0.1', 17: '127.0.0.2' });
  for (const m of all) assert.ok(m.stats().received.group.frames >= 2);
});

test('UE pc5 config: listen host and bootstrap names are validated before any socket opens', () => {
  const base = { medium: 'libp2p' as const, listenPort: 7400 };
  const parse = (x: Record<string, unknown>) => uePc5ConfigSchema.safeParse({ ...base, ...x }).success;
  assert.ok(
    parse({ bootstrap: ['/dns4/ue-0.ue.prosec.svc.cluster.local/tcp/7400', '/ip4/127.0.0.1/tcp/1'] }),
  );
  for (const bad of [
    '/dns4/bad_name/tcp/7400',
    '/ip4/127.0.0/tcp/7400',
    '/ip6/::1/tcp/7400',
    '/dns4/localhost/udp/7400',
    '/dns4/localhost/tcp/70000',
    '/dns4/localhost/tcp/7400/p2p/not-a-peer-id',
    'localhost:7400',
  ])
    assert.ok(!parse({ bootstrap: [bad] }), bad);
  assert.ok(!parse({ listenHost: 'ue-0' }));
  assert.ok(!parse({ listenHost: '127.0.0.2', listenHostEnv: 'POD_IP' }), 'one of listenHost, listenHostEnv');
  assert.ok(!parse({ listenHostEnv: 'POD IP' }));
  const cfg = (x: Record<string, unknown>) => uePc5ConfigSchema.parse({ ...base, ...x });
  // Loopback stays the default; a pod address needs allowNonLoopback.
  assert.equal(uePc5Libp2pOptions(cfg({}), {}).listenAddress, '127.0.0.1');
  assert.equal(uePc5Libp2pOptions(cfg({ listenHost: '127.0.0.2' }), {}).listenAddress, '127.0.0.2');
  assert.throws(() => uePc5Libp2pOptions(cfg({ listenHost: '10.0.0.1' }), {}), /allowNonLoopback/);
  assert.throws(
    () => uePc5Libp2pOptions(cfg({ listenHostEnv: 'POD_IP' }), { POD_IP: '10.0.0.1' }),
    /allowNonLoopback/,
  );
  assert.throws(() => uePc5Libp2pOptions(cfg({ listenHostEnv: 'POD_IP' }), { POD_IP: 'ue-0' }), /IPv4/);
  assert.throws(
    () => uePc5Libp2pOptions(cfg({ bootstrapEnv: 'B' }), { B: '/dns4/localhost/tcp/1 /dns4/no$such/tcp/1' }),
    /bad host/,
  );
  assert.deepEqual(
    uePc5Libp2pOptions(cfg({ bootstrap: ['/ip4/127.0.0.1/tcp/2'], bootstrapEnv: 'B' }), {
      B: '\n/dns4/localhost/tcp/1\t',
    }).bootstrap,
    ['/ip4/127.0.0.1/tcp/2', '/dns4/localhost/tcp/1'],
  );
});
