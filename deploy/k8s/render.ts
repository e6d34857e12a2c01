// Kubernetes manifests for a prosec testbed (docs/k8s.md): network elements as Deployments with Services on
// fixed ports, UEs as a StatefulSet reaching them by Service DNS name, the enrollment secret and the run CA
// (made at render time) as Secrets, Prometheus scrape annotations and a ServiceMonitor,
// the Grafana dashboards as ConfigMaps, and PC5 either over IP multicast on a Multus macvlan secondary network
// (--pc5 multicast) or over libp2p on the pod network (--pc5 libp2p: UE pods by headless-Service DNS name).
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { computeEnrollmentToken } from '../../transport/pc3/enrollment.js';
import type { TestbedCa } from '../../transport/pc3/pki.js';
import { LIBP2P_MAX_UES } from '../libp2p-plan.js';

export interface RenderOptions {
  ues: number;
  namespace: string;
  image: string;
  /** Folder with the generated Grafana dashboards (dashboards/json). */
  dashboardsDir: string;
  /** The deployment's enrollment secret (hex); a fresh random one when absent. */
  enrollmentSecret?: string;
  /** Host interface the macvlan secondary network (PC5 IP multicast) attaches to. */
  macvlanMaster: string;
  /** PC5 medium of the UEs: IP multicast on a Multus macvlan network (default) or libp2p on the pod network. */
  pc5?: Pc5Mode;
  /** Cluster DNS domain of the Service and UE pod names, default cluster.local. */
  clusterDomain?: string;
  /**
   * The deployment's CA (transport/pc3/pki.ts createTestbedCa): its certificate goes to every pod (Secret
   * prosec-ca), its private key to the KMS only (Secret prosec-ca-key), which enrolls every node under it.
   */
  ca: TestbedCa;
}

export const PC5_MODES = ['multicast', 'libp2p'] as const;
export type Pc5Mode = (typeof PC5_MODES)[number];

export type K8sObject = { apiVersion: string; kind: string; metadata: Record<string, unknown> } & Record<
  string,
  unknown
>;

/** Port of every node's /metrics, /healthz, /readyz endpoint in the cluster (NodeConfig.metricsPort). */
export const METRICS_PORT = 9464;
const APP = 'prosec';
const PC5_NETWORK = 'prosec-pc5';
/** --pc5 multicast: the UE pod's interface on the PC5 network (Multus names the first secondary network net1). */
export const PC5_INTERFACE = 'net1';
/** --pc5 libp2p: the TCP port every UE pod's libp2p PC5 medium listens on (on its pod IP). */
export const PC5_LIBP2P_PORT = 7400;
/** --pc5 libp2p: environment variable a UE pod's start line fills with its bootstrap multiaddrs. */
const PC5_BOOTSTRAP_ENV = 'PROSEC_PC5_BOOTSTRAP';
/** Headless Service of the UE StatefulSet: pod ue-k is `ue-k.ue.<ns>.svc.<cluster domain>`. */
const UE_SERVICE = 'ue';

/** Shell expression (sh -c) for a UE pod's id: pod ue-<ordinal> runs UE ue-<ordinal + 1>, as the orchestrator's ue-1 .. ue-N. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a JS template.
const UE_ID_FROM_ORDINAL = 'ue-$((${POD_NAME##*-} + 1))';

/** The network elements, one Deployment + Service each. */
const NETWORK_ELEMENTS = ['kms', 'prose-function', 'aaa', 'group-manager'] as const;
type NetworkElement = (typeof NETWORK_ELEMENTS)[number];

/**
 * Fixed listening ports of the network elements (NodeConfig.ports): each Service's port and targetPort, each
 * container's named port. Name (container/Service port name) -> NodeConfig.ports key, number, protocol.
 */
export const NE_PORTS: Record<
  NetworkElement,
  { name: string; key: 'pc3' | 'enroll' | 'keys' | 'radius'; port: number; protocol: 'TCP' | 'UDP' }[]
