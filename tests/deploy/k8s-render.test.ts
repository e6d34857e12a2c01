// `prosec k8s render`: every rendered object validates against the Kubernetes OpenAPI schemas bundled in
// kubernetes-models (offline); the two CRD objects get a structural check (docs/k8s.md).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { type K8sObject, PC5_LIBP2P_PORT, renderManifests, waitForScript } from '../../deploy/k8s/render.js';
import { freeTcpPort } from '../../deploy/libp2p-plan.js';
import { aaaConfigSchema } from '../../nodes/roles/aaa.js';
import { groupManagerConfigSchema } from '../../nodes/roles/group-manager.js';
import { kmsConfigSchema } from '../../nodes/roles/kms.js';
import { proseFunctionConfigSchema } from '../../nodes/roles/prose-function.js';
import { ueRoleConfigSchema } from '../../nodes/roles/ue.js';
import { uePc5ConfigSchema, uePc5Libp2pOptions, uePc5UdpOptions } from '../../nodes/roles/ue-pc5.js';
import { nodeConfigSchema } from '../../nodes/runtime/protocol.js';
import { createTestbedCa } from '../../transport/pc3/pki.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { runCli } from '../helpers/processes.js';

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

/** Structural checks for the CRDs whose schemas are not bundled (Multus, prometheus-operator). */
function checkCrd(o: K8sObject): void {
  const spec = o.spec as Record<string, unknown>;
  if (o.kind === 'NetworkAttachmentDefinition') {
    assert.equal(o.apiVersion, 'k8s.cni.cncf.io/v1');
    const cfg = JSON.parse(spec.config as string) as Record<string, unknown>;
    assert.equal(cfg.type, 'macvlan');
    assert.equal(typeof cfg.master, 'string');
  } else if (o.kind === 'ServiceMonitor') {
    assert.equal(o.apiVersion, 'monitoring.coreos.com/v1');
    assert.ok((spec.selector as { matchLabels: object }).matchLabels);
    assert.ok(Array.isArray(spec.endpoints) && spec.endpoints.length > 0);
  } else assert.fail(`no schema for ${o.apiVersion}/${o.kind}`);
}

function validate(o: K8sObject): void {
  const M = MODELS[`${o.apiVersion}/${o.kind}`];
  if (M) new M(o as never).validate();
  else checkCrd(o);
}

const ca = await createTestbedCa({ name: 'k8s render test CA' });
const opts = {
  ca,
  ues: 5,
  namespace: 'prosec-test',
  image: 'prosec:test',
  macvlanMaster: 'eth1',
  dashboardsDir: join(REPO_ROOT, 'dashboards', 'json'),
};

test('every rendered object validates against the Kubernetes schemas', () => {
  const objects = renderManifests(opts);
  for (const o of objects) validate(o);
  const kinds = objects.map((o) => `${o.kind}/${(o.metadata as { name: string }).name}`);
  for (const r of ['kms', 'prose-function', 'aaa', 'group-manager']) {
    assert.ok(kinds.includes(`Deployment/${r}`), r);
    assert.ok(kinds.includes(`Service/${r}`), r);
  }
  const sts = objects.find((o) => o.kind === 'StatefulSet') as { spec: { replicas: number } } & K8sObject;
  assert.equal(sts.spec.replicas, 5);
  const dashboards = objects.filter(
    (o) => (o.metadata.labels as Record<string, string>)?.grafana_dashboard === '1',
  );
  assert.ok(dashboards.length >= 3);
  for (const d of dashboards) for (const v of Object.values(d.data as object)) JSON.parse(v as string);
});

