// `prosec k8s render` short of a cluster: every pod of a 2-UE render (KMS, ProSe Function, group manager, AAA, and
// the UE StatefulSet's ue-0, ue-1) runs as a real process from the rendered objects, as a kubelet would run it:
// its init container first, then the container's own start line (`sh -c`, the rendered args), with its env from the
// rendered Secrets and the downward API, its volumes written from the rendered ConfigMap/Secrets. Service and pod
// DNS names (kms.prosec.svc.cluster.local, ue-0.ue.prosec.svc.cluster.local, ...) resolve through a hosts file
// bind-mounted over /etc/hosts in each process's own mount namespace (`unshare -m`), to loopback "pod IPs".
// Substituted, because the "pods" share one host: mount paths -> temporary folders, /app -> the repository, the
// bind address 0.0.0.0 -> the pod's own loopback address (pods have their own network namespace; here they do
// not, and every pod binds metrics 9464), and the UE's PC5 interface net1 (Multus) -> lo. The UEs must enroll, register, and hear each other's group frames.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, type TestContext, test } from 'node:test';
import { type K8sObject, type Pc5Mode, renderManifests } from '../../deploy/k8s/render.js';
import { createTestbedCa } from '../../transport/pc3/pki.js';
import { prepareLoopbackMulticast } from '../../transport/pc5/netenv.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';

type EnvVar = {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
};
type Container = {
  name: string;
  command: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string }[];
};
type PodSpec = {
  initContainers?: Container[];
  containers: Container[];
  volumes: {
    name: string;
    configMap?: { name: string };
    secret?: { secretName: string };
    emptyDir?: object;
  }[];
};

const running = new Set<ChildProcess>();
const cleanups: (() => void)[] = [];
after(async () => {
  await stopAll();
  for (const c of cleanups.splice(0)) c();
});

/** SIGTERM every process this test started (by PID), SIGKILL after 5 s. */
async function stopAll(): Promise<void> {
  const procs = [...running];
  for (const p of procs) p.kill('SIGTERM');
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((res) => {
          if (p.exitCode !== null || p.signalCode !== null) return res();
          const t = setTimeout(() => p.kill('SIGKILL'), 5000);
          p.once('exit', () => {
            clearTimeout(t);
            res();
          });
        }),
    ),
  );
}

function canRun(): string | undefined {
  if (process.geteuid?.() !== 0) return 'needs root (a private mount namespace per process for /etc/hosts)';
  try {
    execFileSync('unshare', ['-m', '--propagation', 'private', 'true'], { stdio: 'ignore' });
  } catch (e) {
    return `unshare -m failed: ${(e as Error).message}`;
  }
  return undefined;
}

interface Pod {
  name: string;
  ip: string;
  spec: PodSpec;
}

