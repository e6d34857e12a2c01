// `prosec k8s render`: prints the Kubernetes manifests of a testbed (docs/k8s.md).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createTestbedCa } from '../../transport/pc3/pki.js';
import { type Pc5Mode, renderManifests, toYaml } from './render.js';

export const K8S_USAGE = `  prosec k8s render [--ues N] [--namespace NS] [--image IMAGE] [--pc5 multicast|libp2p]
                    [--macvlan-master IFACE] [--cluster-domain DOMAIN]
      Prints the Kubernetes manifests (multi-document YAML for kubectl apply -f -); see docs/k8s.md.
      Every render makes a fresh enrollment secret and CA (30 days), both in the output: keep it private.`;

/** Repository root, from deploy/k8s/ in the sources or dist/deploy/k8s/ when built. */
function repoRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return here.includes('/dist/') ? join(here, '..', '..', '..') : join(here, '..', '..');
}

export async function k8sCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'render') {
    console.error(`prosec k8s: unknown subcommand '${sub ?? ''}'\nusage:\n${K8S_USAGE}`);
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      ues: { type: 'string', default: '10' },
      namespace: { type: 'string', default: 'prosec' },
      image: { type: 'string', default: 'prosec:0.1.0' },
      'macvlan-master': { type: 'string', default: 'eth0' },
      pc5: { type: 'string', default: 'multicast' },
      'cluster-domain': { type: 'string', default: 'cluster.local' },
    },
  });
  try {
    const ca = await createTestbedCa({ name: 'prosec k8s CA' });
    const objects = renderManifests({
      ca,
      ues: Number(values.ues),
      namespace: values.namespace,
      image: values.image,
      macvlanMaster: values['macvlan-master'],
      pc5: values.pc5 as Pc5Mode,
      clusterDomain: values['cluster-domain'],
      dashboardsDir: join(repoRoot(), 'dashboards', 'json'),
    });
    process.stdout.write(toYaml(objects));
    return 0;
  } catch (e) {
    console.error(`prosec k8s render: ${(e as Error).message}`);
    return 2;
  }
}