> = {
  kms: [
    { name: 'enroll', key: 'enroll', port: 7000, protocol: 'TCP' },
    { name: 'keys', key: 'keys', port: 7002, protocol: 'TCP' },
  ],
  'prose-function': [{ name: 'pc3', key: 'pc3', port: 7001, protocol: 'TCP' }],
  'group-manager': [{ name: 'pc3', key: 'pc3', port: 7003, protocol: 'TCP' }],
  // RFC 2865 3: the RADIUS authentication port.
  aaa: [{ name: 'radius', key: 'radius', port: 1812, protocol: 'UDP' }],
};
const portOf = (role: NetworkElement, name: string): number =>
  NE_PORTS[role].find((p) => p.name === name)!.port;

/** A UE pod starts its traffic phase this long after it is ready (NodeConfig.startTrafficAfterMs). */
export const UE_TRAFFIC_AFTER_MS = 5000;
/** The rendered ProSe configuration: one group of every UE, and the discovery group (addresses are PC5 topics with libp2p). */
export const K8S_GROUP = { groupId: 'team', multicastAddress: '239.215.0.2', port: 7101 } as const;
const K8S_DISCOVERY = { multicastAddress: '239.215.0.1', port: 7100 } as const;
/** Where a pod finds the CA certificate and (the KMS only) its key. */
const CA_DIR = '/etc/prosec-ca';
const CA_KEY_DIR = '/etc/prosec-ca-key';
/** The AAA's node configuration holds the RADIUS shared secret: it is a Secret, not in the ConfigMap. */
const AAA_CONFIG_DIR = '/etc/prosec-aaa';

function labels(component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': APP, 'app.kubernetes.io/component': component };
}

const scrapeAnnotations = {
  'prometheus.io/scrape': 'true',
  'prometheus.io/port': String(METRICS_PORT),
  'prometheus.io/path': '/metrics',
};

function nodeContainer(o: RenderOptions, role: string, idExpr: string): Record<string, unknown> {
  // Each pod runs one node standalone (`prosec node --config`): the config comes from the ConfigMap, the
  // id from the pod (a StatefulSet ordinal for UEs). The KMS gets the enrollment secret; every other node
  // only its own enrollment token (UE pods pick theirs by id from the mounted token Secret).
  const token = role === 'ue' ? `PROSEC_ENROLLMENT_TOKEN="$(cat /etc/prosec-tokens/${idExpr})" ` : '';
  const configFile = role === 'aaa' ? `${AAA_CONFIG_DIR}/aaa.json` : `/etc/prosec/${role}.json`;
  const libp2p = role === 'ue' && o.pc5 === 'libp2p';
  const secretEnv =
    role === 'kms'
      ? [
          {
            name: 'PROSEC_ENROLLMENT_SECRET',
            valueFrom: { secretKeyRef: { name: 'prosec-enrollment', key: 'secret' } },
          },
        ]
      : role === 'ue' || role === 'aaa'
        ? []
        : [
            {
              name: 'PROSEC_ENROLLMENT_TOKEN',
              valueFrom: { secretKeyRef: { name: 'prosec-enrollment-tokens', key: role } },
            },
          ];
  return {
    name: 'node',
    image: o.image,
    command: ['/bin/sh', '-c'],
    args: [
      `${libp2p ? libp2pBootstrapLine(o) : ''}${token}exec node /app/bin/prosec.js node --config ${configFile} --id "${idExpr}"`,
    ],
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ...(libp2p ? [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }] : []),
      ...secretEnv,
    ],
    ports: [
      { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
      ...(role === 'ue'
        ? []
        : NE_PORTS[role as NetworkElement].map((p) => ({
            name: p.name,
            containerPort: p.port,
            protocol: p.protocol,
          }))),
      ...(libp2p ? [{ name: 'pc5', containerPort: PC5_LIBP2P_PORT, protocol: 'TCP' }] : []),
    ],
    readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 10 },
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/prosec', readOnly: true },
      { name: 'ca', mountPath: CA_DIR, readOnly: true },
      ...(role === 'kms' ? [{ name: 'ca-key', mountPath: CA_KEY_DIR, readOnly: true }] : []),
      ...(role === 'aaa' ? [{ name: 'aaa-config', mountPath: AAA_CONFIG_DIR, readOnly: true }] : []),
      { name: 'run', mountPath: '/var/lib/prosec' },
      ...(role === 'ue' ? [{ name: 'tokens', mountPath: '/etc/prosec-tokens', readOnly: true }] : []),
    ],
  };
}