test('enrollment: only the KMS gets the secret; each UE pod derives its id from its ordinal and reads its token', () => {
  const secret = 'ab'.repeat(32);
  const objects = renderManifests({ ...opts, enrollmentSecret: secret });
  const tokens = objects.find((o) => o.metadata.name === 'prosec-enrollment-tokens')!.stringData as Record<
    string,
    string
  >;
  const hmac = (role: string, id: string) =>
    createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${role}\0${id}`).digest('hex');
  assert.deepEqual(Object.keys(tokens).sort(), [
    'aaa',
    'group-manager',
    'prose-function',
    'ue-1',
    'ue-2',
    'ue-3',
    'ue-4',
    'ue-5',
  ]);
  assert.equal(tokens['ue-5'], hmac('ue', 'ue-5'));
  assert.equal(tokens.aaa, hmac('aaa', 'aaa'));
  const text = JSON.stringify(objects.filter((o) => o.metadata.name !== 'prosec-enrollment'));
  assert.ok(!text.includes(secret), 'the secret appears only in the prosec-enrollment Secret');
  const sts = objects.find((o) => o.kind === 'StatefulSet') as K8sObject & {
    spec: { template: { spec: { containers: { args: string[] }[] } } };
  };
  const script = sts.spec.template.spec.containers[0]!.args[0]!;
  // Run the pod's own start line with the node replaced by echo: pod ue-4 is UE ue-5 with ue-5's token.
  const dir = execFileSync('mktemp', ['-d']).toString().trim();
  for (const [k, v] of Object.entries(tokens))
    execFileSync('sh', ['-c', `printf %s "$2" > "$1"`, 'w', `${dir}/${k}`, v]);
  const line = script
    .replaceAll('/etc/prosec-tokens', dir)
    .replace('exec node /app/bin/prosec.js node', `exec sh -c 'echo "$PROSEC_ENROLLMENT_TOKEN $*"' sh`);
  const out = execFileSync('sh', ['-c', line], {
    env: { POD_NAME: 'ue-4', PATH: process.env.PATH },
  }).toString();
  execFileSync('rm', ['-r', dir]);
  assert.match(out, /--id ue-5\b/);
  assert.ok(out.startsWith(tokens['ue-5']!));
});

test('a broken object fails the schema validation', () => {
  const objects = renderManifests(opts);
  const sts = structuredClone(objects.find((o) => o.kind === 'StatefulSet')!) as K8sObject & {
    spec: Record<string, unknown>;
  };
  sts.spec.replicas = 'five';
  assert.throws(() => validate(sts));
  const svc = structuredClone(objects.find((o) => o.kind === 'Service')!) as K8sObject & {
    spec: { ports: { port: unknown }[] };
  };
  delete (svc.spec.ports[0] as { port?: unknown }).port;
  assert.throws(() => validate(svc));
  assert.throws(() =>
    checkCrd({ ...objects.find((o) => o.kind === 'ServiceMonitor')!, spec: { endpoints: [] } }),
  );
});

test('prosec k8s render --ues N prints the manifests as multi-document YAML', async () => {
  const r = runCli(['k8s', 'render', '--ues', '3', '--namespace', 'lab'], { timeoutMs: 30_000 });
  assert.equal((await r.exit).code, 0, r.stderr());
  assert.doesNotMatch(r.stdout(), /: [&*]a\d+$/m, 'no YAML anchors or aliases');
  const docs = parseAllDocuments(r.stdout()).map((d) => d.toJS() as K8sObject);
  for (const o of docs) validate(o);
  const sts = docs.find((o) => o.kind === 'StatefulSet') as K8sObject & { spec: { replicas: number } };
  assert.equal(sts.spec.replicas, 3);
  assert.ok(docs.every((o) => o.kind === 'Namespace' || o.metadata.namespace === 'lab'));
  const bad = runCli(['k8s', 'render', '--ues', 'x'], { timeoutMs: 30_000 });
  assert.equal((await bad.exit).code, 2);
});

type Container = {
  args: string[];
  env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number }[];
};
const ueContainer = (objects: K8sObject[]): Container =>
  (
    objects.find((o) => o.kind === 'StatefulSet') as K8sObject & {
      spec: { template: { spec: { containers: Container[] } } };
    }
  ).spec.template.spec.containers[0]!;
const ueJson = (objects: K8sObject[]): { roleConfig?: unknown } =>
  JSON.parse(
    (objects.find((o) => o.metadata.name === 'prosec-node-config')!.data as Record<string, string>)[
      'ue.json'
    ]!,
  );

test('--pc5 libp2p: no Multus, a headless Service for pod DNS names, POD_IP, the UE config selects libp2p', () => {
  const objects = renderManifests({ ...opts, pc5: 'libp2p' });
  for (const o of objects) validate(o);
  assert.ok(!objects.some((o) => o.kind === 'NetworkAttachmentDefinition'));
  assert.doesNotMatch(JSON.stringify(objects), /cni\.cncf\.io/, 'no Multus network or annotation anywhere');
  const sts = objects.find((o) => o.kind === 'StatefulSet') as K8sObject & { spec: { serviceName: string } };
  const svc = objects.find(
    (o) => o.kind === 'Service' && o.metadata.name === sts.spec.serviceName,
  ) as K8sObject & {
    spec: { clusterIP: string; publishNotReadyAddresses: boolean; ports: { name: string; port: number }[] };
  };
  assert.equal(svc.spec.clusterIP, 'None', 'the StatefulSet governing Service is headless');
  assert.equal(svc.spec.publishNotReadyAddresses, true, 'pods are in DNS before they are ready');
  assert.ok(svc.spec.ports.some((p) => p.name === 'pc5' && p.port === PC5_LIBP2P_PORT));
  const c = ueContainer(objects);
  assert.deepEqual(c.env.find((e) => e.name === 'POD_IP')?.valueFrom, {
    fieldRef: { fieldPath: 'status.podIP' },
  });
  assert.ok(c.ports.some((p) => p.name === 'pc5' && p.containerPort === PC5_LIBP2P_PORT));
  const policy = objects.find((o) => o.kind === 'NetworkPolicy') as K8sObject & {
    spec: { ingress: { from?: unknown[]; ports: { port: number }[] }[] };
  };
  assert.deepEqual(
    policy.spec.ingress.map((r) => [r.ports[0]!.port, r.from !== undefined]),
    [
      [PC5_LIBP2P_PORT, true],
      [9464, false],
    ],
  );
  // The UE's own schema accepts the rendered role config, and a pod's environment turns it into medium options.
  const roleConfig = ueRoleConfigSchema.parse(ueJson(objects).roleConfig);
  assert.equal(roleConfig.pc5?.medium, 'libp2p');
  const o = uePc5Libp2pOptions(roleConfig.pc5!, {
    POD_IP: '10.4.0.17',
    PROSEC_PC5_BOOTSTRAP: ' /dns4/ue-0.ue.prosec-test.svc.cluster.local/tcp/7400 ',
  });
  assert.deepEqual(o, {
    listenAddress: '10.4.0.17',
    listenPort: PC5_LIBP2P_PORT,
    bootstrap: ['/dns4/ue-0.ue.prosec-test.svc.cluster.local/tcp/7400'],
    allowNonLoopback: true,
    bootstrapRetryMs: 120_000,
  });
  assert.throws(() => uePc5Libp2pOptions(roleConfig.pc5!, {}), /POD_IP must hold an IPv4 address/);
  // The default stays multicast on Multus, without a UE role config or POD_IP.
  const mc = renderManifests(opts);
  assert.ok(mc.some((x) => x.kind === 'NetworkAttachmentDefinition'));
  assert.ok(!mc.some((x) => x.kind === 'NetworkPolicy'));
  assert.ok(!ueContainer(mc).env.some((e) => e.name === 'POD_IP'));
  assert.deepEqual(
    ueRoleConfigSchema.parse(ueJson(mc).roleConfig).pc5,
    uePc5ConfigSchema.parse({ medium: 'udp', interface: 'net1', allowNonLoopback: true }),
    'multicast: the UDP medium on the Multus interface',
  );
  assert.throws(() => renderManifests({ ...opts, pc5: 'libp2p', ues: 101 }), /at most 100 UEs/);
  assert.throws(() => renderManifests({ ...opts, pc5: 'udp' as never }), /--pc5 must be/);
});

test('--pc5 libp2p: a UE pod start line bootstraps to every lower-ordinal pod by DNS name', () => {
  const objects = renderManifests({ ...opts, pc5: 'libp2p', clusterDomain: 'k8s.example' });
  const line = ueContainer(objects).args[0]!.replace(
    /PROSEC_ENROLLMENT_TOKEN=.*$/,
    `exec sh -c 'echo "$PROSEC_PC5_BOOTSTRAP"'`,
  );
  const run = (pod: string) =>
    execFileSync('sh', ['-c', line], { env: { POD_NAME: pod, PATH: process.env.PATH } })
      .toString()
      .trim()
      .split(/\s+/)
      .filter((x) => x !== '');
  assert.deepEqual(run('ue-0'), []);
  assert.deepEqual(run('ue-2'), [
    `/dns4/ue-0.ue.prosec-test.svc.k8s.example/tcp/${PC5_LIBP2P_PORT}`,
    `/dns4/ue-1.ue.prosec-test.svc.k8s.example/tcp/${PC5_LIBP2P_PORT}`,
  ]);
  assert.equal(run('ue-4').length, 4);
});

test('a broken NetworkPolicy fails the schema validation', () => {
  const policy = structuredClone(
    renderManifests({ ...opts, pc5: 'libp2p' }).find((o) => o.kind === 'NetworkPolicy')!,
  ) as K8sObject & {
    spec: Record<string, unknown>;
  };
  validate(policy);
  const badPort = structuredClone(policy);
  badPort.spec.ingress = [{ ports: [{ port: { number: 7400 } }] }];
  assert.throws(() => validate(badPort));
  const noSelector = structuredClone(policy);
  delete noSelector.spec.podSelector;
  assert.throws(() => validate(noSelector));
});

test('prosec k8s render --pc5 libp2p prints valid manifests; unknown media and too many UEs are refused', async () => {
  const r = runCli(['k8s', 'render', '--ues', '3', '--pc5', 'libp2p'], { timeoutMs: 30_000 });
  assert.equal((await r.exit).code, 0, r.stderr());
  const docs = parseAllDocuments(r.stdout()).map((d) => d.toJS() as K8sObject);
  for (const o of docs) validate(o);
  assert.ok(docs.some((o) => o.kind === 'NetworkPolicy'));
  assert.ok(!docs.some((o) => o.kind === 'NetworkAttachmentDefinition'));
  for (const args of [
    ['--pc5', 'udp'],
    ['--pc5', 'libp2p', '--ues', '101'],
  ]) {
    const bad = runCli(['k8s', 'render', ...args], { timeoutMs: 30_000 });
    assert.equal((await bad.exit).code, 2, args.join(' '));
  }
});

/** Every rendered node configuration file by role: the ConfigMap's, and the AAA's from its Secret. */
function nodeConfigs(objects: K8sObject[]): Record<string, unknown> {
  const cm = objects.find((o) => o.metadata.name === 'prosec-node-config')!.data as Record<string, string>;
  const aaa = objects.find((o) => o.metadata.name === 'prosec-aaa-config')!.stringData as Record<
    string,
    string
  >;
  const files = { ...cm, ...aaa };
  return Object.fromEntries(
    Object.entries(files).map(([f, text]) => [f.replace(/\.json$/, ''), JSON.parse(text) as unknown]),
  );
}

const ROLE_SCHEMAS: Record<string, { parse(x: unknown): unknown }> = {
  kms: kmsConfigSchema,
  'prose-function': proseFunctionConfigSchema,
  'group-manager': groupManagerConfigSchema,
  aaa: aaaConfigSchema,
  ue: ueRoleConfigSchema,
};

type Svc = K8sObject & {
  spec: { ports: { name: string; port: number; targetPort: number | string; protocol: string }[] };
};
type Pod = {
  containers: { args: string[]; ports: { name: string; containerPort: number; protocol: string }[] }[];
  initContainers?: { command: string[] }[];
  volumes: { name: string; secret?: { secretName: string } }[];
};
const podOf = (objects: K8sObject[], kind: string, name: string): Pod =>
  (
    objects.find((o) => o.kind === kind && o.metadata.name === name) as K8sObject & {
      spec: { template: { spec: Pod } };
    }
  ).spec.template.spec;

for (const pc5 of ['multicast', 'libp2p'] as const)
  test(`--pc5 ${pc5}: every rendered node config passes nodeConfigSchema and its role's schema; Services target the configured ports`, () => {
    const o = { ...opts, pc5, clusterDomain: 'k8s.example' };
    const objects = renderManifests(o);
    const configs = nodeConfigs(objects);
    assert.deepEqual(Object.keys(configs).sort(), ['aaa', 'group-manager', 'kms', 'prose-function', 'ue']);
    const parsed = Object.fromEntries(
      Object.entries(configs).map(([role, raw]) => {
        const c = nodeConfigSchema.parse(raw);
        assert.equal(c.role, role);
        ROLE_SCHEMAS[role]!.parse(c.roleConfig);
        return [role, c];
      }),
    );
    // Each network element binds fixed ports; its Service's targetPort (and port) are those numbers, and its
    // container declares them.
    for (const role of ['kms', 'prose-function', 'group-manager', 'aaa'] as const) {
      const ports = parsed[role]!.ports as Record<string, number>;
      assert.ok(Object.keys(ports).length > 0, role);
      assert.ok(
        Object.values(ports).every((p) => p > 0),
        `${role}: no ephemeral port`,
      );
      const svc = objects.find((x) => x.kind === 'Service' && x.metadata.name === role) as Svc;
      const svcPorts = svc.spec.ports.filter((p) => p.name !== 'metrics');
      assert.deepEqual(
        svcPorts.map((p) => p.targetPort).sort(),
        Object.values(ports).sort(),
        `${role}: Service targetPorts = configured ports`,
      );
      for (const p of svcPorts) assert.equal(p.port, p.targetPort);
      const container = podOf(objects, 'Deployment', role).containers[0]!;
      for (const p of svcPorts)
        assert.ok(
          container.ports.some(
            (c) => c.containerPort === p.targetPort && c.protocol === p.protocol && c.name === p.name,
          ),
          `${role}: container port ${p.name}`,
        );
    }
    assert.equal(
      (objects.find((x) => x.metadata.name === 'aaa' && x.kind === 'Service') as Svc).spec.ports[1]!.protocol,
      'UDP',
    );
    // The clients reach those ports by Service DNS name.
    const svcPort = (role: string, name: string) =>
      (objects.find((x) => x.kind === 'Service' && x.metadata.name === role) as Svc).spec.ports.find(
        (p) => p.name === name,
      )!.port;
    const kmsEndpoint = { host: 'kms.prosec-test.svc.k8s.example', port: svcPort('kms', 'enroll') };
    for (const role of ['prose-function', 'group-manager', 'ue'])
      assert.deepEqual(parsed[role]!.kms, { ...kmsEndpoint, caCertFile: '/etc/prosec-ca/ca.pem' }, role);
    assert.deepEqual(parsed.ue!.proseFunction, {
      host: 'prose-function.prosec-test.svc.k8s.example',
      port: svcPort('prose-function', 'pc3'),
    });
    assert.deepEqual((parsed['group-manager']!.roleConfig as { kmsKeys: unknown }).kmsKeys, {
      host: 'kms.prosec-test.svc.k8s.example',
      port: svcPort('kms', 'keys'),
    });
    // Every UE is subscribed and in the group; the UE starts traffic by itself; the UE config has the medium.
    const pf = proseFunctionConfigSchema.parse(parsed['prose-function']!.roleConfig);
    assert.deepEqual(pf.subscribers, ['ue-1', 'ue-2', 'ue-3', 'ue-4', 'ue-5']);
    assert.deepEqual(pf.groups[0]!.members, pf.subscribers);
    assert.ok((parsed.ue!.startTrafficAfterMs ?? -1) >= 0);
    assert.equal(
      ueRoleConfigSchema.parse(parsed.ue!.roleConfig).pc5?.medium,
      pc5 === 'libp2p' ? 'libp2p' : 'udp',
    );
    // Init containers wait for exactly the endpoints the node dials first.
    const waits = (kind: string, name: string) =>
      podOf(objects, kind, name).initContainers?.[0]?.command[2] ?? '';
    assert.match(
      waits('StatefulSet', 'ue'),
      /"kms\.prosec-test\.svc\.k8s\.example",7000\].*"prose-function\.prosec-test\.svc\.k8s\.example",7001\]/,
    );
    assert.match(
      waits('Deployment', 'group-manager'),
      /7000\],\["kms\.prosec-test\.svc\.k8s\.example",7002\]/,
    );
    assert.equal(waits('Deployment', 'kms'), '');
  });

