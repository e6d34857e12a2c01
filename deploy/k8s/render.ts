// Kubernetes manifests for a prosec testbed (docs/k8s.md): network elements as Deployments with Services,
// UEs as a StatefulSet, the enrollment secret as a Secret, Prometheus scrape annotations and a ServiceMonitor,
// the Grafana dashboards as ConfigMaps, and PC5 either over IP multicast on a Multus macvlan secondary network
// (--pc5 multicast) or over libp2p on the pod network (--pc5 libp2p: UE pods by headless-Service DNS name).
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { computeEnrollmentToken } from '../../transport/pc3/enrollment.js';
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
  /** Cluster DNS domain of the UE pods' names (libp2p bootstrap), default cluster.local. */
  clusterDomain?: string;
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
  const libp2p = role === 'ue' && o.pc5 === 'libp2p';
  const secretEnv =
    role === 'kms'
      ? [
          {
            name: 'PROSEC_ENROLLMENT_SECRET',
            valueFrom: { secretKeyRef: { name: 'prosec-enrollment', key: 'secret' } },
          },
        ]
      : role === 'ue'
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
      `${libp2p ? libp2pBootstrapLine(o) : ''}${token}exec node /app/bin/prosec.js node --config /etc/prosec/${role}.json --id "${idExpr}"`,
    ],
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ...(libp2p ? [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }] : []),
      ...secretEnv,
    ],
    ports: [
      { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
      ...(libp2p ? [{ name: 'pc5', containerPort: PC5_LIBP2P_PORT, protocol: 'TCP' }] : []),
    ],
    readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 10 },
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/prosec', readOnly: true },
      { name: 'ca', mountPath: '/etc/prosec-ca', readOnly: true },
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

function podVolumes(ue: boolean): unknown[] {
  return [
    { name: 'config', configMap: { name: 'prosec-node-config' } },
    { name: 'ca', secret: { secretName: 'prosec-ca', optional: true } },
    { name: 'run', emptyDir: {} },
    ...(ue ? [{ name: 'tokens', secret: { secretName: 'prosec-enrollment-tokens' } }] : []),
  ];
}

function podAnnotations(pc5: boolean): Record<string, string> {
  return {
    ...scrapeAnnotations,
    ...(pc5 ? { 'k8s.v1.cni.cncf.io/networks': PC5_NETWORK } : {}),
  };
}

function nodeConfig(o: RenderOptions, role: string): Record<string, unknown> {
  return {
    v: 1,
    runId: 'k8s',
    role,
    id: role,
    runDir: '/var/lib/prosec',
    host: '0.0.0.0',
    metricsPort: METRICS_PORT,
    processMetrics: true,
    ...(role === 'kms'
      ? {}
      : { kms: { host: `kms.${o.namespace}.svc`, port: 7000, caCertFile: '/etc/prosec-ca/ca.pem' } }),
    ...(role === 'ue' ? { proseFunction: { host: `prose-function.${o.namespace}.svc`, port: 7001 } } : {}),
    ...(role === 'ue' && o.pc5 === 'libp2p' ? { roleConfig: ueLibp2pRoleConfig() } : {}),
  };
}

/**
 * UE role configuration with --pc5 libp2p (nodes/roles/ue.ts, ue-pc5.ts): the libp2p medium on the pod IP
 * (downward API), bootstrap multiaddrs from the start line, retried for 2 min while pods come up.
 */
function ueLibp2pRoleConfig(): Record<string, unknown> {
  return {
    // The scenario defaults (deploy/scenario.ts); traffic starts on an orchestrator command, which pods lack.
    traffic: { groupRate: 2, payloadBytes: 200 },
    pc5: {
      medium: 'libp2p',
      listenHostEnv: 'POD_IP',
      listenPort: PC5_LIBP2P_PORT,
      allowNonLoopback: true,
      bootstrapEnv: PC5_BOOTSTRAP_ENV,
      bootstrapRetryMs: 120_000,
    },
  };
}

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
  const ns = o.namespace;
  const secret = o.enrollmentSecret ?? randomBytes(32).toString('hex');
  const out: K8sObject[] = [];
  out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: labels('namespace') } });
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
  const roles = [...NETWORK_ELEMENTS, 'ue'];
  out.push({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'prosec-node-config', namespace: ns, labels: labels('config') },
    data: Object.fromEntries(
      roles.map((r) => [`${r}.json`, `${JSON.stringify(nodeConfig(o, r), null, 2)}\n`]),
    ),
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
          spec: { containers: [nodeContainer(o, role, role)], volumes: podVolumes(false) },
        },
      },
    });
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: role, namespace: ns, labels: l, annotations: scrapeAnnotations },
      spec: {
        selector: l,
        ports: [{ name: 'metrics', port: METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' }],
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
        spec: { containers: [nodeContainer(o, 'ue', UE_ID_FROM_ORDINAL)], volumes: podVolumes(true) },
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
