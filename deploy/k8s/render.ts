// Kubernetes manifests for a prosec testbed (docs/k8s.md): network elements as Deployments with Services,
// UEs as a StatefulSet, the enrollment secret as a Secret, Prometheus scrape annotations and a ServiceMonitor,
// the Grafana dashboards as ConfigMaps, and a Multus macvlan NetworkAttachmentDefinition.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { computeEnrollmentToken } from '../../transport/pc3/enrollment.js';

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
}

export type K8sObject = { apiVersion: string; kind: string; metadata: Record<string, unknown> } & Record<
  string,
  unknown
>;

/** Port of every node's /metrics, /healthz, /readyz endpoint in the cluster (NodeConfig.metricsPort). */
export const METRICS_PORT = 9464;
const APP = 'prosec';
const PC5_NETWORK = 'prosec-pc5';

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
    args: [`${token}exec node /app/bin/prosec.js node --config /etc/prosec/${role}.json --id "${idExpr}"`],
    env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, ...secretEnv],
    ports: [{ name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' }],
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
  };
}

/** Every object of a deployment, in apply order. */
export function renderManifests(o: RenderOptions): K8sObject[] {
  if (!(Number.isInteger(o.ues) && o.ues >= 0)) throw new Error(`--ues must be a whole number, got ${o.ues}`);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(o.namespace) || o.namespace.length > 63)
    throw new Error(`--namespace must be a DNS label, got '${o.namespace}'`);
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
    metadata: { name: 'ue', namespace: ns, labels: ue, annotations: scrapeAnnotations },
    spec: {
      clusterIP: 'None',
      selector: ue,
      ports: [{ name: 'metrics', port: METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' }],
    },
  });
  out.push({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'ue', namespace: ns, labels: ue },
    spec: {
      serviceName: 'ue',
      replicas: o.ues,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: ue },
      template: {
        metadata: { labels: ue, annotations: podAnnotations(true) },
        spec: { containers: [nodeContainer(o, 'ue', UE_ID_FROM_ORDINAL)], volumes: podVolumes(true) },
      },
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