/** DNS name of UE pod `ue-<ordinal>` (ordinal: a shell expression or a number). */
function uePodName(o: RenderOptions, ordinal: string): string {
  return `ue-${ordinal}.${UE_SERVICE}.${o.namespace}.svc.${o.clusterDomain ?? 'cluster.local'}`;
}

/**
 * Start-line prefix of a UE pod (--pc5 libp2p): exports the /dns4 multiaddrs of every lower-ordinal UE pod, so
 * each pair of UEs is connected once (the orchestrator's plan, deploy/libp2p-plan.ts); the UE resolves the names
 * when it starts its medium, retrying while a pod is not published yet.
 */
function libp2pBootstrapLine(o: RenderOptions): string {
  return (
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a JS template.
    'o=${POD_NAME##*-}; i=0; b=; while [ "$i" -lt "$o" ]; do ' +
    `b="$b /dns4/${uePodName(o, '$i')}/tcp/${PC5_LIBP2P_PORT}"; i=$((i + 1)); done; ` +
    `export ${PC5_BOOTSTRAP_ENV}="$b"; `
  );
}

function podVolumes(role: string): unknown[] {
  return [
    { name: 'config', configMap: { name: 'prosec-node-config' } },
    { name: 'ca', secret: { secretName: 'prosec-ca' } },
    ...(role === 'kms' ? [{ name: 'ca-key', secret: { secretName: 'prosec-ca-key' } }] : []),
    ...(role === 'aaa' ? [{ name: 'aaa-config', secret: { secretName: 'prosec-aaa-config' } }] : []),
    { name: 'run', emptyDir: {} },
    ...(role === 'ue' ? [{ name: 'tokens', secret: { secretName: 'prosec-enrollment-tokens' } }] : []),
  ];
}

function podAnnotations(pc5: boolean): Record<string, string> {
  return {
    ...scrapeAnnotations,
    ...(pc5 ? { 'k8s.v1.cni.cncf.io/networks': PC5_NETWORK } : {}),
  };
}

/** Cluster DNS name of a network element's Service: `<role>.<namespace>.svc.<cluster domain>`. */
export function serviceHost(o: Pick<RenderOptions, 'namespace' | 'clusterDomain'>, role: string): string {
  return `${role}.${o.namespace}.svc.${o.clusterDomain ?? 'cluster.local'}`;
}

const ueIds = (o: RenderOptions): string[] => Array.from({ length: o.ues }, (_, i) => `ue-${i + 1}`);

/** A node's configuration (nodes/runtime/protocol.ts NodeConfig) and role configuration (the role's schema). */
function nodeConfig(
  o: RenderOptions,
  role: NetworkElement | 'ue',
  aaaSecret: string,
): Record<string, unknown> {
  const kms = { host: serviceHost(o, 'kms'), port: portOf('kms', 'enroll'), caCertFile: `${CA_DIR}/ca.pem` };
  return {
    v: 1,
    runId: 'k8s',
    role,
    id: role,
    runDir: '/var/lib/prosec',
    host: '0.0.0.0',
    metricsPort: METRICS_PORT,
    processMetrics: true,
    ...(role === 'kms' || role === 'aaa' ? {} : { kms }),
    ...(role === 'ue'
      ? {
          proseFunction: { host: serviceHost(o, 'prose-function'), port: portOf('prose-function', 'pc3') },
          startTrafficAfterMs: UE_TRAFFIC_AFTER_MS,
        }
      : { ports: Object.fromEntries(NE_PORTS[role].map((p) => [p.key, p.port])) }),
    roleConfig: roleConfig(o, role, aaaSecret),
  };
}