test('CA: made at render time; the certificate is in every pod, the key in the KMS pod only; the AAA secret is not in the ConfigMap', () => {
  const objects = renderManifests(opts);
  const caSecret = objects.find((o) => o.metadata.name === 'prosec-ca')!.stringData as Record<string, string>;
  assert.equal(caSecret['ca.pem'], ca.certPem);
  const keySecret = objects.find((o) => o.metadata.name === 'prosec-ca-key')!.stringData as Record<
    string,
    string
  >;
  assert.equal(keySecret['ca-key.pem'], ca.keyPem);
  const text = JSON.stringify(objects.filter((o) => o.metadata.name !== 'prosec-ca-key'));
  assert.ok(!text.includes(JSON.stringify(ca.keyPem).slice(1, -1)), 'the CA key appears only in its Secret');
  const pods = [
    ...['kms', 'prose-function', 'aaa', 'group-manager'].map(
      (n) => [n, podOf(objects, 'Deployment', n)] as const,
    ),
    ['ue', podOf(objects, 'StatefulSet', 'ue')] as const,
  ];
  for (const [name, pod] of pods) {
    const secrets = pod.volumes.map((v) => v.secret?.secretName).filter((x) => x !== undefined);
    assert.ok(secrets.includes('prosec-ca'), `${name} mounts the CA certificate`);
    assert.equal(secrets.includes('prosec-ca-key'), name === 'kms', `${name}: CA key only in the KMS`);
    assert.equal(secrets.includes('prosec-aaa-config'), name === 'aaa');
  }
  const aaa = aaaConfigSchema.parse((nodeConfigs(objects).aaa as { roleConfig: unknown }).roleConfig);
  const cm = JSON.stringify(objects.find((o) => o.metadata.name === 'prosec-node-config'));
  assert.ok(!cm.includes(aaa.secret), 'the RADIUS secret is not in the ConfigMap');
  assert.match(
    podOf(objects, 'Deployment', 'aaa').containers[0]!.args[0]!,
    /--config \/etc\/prosec-aaa\/aaa\.json/,
  );
  assert.throws(() => renderManifests({ ...opts, ca: undefined as never }), /needs the deployment CA/);
});