/** Runs the rendered deployment's pods on loopback; returns each pod's IP. */
async function runPods(t: TestContext, pc5: Pc5Mode): Promise<Map<string, string>> {
  const ns = 'prosec';
  const objects = renderManifests({
    ca: await createTestbedCa({ name: 'k8s local pods test CA' }),
    ues: 2,
    namespace: ns,
    image: 'prosec:test',
    macvlanMaster: 'eth0',
    pc5,
    dashboardsDir: join(REPO_ROOT, 'dashboards', 'json'),
  });
  const find = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name) as K8sObject;
  const podSpec = (kind: string, name: string) =>
    (find(kind, name) as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
  // A random 127.A.B.0/24 of "pod IPs", so parallel test runs on the host do not collide.
  const net = `127.${randomInt(100, 200)}.${randomInt(1, 250)}`;
  const pods: Pod[] = [
    { name: 'kms', ip: `${net}.1`, spec: podSpec('Deployment', 'kms') },
    { name: 'prose-function', ip: `${net}.2`, spec: podSpec('Deployment', 'prose-function') },
    { name: 'group-manager', ip: `${net}.3`, spec: podSpec('Deployment', 'group-manager') },
    { name: 'aaa', ip: `${net}.4`, spec: podSpec('Deployment', 'aaa') },
    { name: 'ue-0', ip: `${net}.10`, spec: podSpec('StatefulSet', 'ue') },
    { name: 'ue-1', ip: `${net}.11`, spec: podSpec('StatefulSet', 'ue') },
  ];
  const root = mkdtempSync(join(tmpdir(), `prosec-k8s-${pc5}-`));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  // Cluster DNS: each Service name -> its pod, each UE pod's headless-Service name -> the pod.
  const domain = `${ns}.svc.cluster.local`;
  const hosts = join(root, 'hosts');
  writeFileSync(
    hosts,
    [
      '127.0.0.1 localhost',
      ...pods.map((p) =>
        p.name.startsWith('ue-') ? `${p.ip} ${p.name}.ue.${domain}` : `${p.ip} ${p.name}.${domain}`,
      ),
      '',
    ].join('\n'),
  );
  const secretData = (name: string) => find('Secret', name).stringData as Record<string, string>;
  const t0 = performance.now();
  const wallT0 = Date.now();

  /** Starts one container of a pod; resolves with its process. */
  const startContainer = (pod: Pod, c: Container, mounts: Map<string, string>): ChildProcess => {
    const env: Record<string, string> = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.secretKeyRef)
        env[e.name] = secretData(e.valueFrom.secretKeyRef.name)[e.valueFrom.secretKeyRef.key]!;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = pod.name;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'status.podIP') env[e.name] = pod.ip;
      else assert.fail(`${pod.name}: env ${e.name} has an unknown source`);
    }
    const argv = [...c.command, ...(c.args ?? [])].map((a) => localPaths(a, mounts));
    const log = openSync(join(root, `${pod.name}.${c.name}.log`), 'a');
    const p = spawn(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount --bind "$0" /etc/hosts && exec "$@"',
        hosts,
        ...argv,
      ],
      { env, stdio: ['ignore', log, log] },
    );
    running.add(p);
    p.once('exit', () => running.delete(p));
    return p;
  };

  /** A kubelet, in short: volumes, the init containers in order (each must exit 0), then the container. */
  const startPod = async (pod: Pod): Promise<void> => {
    const dir = join(root, pod.name);
    const mounts = new Map<string, string>();
    const volumeDir = new Map<string, string>();
    for (const v of pod.spec.volumes) {
      const vd = join(dir, 'volumes', v.name);
      mkdirSync(vd, { recursive: true });
      volumeDir.set(v.name, vd);
      const files = v.configMap
        ? (find('ConfigMap', v.configMap.name).data as Record<string, string>)
        : v.secret
          ? secretData(v.secret.secretName)
          : {};
      for (const [f, text] of Object.entries(files)) writeFileSync(join(vd, f), text);
    }
    for (const m of pod.spec.containers[0]!.volumeMounts ?? [])
      mounts.set(m.mountPath, volumeDir.get(m.name)!);
    // Node configs name mount paths (CA, run folder) and bind 0.0.0.0: point them at this pod's folders and IP.
    for (const vd of volumeDir.values())
      for (const f of ['kms.json', 'prose-function.json', 'group-manager.json', 'aaa.json', 'ue.json']) {
        const file = join(vd, f);
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          continue;
        }
        writeFileSync(
          file,
          localPaths(text, mounts)
            .replace('"host": "0.0.0.0"', `"host": "${pod.ip}"`)
            // --pc5 multicast: the Multus interface net1 is lo here (PC5 multicast stays on loopback).
            .replace('"interface": "net1"', '"interface": "lo"'),
        );
      }
    for (const init of pod.spec.initContainers ?? []) {
      const p = startContainer(pod, init, mounts);
      const code = await new Promise<number | null>((r) => p.once('exit', r));
      assert.equal(code, 0, `${pod.name}: init container ${init.name} exited ${code}`);
    }
    const main = startContainer(pod, pod.spec.containers[0]!, mounts);
    main.once('exit', (code, signal) => {
      failures.push(`${pod.name} exited (${code ?? signal}): ${tail(pod)}`);
    });
  };
  const tail = (pod: Pod) => {
    try {
      return readFileSync(join(root, `${pod.name}.node.log`), 'utf8')
        .split('\n')
        .slice(-4)
        .join(' | ');
    } catch {
      return '';
    }
  };
  const failures: string[] = [];
  // podManagementPolicy Parallel, every Deployment at once: the UE pods and the ProSe Function start first and
  // their init containers wait for the KMS, which starts last.
  const uesAndPf = pods.filter((p) => p.name !== 'kms').map((p) => startPod(p));
  await new Promise((r) => setTimeout(r, 500));
  const kmsStarted = startPod(pods[0]!);
  await Promise.all([kmsStarted, ...uesAndPf]);
  const http = async (pod: Pod, path: string) => {
    try {
      const r = await fetch(`http://${pod.ip}:9464${path}`, { signal: AbortSignal.timeout(2000) });
      return r.ok ? await r.json().catch(() => ({})) : undefined;
    } catch {
      return undefined;
    }
  };
  type Status = { details: Record<string, unknown>; provisioned?: boolean };
  await waitFor(
    'every pod ready',
    async () => {
      assert.deepEqual(failures, []);
      return (
        (await Promise.all(pods.map((p) => http(p, '/readyz')))).every((x) => x !== undefined) || undefined
      );
    },
    40_000,
  );
  const readyMs = performance.now() - t0;
  // Each UE hears the other's group frames (traffic starts startTrafficAfterMs after ready, on its own).
  const ues = pods.filter((p) => p.name.startsWith('ue-'));
  const statuses = await waitFor(
    'both UEs hearing each other',
    async () => {
      assert.deepEqual(failures, []);
      const s = (await Promise.all(ues.map((p) => http(p, '/status')))) as (Status | undefined)[];
      return s.every((x) => (x?.details.peersHeard as Record<string, number> | undefined)?.team === 1)
        ? (s as Status[])
        : undefined;
    },
    20_000,
  );
  t.diagnostic(
    `--pc5 ${pc5}: all 6 pods ready ${readyMs.toFixed(0)} ms after the first pod started; UEs heard each other at ${(performance.now() - t0).toFixed(0)} ms`,
  );
  // When each pod's node was ready (its 'ready' log line), from the first pod's start; the node's own start-up time.
  const readyAt = pods.map((p) => {
    const line = readFileSync(join(root, `${p.name}.node.log`), 'utf8')
      .split('\n')
      .find((l) => l.includes('"msg":"ready"'));
    const r = JSON.parse(line ?? '{}') as { time?: string; startupMs?: number };
    return `${p.name} ${r.time ? Date.parse(r.time) - wallT0 : '?'} ms (own ${r.startupMs ?? '?'} ms)`;
  });
  t.diagnostic(`ready at: ${readyAt.join(', ')}`);
  for (const s of statuses) {
    assert.equal(s.provisioned, true);
    assert.equal(s.details.pc5Medium, pc5 === 'libp2p' ? 'libp2p' : 'udp');
  }
  const kms = (await http(pods[0]!, '/status')) as Status;
  assert.deepEqual(kms.details.enrolledByRole, { 'prose-function': 1, 'group-manager': 1, ue: 2 });
  // The group manager got the group's identity keys from the KMS key service (Service port `keys`).
  assert.equal(kms.details.bundlesIssued, 1);
  const pf = (await http(pods[1]!, '/status')) as Status;
  assert.equal(pf.details.registered, 2);
  const gm = (await http(pods[2]!, '/status')) as Status;
  assert.equal((gm.details.groups as { team: { members: number } }).team.members, 2);
  return new Map(pods.map((p) => [p.name, p.ip]));
}

/** Rewrites the rendered mount paths (whole path segments only) to this pod's folders, and /app to the repository. */
function localPaths(s: string, mounts: Map<string, string>): string {
  let out = s.replaceAll('/app/bin/prosec.js', join(REPO_ROOT, 'bin', 'prosec.js'));
  for (const [path, dir] of [...mounts].sort((a, b) => b[0].length - a[0].length))
    out = out.replace(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=[/"\\s]|$)`, 'g'), dir);
  return out;
}

for (const pc5 of ['multicast', 'libp2p'] as const)
  test(`--pc5 ${pc5}: the rendered pods run on loopback; UEs enroll, register and hear each other by Service names`, async (t) => {
    const why = canRun();
    if (why) {
      t.skip(why);
      return;
    }
    // --pc5 multicast: the UDP medium (PC5 multicast on loopback here; on the macvlan network in a cluster).
    if (pc5 === 'multicast') await prepareLoopbackMulticast();
    try {
      await runPods(t, pc5);
    } finally {
      await stopAll();
    }
  });