function roleConfig(
  o: RenderOptions,
  role: NetworkElement | 'ue',
  aaaSecret: string,
): Record<string, unknown> {
  const ues = ueIds(o);
  switch (role) {
    case 'kms':
      // nodes/roles/kms.ts: the CA from the Secrets; the group manager may fetch the group's identity keys.
      return {
        revoke: [],
        groupManagers: { [K8S_GROUP.groupId]: 'group-manager' },
        ca: { certFile: `${CA_DIR}/ca.pem`, keyFile: `${CA_KEY_DIR}/ca-key.pem` },
      };
    case 'prose-function':
      // nodes/roles/prose-function.ts: every UE subscribed, one group of all of them.
      return {
        subscribers: ues,
        groups: [{ ...K8S_GROUP, members: ues }],
        discovery: K8S_DISCOVERY,
        configValidityMs: 3_600_000,
      };
    case 'group-manager':
      // nodes/roles/group-manager.ts: the group's GMK (standard distribution, TR 33.833 sol. #3.1).
      return {
        kmsKeys: { host: serviceHost(o, 'kms'), port: portOf('kms', 'keys') },
        poolSize: 1,
        groups: [{ groupId: K8S_GROUP.groupId, members: ues, gmkPeriodMs: 3_600_000, removals: [] }],
      };
    case 'aaa':
      // nodes/roles/aaa.ts: no subscribers (no relay is rendered); the shared secret for relays added later.
      return { secret: aaaSecret, subscribers: [] };
    case 'ue':
      return {
        // The scenario defaults (deploy/scenario.ts); the traffic phase starts startTrafficAfterMs after ready.
        traffic: { groupRate: 2, payloadBytes: 200 },
        ...(o.pc5 === 'libp2p'
          ? {
              // nodes/roles/ue-pc5.ts: the libp2p medium on the pod IP (downward API), bootstrap multiaddrs from
              // the start line, retried for 2 min while pods come up.
              pc5: {
                medium: 'libp2p',
                listenHostEnv: 'POD_IP',
                listenPort: PC5_LIBP2P_PORT,
                allowNonLoopback: true,
                bootstrapEnv: PC5_BOOTSTRAP_ENV,
                bootstrapRetryMs: 120_000,
              },
            }
          : {
              // nodes/roles/ue-pc5.ts: PC5 multicast on the pod's Multus macvlan interface (the first secondary
              // network is net1), TTL 1.
              pc5: { medium: 'udp', interface: PC5_INTERFACE, allowNonLoopback: true },
            }),
      };
  }
}

/**
 * Node script of an init container: waits until every TCP endpoint accepts a connection (1 s between attempts,
 * 10 min at most, then exits 1 and Kubernetes restarts the init container). The node would otherwise fail its
 * enrollment or registration at once and be restarted with a growing back-off while the KMS starts.
 */
export function waitForScript(targets: readonly { host: string; port: number }[]): string {
  return [
    "const net = require('node:net');",
    `const targets = ${JSON.stringify(targets.map((t) => [t.host, t.port]))};`,
    'const end = Date.now() + 600000;',
    'const probe = ([h, p]) => new Promise((r) => { const s = net.connect(p, h); s.setTimeout(2000);',
    "  const f = (ok) => { s.destroy(); r(ok); }; s.on('connect', () => f(true)); s.on('error', () => f(false));",
    "  s.on('timeout', () => f(false)); });",
    '(async () => { for (const t of targets) { while (!(await probe(t))) {',
    "  if (Date.now() > end) { console.error('not reachable: ' + t.join(':')); process.exit(1); }",
    "  await new Promise((r) => setTimeout(r, 1000)); } console.log('reachable: ' + t.join(':')); } })();",
  ].join('\n');
}