test("the init containers' wait script waits for a port to open and gives up at its deadline", async () => {
  const { createServer } = await import('node:net');
  const port = await freeTcpPort();
  const script = waitForScript([{ host: '127.0.0.1', port }]);
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += String(d);
  });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(child.exitCode, null, 'still waiting while nothing listens');
  const server = createServer().listen(port, '127.0.0.1');
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  server.close();
  assert.equal(code, 0);
  assert.match(out, new RegExp(`reachable: 127\\.0\\.0\\.1:${port}`));
  // Deadline: the same script with its 10 min bound cut to 0 exits 1 when nothing listens.
  const late = spawn(process.execPath, ['-e', script.replace('Date.now() + 600000', 'Date.now()')], {
    stdio: 'ignore',
  });
  assert.equal(await new Promise<number | null>((r) => late.once('exit', r)), 1);
});

test('--pc5 multicast: the UE binds and multicasts on its Multus interface, checked before any socket opens', () => {
  const cfg = (x: Record<string, unknown>) => uePc5ConfigSchema.parse({ medium: 'udp', ...x });
  const ifaces = {
    lo: [{ address: '127.0.0.1', family: 'IPv4' }],
    net1: [
      { address: 'fe80::1', family: 'IPv6' },
      { address: '10.215.0.7', family: 'IPv4' },
    ],
  } as never;
  assert.deepEqual(uePc5UdpOptions(cfg({ interface: 'net1', allowNonLoopback: true }), ifaces), {
    bindAddress: '10.215.0.7',
    multicastInterface: '10.215.0.7',
    multicastTtl: 1,
    allowNonLoopback: true,
    requireLoopbackRoute: false,
  });
  // Loopback keeps the loopback safety (TTL 0, 239/8 must be routed via lo).
  assert.deepEqual(uePc5UdpOptions(cfg({ interface: 'lo' }), ifaces), {
    bindAddress: '127.0.0.1',
    multicastInterface: '127.0.0.1',
  });
  assert.throws(() => uePc5UdpOptions(cfg({ interface: 'net1' }), ifaces), /allowNonLoopback/);
  assert.throws(
    () => uePc5UdpOptions(cfg({ interface: 'net2', allowNonLoopback: true }), ifaces),
    /net2 has no IPv4/,
  );
  assert.deepEqual(uePc5UdpOptions(cfg({}), ifaces), {}, 'no interface: the loopback defaults');
  assert.deepEqual(uePc5UdpOptions(undefined, ifaces), {});
  assert.ok(!uePc5ConfigSchema.safeParse({ medium: 'libp2p', interface: 'net1' }).success);
  assert.ok(!uePc5ConfigSchema.safeParse({ medium: 'udp', interface: 'net1; rm' }).success);
});