/** Init container: waits for the KMS endpoints named (enroll, keys) and the ProSe Function (pc3). */
function waitFor(o: RenderOptions, what: ('enroll' | 'keys' | 'pc3')[]): Record<string, unknown> {
  const targets = what.map((w) =>
    w === 'pc3'
      ? { host: serviceHost(o, 'prose-function'), port: portOf('prose-function', 'pc3') }
      : { host: serviceHost(o, 'kms'), port: portOf('kms', w) },
  );
  return {
    name: 'wait-for-network',
    image: o.image,
    command: ['node', '-e', waitForScript(targets)],
    resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } },
  };
}

const configJson = (x: unknown): string => `${JSON.stringify(x, null, 2)}\n`;

/** Every object of a deployment, in apply order. */
export function renderManifests(o: RenderOptions): K8sObject[] {
  if (!(Number.isInteger(o.ues) && o.ues >= 0)) throw new Error(`--ues must be a whole number, got ${o.ues}`);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(o.namespace) || o.namespace.length > 63)
    throw new Error(`--namespace must be a DNS label, got '${o.namespace}'`);
  const pc5 = o.pc5 ?? 'multicast';
  if (!PC5_MODES.includes(pc5)) throw new Error(`--pc5 must be multicast or libp2p, got '${pc5}'`);
  const libp2p = pc5 === 'libp2p';
  if (libp2p && o.ues > LIBP2P_MAX_UES)
    throw new Error(`--pc5 libp2p connects every pair of UEs: at most ${LIBP2P_MAX_UES} UEs, got ${o.ues}`);
  if (
    o.clusterDomain !== undefined &&
    !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(o.clusterDomain)
  )
    throw new Error(`--cluster-domain must be a DNS name, got '${o.clusterDomain}'`);
  if (!o.ca?.certPem || !o.ca.keyPem) throw new Error('renderManifests needs the deployment CA (options.ca)');
  const ns = o.namespace;
  const secret = o.enrollmentSecret ?? randomBytes(32).toString('hex');
  const aaaSecret = randomBytes(16).toString('hex');
  const out: K8sObject[] = [];
  out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: labels('namespace') } });
  // The CA: its certificate for every pod (trust anchor for enrollment and PC3), its key for the KMS only.
  out.push({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'prosec-ca', namespace: ns, labels: labels('ca') },
    type: 'Opaque',
    stringData: { 'ca.pem': o.ca.certPem },
  });
  out.push({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'prosec-ca-key', namespace: ns, labels: labels('ca') },
    type: 'Opaque',
    stringData: { 'ca-key.pem': o.ca.keyPem },
  });
  out.push({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'prosec-enrollment', namespace: ns, labels: labels('enrollment') },
    type: 'Opaque',
    stringData: { secret },
  });
  // token = HMAC-SHA-256(secret, role || 0x00 || id), as the orchestrator hands each node (docs/pc3.md).
  const tokens: Record<string, string> = {};
  for (const role of NETWORK_ELEMENTS)
    if (role !== 'kms') tokens[role] = computeEnrollmentToken(secret, role, role);
  for (let i = 1; i <= o.ues; i++) tokens[`ue-${i}`] = computeEnrollmentToken(secret, 'ue', `ue-${i}`);
  out.push({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'prosec-enrollment-tokens', namespace: ns, labels: labels('enrollment') },
    type: 'Opaque',
    stringData: tokens,
  });
  const roles = ['kms', 'prose-function', 'group-manager', 'ue'] as const;
  out.push({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'prosec-node-config', namespace: ns, labels: labels('config') },
    data: Object.fromEntries(roles.map((r) => [`${r}.json`, configJson(nodeConfig(o, r, aaaSecret))])),
  });
  out.push({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'prosec-aaa-config', namespace: ns, labels: labels('config') },
    type: 'Opaque',
    stringData: { 'aaa.json': configJson(nodeConfig(o, 'aaa', aaaSecret)) },
  });
  if (!libp2p)
    out.push({
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name: PC5_NETWORK, namespace: ns, labels: labels('pc5') },
      spec: {
        config: JSON.stringify({
          cniVersion: '0.3.1',
          type: 'macvlan',
          master: o.macvlanMaster,
          mode: 'bridge',
          ipam: { type: 'whereabouts', range: '10.215.0.0/16' },
        }),
      },
    });
  for (const role of NETWORK_ELEMENTS) {
    const l = labels(role);
    out.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: role, namespace: ns, labels: l },
      spec: {
        replicas: 1,
        selector: { matchLabels: l },
        template: {
          metadata: { labels: l, annotations: podAnnotations(false) },
          spec: {
            ...(role === 'prose-function' || role === 'group-manager'
              ? { initContainers: [waitFor(o, role === 'group-manager' ? ['enroll', 'keys'] : ['enroll'])] }
              : {}),
            containers: [nodeContainer(o, role, role)],
            volumes: podVolumes(role),
          },
        },
      },
    });
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: role, namespace: ns, labels: l, annotations: scrapeAnnotations },
      spec: {
        selector: l,
        ports: [
          { name: 'metrics', port: METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' },
          // Service port = targetPort = the port the node binds (NodeConfig.ports).
          ...NE_PORTS[role].map((p) => ({
            name: p.name,
            port: p.port,
            targetPort: p.port,
            protocol: p.protocol,
          })),
        ],
      },
    });
  }
  const ue = labels('ue');
  out.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: UE_SERVICE, namespace: ns, labels: ue, annotations: scrapeAnnotations },
    spec: {
      clusterIP: 'None',
      selector: ue,
      ports: [
        { name: 'metrics', port: METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' },
        ...(libp2p ? [{ name: 'pc5', port: PC5_LIBP2P_PORT, targetPort: 'pc5', protocol: 'TCP' }] : []),
      ],
      // libp2p: a pod's DNS name exists from when it has an IP, not only once ready (its peers dial it while
      // it is still starting).
      ...(libp2p ? { publishNotReadyAddresses: true } : {}),
    },
  });
  out.push({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'ue', namespace: ns, labels: ue },
    spec: {
      serviceName: UE_SERVICE,
      replicas: o.ues,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: ue },
      template: {
        metadata: { labels: ue, annotations: podAnnotations(!libp2p) },
        spec: {
          initContainers: [waitFor(o, ['enroll', 'pc3'])],
          containers: [nodeContainer(o, 'ue', UE_ID_FROM_ORDINAL)],
          volumes: podVolumes('ue'),
        },
      },
    },
  });
  if (libp2p)
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'ue-pc5', namespace: ns, labels: labels('pc5') },
      spec: {
        // Only UE pods reach a UE's PC5 port (the "radio"); metrics stay open to the scraper.
        podSelector: { matchLabels: ue },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ podSelector: { matchLabels: ue } }],
            ports: [{ port: PC5_LIBP2P_PORT, protocol: 'TCP' }],
          },
          { ports: [{ port: METRICS_PORT, protocol: 'TCP' }] },
        ],
      },
    });
  out.push({
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: APP, namespace: ns, labels: labels('monitoring') },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': APP } },
      namespaceSelector: { matchNames: [ns] },
      endpoints: [{ port: 'metrics', path: '/metrics', interval: '5s' }],
    },
  });
  for (const file of readdirSync(o.dashboardsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    out.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `grafana-dashboard-${file.replace(/\.json$/, '')}`,
        namespace: ns,
        labels: { ...labels('dashboard'), grafana_dashboard: '1' },
      },
      data: { [file]: readFileSync(join(o.dashboardsDir, file), 'utf8') },
    });
  }
  return out;
}

/** Multi-document YAML, `kubectl apply -f -` ready. */
export function toYaml(objects: K8sObject[]): string {
  return objects.map((x) => stringify(x, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}
