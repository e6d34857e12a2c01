// The orchestrator: brings a scenario up as one OS process per node, runs it, summarises it, tears it down.
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { NodeConfig, NodeStatus, RoleName } from '../nodes/runtime/protocol.js';
import { computeEnrollmentToken } from '../transport/pc3/enrollment.js';
import { prepareLoopbackMulticast } from '../transport/pc5/netenv.js';
import {
  type DirectLinkSummary,
  directLinkProblems,
  formatDirectLinks,
  freeUdpPort,
  type MitmPlan,
  planDirectLinks,
  planMitm,
  summariseDirectLinks,
} from './direct-links.js';
import {
  type DiscoverySummary,
  formatDiscovery,
  planDiscovery,
  summariseDiscovery,
} from './discovery-plan.js';
import {
  formatGroupSecurity,
  type GroupSecuritySummary,
  kmsGroupManagers,
  planAdhocPorts,
  planGroupSecurity,
  rogueGroupManagerVictims,
  summariseGroupSecurity,
  ueGroupConfig,
} from './groups-plan.js';
import { planLibp2pPeers } from './libp2p-plan.js';
import { NetnsNetwork } from './netns.js';
import {
  discoveryReach,
  formatNetns,
  linkFor,
  type NetnsSummary,
  summariseProximity,
  ueProximityConfig,
} from './netns-plan.js';
import { NodeProcess } from './node-process.js';
import { type NodeHandle, PackPlanner } from './pack.js';
import { type Sample, scrape, sumBy, sumOf } from './prom-text.js';
import { PrometheusServer, publishTargets, SCRAPE_INTERVAL_S, unpublishTargets } from './prometheus.js';
import { formatRelaySummary, planRelay, type RelaySummary, summariseRelay } from './relay-plan.js';
import { groupMembers, type Scenario, ueIds } from './scenario.js';

export interface UpOptions {
  scenario: Scenario;
  scenarioFile: string;
  /** Folder under which the run folder is created (default ./runs). */
  runsDir?: string;
  /** Progress lines go here (default stderr). */
  progress?: (line: string) => void;
  /** Hook for tests: called once every node is ready, with the node processes. */
  onReady?: (nodes: NodeHandle[]) => void;
  /** Packed mode: up to this many UEs per OS process (deploy/pack.ts); absent: one process per node. */
  pack?: number;
  /** Start a real Prometheus (deploy/prometheus.ts) scraping every node of the run; stopped with the run. */
  prometheus?: boolean;
  /** After the summary is collected, keep the nodes (and Prometheus) up until the run is aborted (Ctrl-C, prosec down). */
  hold?: boolean;
  /** Hook (prosec bench): called after collection, before teardown, while every node and Prometheus still run. */
  onCollected?: (run: Run, window: { trafficStart: number; trafficEnd: number }) => Promise<void>;
  /** Network-namespace mode (deploy/netns.ts, docs/netns.md): one namespace per node on one bridge. */
  netns?: boolean;
}

export interface NodeFailure {
  id: string;
  role: RoleName;
  pid: number;
  code: number | null;
  signal: string | null;
  phase: string;
  lastLines: string[];
}

export interface RoleSummary {
  role: RoleName;
  processes: number;
  up: number;
  provisioned: number;
  errors: number;
  pc5FramesSent: number;
  pc5FramesReceived: number;
  pc5FramesDropped: number;
  rssMiB: { min: number; median: number; max: number };
}

export interface RunSummary {
  runId: string;
  runDir: string;
  scenario: string;
  ok: boolean;
  problems: string[];
  startedAt: string;
  startupSeconds: number;
  trafficSeconds: number;
  roles: RoleSummary[];
  groups: { id: string; members: number; minPeersHeard: number; expectedPeers: number }[];
  registrations: Record<string, number>;
  pc5DroppedByReason: Record<string, number>;
  failures: NodeFailure[];
  /** The run's Prometheus, when started with --prometheus. */
  prometheus?: { url: string; pid: number; dataDir: string };
  /** UE-to-network relay section (scenario field `relay`). */
  relay?: RelaySummary;
  /** PC5 one-to-one direct links (scenario directLinks), when the scenario has them. */
  directLinks?: DirectLinkSummary;
  /** One-to-many group security (scenario groupSecurity), when the scenario has it. */
  groupSecurity?: GroupSecuritySummary;
  /** ProSe discovery (scenario discovery), when the scenario has it. */
  discovery?: DiscoverySummary;
  /** Network-namespace mode: namespaces, link impairments, proximity windows (docs/netns.md). */
  netns?: NetnsSummary;
  /** UEs by the PC5 medium that carried their frames (UE status pc5Medium): e.g. { libp2p: 4 }. */
  pc5Media?: Record<string, number>;
  /** Evidence of the adversary's attack modules (scenario adversary), by attack id. */
  adversary?: Record<string, Record<string, number>>;
  /** UEs' re-registrations during the traffic phase (scenario traffic.reRegisterEvery): served or not, latency. */
  reRegistrations?: {
    ues: number;
    attempts: number;
    ok: number;
    failed: number;
    p50Ms: number;
    maxMs: number;
  };
  /**
   * The rogue configuration server's victim (scenario adversary.rogueConfigServer, key issue #1.1): its
   * re-registrations at the rogue, refused for the server certificate's role or accepted and the configuration applied.
   */
  rogueConfig?: { ue: string; attempts: number; rogueConfigRefused: number; rogueConfigApplied: number };
  /** The ProSe Function's registration DoS throttle (key issue #2.5): admitted and refused, by stage. */
  registrationThrottle?: {
    requestsAdmitted: number;
    requestsRefused: number;
    connectionsAdmitted: number;
    connectionsRefused: number;
  };
  /** ProSe Function group keys (sol. #3.5): issued, rotations, issued to a non-member (threat-matrix control only). */
  groupKeys?: { issued: number; rotations: number; issuedToNonMembers: number };
  nodes: {
    id: string;
    role: RoleName;
    pid: number;
    metricsPort: number;
    startupMs: number;
    rssBytes: number;
  }[];
}

/** Node id in the rogue group manager's certificate (threat matrix `gmk-forgery`). */
const ROGUE_GROUP_MANAGER_ID = 'rogue-group-manager';

/** Interrupts a run (Ctrl-C, prosec down): the run tears down and resolves with what it had. */
export class RunAborted extends Error {}

export class Run {
  readonly runId: string;
  readonly runDir: string;
  private readonly nodes: NodeHandle[] = [];
  private packer: PackPlanner | undefined;
  private readonly failures: NodeFailure[] = [];
  private phase = 'starting';
  private tearingDown = false;
  private abortReason: string | undefined;
  private abortWake: (() => void) | undefined;
  private readonly progress: (line: string) => void;
  private readonly enrollmentSecret = randomBytes(32).toString('hex');
  /** The run's Prometheus server (UpOptions.prometheus). */
  prometheusServer: PrometheusServer | undefined;
  private directLinkPairs = 0;
  /** Scenario adversary.mitmDirectLink: the adversary's relay between the first direct link pair. */
  private mitm: MitmPlan | undefined;
  private discoveryRevokedAtMs: number | undefined;
  /** The run's namespaces and bridge (UpOptions.netns). */
  netns: NetnsNetwork | undefined;

  constructor(private readonly opts: UpOptions) {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
    this.runId = `${stamp}-${randomBytes(2).toString('hex')}`;
    this.runDir = resolve(opts.runsDir ?? 'runs', this.runId);
    mkdirSync(join(this.runDir, 'logs'), { recursive: true });
    mkdirSync(join(this.runDir, 'prometheus'), { recursive: true });
    this.progress = opts.progress ?? ((l) => process.stderr.write(`${l}\n`));
  }

  /** Stops the run early (signal handler, prosec down). */
  abort(reason: string): void {
    this.abortReason ??= reason;
    this.abortWake?.();
  }

  private checkAbort(): void {
    if (this.abortReason) throw new RunAborted(this.abortReason);
  }

  private writeState(state: string): void {
    const data = {
      runId: this.runId,
      state,
      orchestratorPid: process.pid,
      scenario: this.opts.scenarioFile,
      ...(this.netns ? { netns: this.netns.describe() } : {}),
      prometheus: this.prometheusServer
        ? { pid: this.prometheusServer.pid, url: this.prometheusServer.url }
        : undefined,
      nodes: this.nodes.map((n) => ({
        id: n.id,
        role: n.role,
        pid: n.pid,
        metricsPort: n.metricsPort,
        endpoints: n.endpoints,
        ...(this.netns ? { address: this.addr(n.id) } : {}),
      })),
    };
    writeFileSync(join(this.runDir, 'run.json'), `${JSON.stringify(data, null, 2)}\n`);
  }

  private spawn(
    config: Omit<NodeConfig, 'v' | 'runId' | 'runDir' | 'host' | 'metricsPort' | 'processMetrics'>,
  ): NodeHandle {
    const full: NodeConfig = {
      v: 1,
      runId: this.runId,
      runDir: this.runDir,
      host: this.addr(config.id),
      metricsPort: 0,
      processMetrics: this.opts.scenario.metrics.processMetrics,
      ...config,
      ...(this.netns ? { netns: { address: this.addr(config.id) } } : {}),
    };
    if (this.netns && config.role === 'ue') {
      const ues = this.netnsUes.map((id) => ({ id, address: this.addr(id) }));
      const proximity = ueProximityConfig(this.opts.scenario.netns, config.id, ues, !this.netns.netem);
      full.roleConfig = { ...(config.roleConfig as object), proximity };
    }
    const secretEnv: Record<string, string> =
      config.role === 'kms'
        ? { PROSEC_ENROLLMENT_SECRET: this.enrollmentSecret }
        : { PROSEC_ENROLLMENT_TOKEN: computeEnrollmentToken(this.enrollmentSecret, config.role, config.id) };
    // The adversary's rogue group manager (scenario adversary.rogueGroupManager) and rogue configuration server
    // (adversary.rogueConfigServer): a group-manager certificate.
    const rc = config.roleConfig as { rogueGroupManager?: unknown; rogueConfigServer?: unknown } | undefined;
    if (config.role === 'adversary' && (rc?.rogueGroupManager || rc?.rogueConfigServer))
      secretEnv.PROSEC_ROGUE_GM_TOKEN = computeEnrollmentToken(
        this.enrollmentSecret,
        'group-manager',
        ROGUE_GROUP_MANAGER_ID,
      );
    // The adversary's insider (scenario adversary.insider): the compromised UE's own enrollment token.
    const insider = (config.roleConfig as { insider?: { ueId: string } } | undefined)?.insider?.ueId;
    if (config.role === 'adversary' && insider)
      secretEnv.PROSEC_INSIDER_TOKEN = computeEnrollmentToken(this.enrollmentSecret, 'ue', insider);
    if (config.role === 'ue' && this.opts.pack) {
      this.packer ??= new PackPlanner(this.opts.pack, join(this.runDir, 'logs'), full.processMetrics, (p) =>
        this.onExit(p),
      );
      const packed = this.packer.place(full, secretEnv.PROSEC_ENROLLMENT_TOKEN!);
      this.nodes.push(packed);
      return packed;
    }
    const n = new NodeProcess(
      full,
      join(this.runDir, 'logs'),
      secretEnv,
      (p) => this.onExit(p),
      this.netns?.launcher(config.id),
    );
    this.nodes.push(n);
    return n;
  }

  private netnsPorts: NetnsSummary['ports'];
  /** UE ids with a namespace (netns mode). */
  private netnsUes: string[] = [];

  /** Address a node listens on and is reached at: its bridge address in netns mode, else loopback. */
  addr(id: string): string {
    return this.netns ? this.netns.address(id) : '127.0.0.1';
  }

  private onExit(n: NodeHandle): void {
    if (this.tearingDown) return;
    const f: NodeFailure = {
      id: n.id,
      role: n.role,
      pid: n.pid,
      code: n.exited?.code ?? null,
      signal: n.exited?.signal ?? null,
      phase: this.phase,
      lastLines: n.lastLines,
    };
    this.failures.push(f);
    this.progress(
      `!! node ${n.id} (${n.role}, pid ${n.pid}) died during ${this.phase}: ${f.signal ?? `exit code ${f.code}`}${n.fatal ? ` — ${n.fatal}` : ''}`,
    );
    for (const l of f.lastLines.slice(-8)) this.progress(`   | ${l}`);
    if (this.opts.scenario.onNodeFailure === 'abort' || (n.role !== 'ue' && n.role !== 'remote-ue'))
      this.abort(`node ${n.id} died`);
  }

  /** Runs the whole scenario and always tears everything down before resolving. */
  async execute(): Promise<RunSummary> {
    const s = this.opts.scenario;
    const startedAt = new Date().toISOString();
    const t0 = performance.now();
    let startupSeconds = 0;
    let trafficSeconds = 0;
    const problems: string[] = [];
    let statuses: NodeStatus[] = [];
    let samples = new Map<string, Sample[]>();
    try {
      this.writeState('starting');
      const { subscribed, unsubscribed } = ueIds(s);
      const members = groupMembers(s);
      const groupPlan = planGroupSecurity(s, members);
      this.phase = 'network preparation';
      const prep = await prepareLoopbackMulticast();
      for (const c of prep.changed)
        this.progress(`network: ran \`${c}\` so that PC5 multicast stays on loopback`);
      if (this.opts.netns) {
        this.phase = 'network namespaces';
        this.netns = await NetnsNetwork.create(this.runId.slice(-4), (id) => linkFor(s.netns, id));
        this.netnsUes = [...subscribed, ...unsubscribed];
        await this.netns.addNodes([
          'kms',
          'prose-function',
          ...(groupPlan?.groupManager ? ['group-manager'] : []),
          ...this.netnsUes,
        ]);
        this.progress(
          `netns: ${this.netns.namespaces().length} namespaces on bridge ${this.netns.bridgeNamespace} (${this.netns.subnet}) in ${Math.round(this.netns.setupMs)} ms; link impairments by ${this.netns.impairment}`,
        );
        this.writeState('starting');
      }
      const net = await allocateMulticast(s.groups.length + 1);
      await this.netns?.pinGroups(this.netnsUes, net.addresses);
      if (this.opts.prometheus) {
        this.phase = 'start-up of Prometheus';
        this.prometheusServer = await PrometheusServer.start({
          dir: join(this.runDir, 'prometheus'),
          targetsFile: join(this.runDir, 'prometheus', 'targets.json'),
        });
        this.writeState('starting');
        this.progress(
          `prometheus: ${this.prometheusServer.url} (pid ${this.prometheusServer.pid}, scraping every ${SCRAPE_INTERVAL_S} s, data ${this.prometheusServer.dataDir})`,
        );
      }

      this.phase = 'start-up of the KMS';
      const kms = this.spawn({
        role: 'kms',
        id: 'kms',
        roleConfig: {
          revoke: s.directLinks?.revoke ?? [],
          groupManagers: kmsGroupManagers(groupPlan, 'group-manager'),
        },
      });
      await kms.waitReady(s.readyTimeout);
      this.checkAbort();
      const kmsEndpoint = {
        host: this.addr('kms'),
        port: kms.endpoints.enrollment!,
        caCertFile: join(this.runDir, 'ca.pem'),
      };

      const discoveryPlan = planDiscovery(s);
      this.phase = 'start-up of the ProSe Function';
      const pf = this.spawn({
        role: 'prose-function',
        id: 'prose-function',
        kms: kmsEndpoint,
        roleConfig: {
          subscribers: subscribed,
          groups: s.groups.map((g, i) => ({
            groupId: g.id,
            multicastAddress: net.addresses[i + 1]!,
            port: net.ports[i + 1]!,
            members: members.get(g.id)!,
          })),
          discovery: { multicastAddress: net.addresses[0]!, port: net.ports[0]! },
          configValidityMs: s.configValidity,
          ...(groupPlan?.pfGroupKeys ? { groupKeys: groupPlan.pfGroupKeys } : {}),
          ...(discoveryPlan ? { discoveryPolicy: discoveryPlan.policy } : {}),
          // INSECURE threat-matrix control (key issue #2.5): no registration DoS throttle.
          ...(s.discovery?.insecure.noRegistrationThrottle ? { throttle: false } : {}),
        },
      });
      await pf.waitReady(s.readyTimeout);
      this.checkAbort();
      const kmsKeysEndpoint = { host: this.addr('kms'), port: kms.endpoints.keys! };
      let groupManager: NodeHandle | undefined;
      if (groupPlan?.groupManager) {
        this.phase = 'start-up of the group manager';
        groupManager = this.spawn({
          role: 'group-manager',
          id: 'group-manager',
          kms: kmsEndpoint,
          roleConfig: { ...groupPlan.groupManager, kmsKeys: kmsKeysEndpoint },
        });
        await groupManager.waitReady(s.readyTimeout);
        this.checkAbort();
      }
      const gmEndpoint = groupManager
        ? { host: this.addr('group-manager'), port: groupManager.endpoints.pc3! }
        : undefined;
      let keyServer: NodeHandle | undefined;
      if (groupPlan?.keyServer) {
        this.phase = 'start-up of the key server';
        keyServer = this.spawn({
          role: 'key-server',
          id: 'key-server',
          kms: kmsEndpoint,
          roleConfig: groupPlan.keyServer,
        });
        await keyServer.waitReady(s.readyTimeout);
        this.checkAbort();
      }
      const ksEndpoint = keyServer
        ? { host: this.addr('key-server'), port: keyServer.endpoints.pc3! }
        : undefined;

      this.phase = 'start-up of the UEs';
      const ueList = [...subscribed, ...unsubscribed];
      const directLinks = await planDirectLinks(s, subscribed, {
        host: '127.0.0.1',
        port: kms.endpoints.keys!,
      });
      this.directLinkPairs = directLinks.size / 2;
      this.mitm = await planMitm(s, directLinks);
      await planAdhocPorts(groupPlan, new Set(directLinks.keys()), freeUdpPort);
      const libp2pPeers =
        s.pc5.medium === 'libp2p'
          ? await planLibp2pPeers(
              subscribed,
              unsubscribed,
              new Map([...directLinks].map(([id, d]) => [id, d.unicastPort])),
            )
          : undefined;
      const ues: NodeHandle[] = [];
      /** UE -> groups whose manager it is told is the adversary (scenario adversary.rogueGroupManager). */
      const rogueManagerOf = new Map<string, Map<string, { host: string; port: number }>>();
      /** Where the rogue configuration server's victim re-registers (scenario adversary.rogueConfigServer). */
      let rogueConfigTo: { host: string; port: number } | undefined;
      if (s.adversary) {
        this.phase = 'start-up of the adversary';
        // It hears every PC5 group of the run (discovery and one-to-many) and holds none of their keys. It starts
        // before the UEs so that it can serve as a rogue group manager (scenario adversary.rogueGroupManager).
        const insider = s.adversary.insider;
        const rogue = s.adversary.rogueGroupManager;
        const rcsVictim = s.adversary.rogueConfigServer;
        const adversary = this.spawn({
          role: 'adversary',
          id: 'adversary',
          ...(insider || rcsVictim ? { kms: kmsEndpoint } : {}),
          ...(insider ? { proseFunction: { host: '127.0.0.1', port: pf.endpoints.pc3! } } : {}),
          roleConfig: {
            ...(insider
              ? {
                  insider: {
                    ueId: insider,
                    // The ProSe Function-keyed (pc3) groups the insider UE is not a member of.
                    targetGroups: (s.groupSecurity?.groups ?? [])
                      .filter((g) => g.solution === 'pc3' && !members.get(g.group)?.includes(insider))
                      .map((g) => g.group),
                  },
                }
              : {}),
            ...(rogue
              ? {
                  rogueGroupManager: { groupId: rogue, nodeId: ROGUE_GROUP_MANAGER_ID },
                  kmsKeys: { host: this.addr('kms'), port: kms.endpoints.keys! },
                }
              : {}),
            ...(rcsVictim
              ? {
                  rogueConfigServer: {
                    ueId: rcsVictim,
                    groupIds: [...members].filter(([, ids]) => ids.includes(rcsVictim)).map(([g]) => g),
                    nodeId: ROGUE_GROUP_MANAGER_ID,
                  },
                }
              : {}),
            attacks: s.adversary.attacks,
            groups: net.addresses.map((address, i) => ({ address, port: net.ports[i]! })),
            unicastPorts: [...directLinks.values()].map((d) => d.unicastPort),
            ...(this.mitm ? { mitm: this.mitm } : {}),
            captureSeconds: Math.ceil((s.readyTimeout + s.duration) / 1000) + 60,
          },
        });
        ues.push(adversary);
        await adversary.waitReady(s.readyTimeout).catch(() => undefined);
        this.checkAbort();
        // The members (but the insider) of the rogue's group are told the group's manager is the adversary.
        if (rogue && adversary.endpoints.pc3)
          for (const victim of rogueGroupManagerVictims(s, members).get(rogue) ?? [])
            rogueManagerOf.set(
              victim,
              new Map([[rogue, { host: this.addr('adversary'), port: adversary.endpoints.pc3 }]]),
            );
        // The rogue configuration server's victim re-registers at the adversary's PC3 endpoint.
        if (rcsVictim && adversary.endpoints.pc3)
          rogueConfigTo = { host: this.addr('adversary'), port: adversary.endpoints.pc3 };
        this.phase = 'start-up of the UEs';
      }
      const inFlight = new Set<Promise<void>>();
      let readyCount = 0;
      const report = throttle((msg: string) => this.progress(msg), 1000);
      for (const id of ueList) {
        this.checkAbort();
        const ue = this.spawn({
          role: 'ue',
          id,
          kms: kmsEndpoint,
          proseFunction: { host: this.addr('prose-function'), port: pf.endpoints.pc3! },
          roleConfig: {
            // The adversary's insider does not re-register: the attacker holds (and floods with) its identity.
            traffic:
              id === s.adversary?.insider
                ? { ...s.traffic, reRegisterEvery: undefined }
                : id === s.adversary?.rogueConfigServer
                  ? // The victim sends group test frames, so that a configuration it applies shows in its traffic.
                    { ...s.traffic, groupRate: Math.max(s.traffic.groupRate, 5) }
                  : s.traffic,
            ...(id === s.adversary?.rogueConfigServer && rogueConfigTo
              ? {
                  reRegisterTo: rogueConfigTo,
                  ...(s.adversary?.insecure?.acceptAnyConfigServer
                    ? { insecure: { acceptAnyConfigServer: true } }
                    : {}),
                }
              : {}),
            expectRejection: unsubscribed.includes(id),
            ...(directLinks.has(id) ? { directLink: directLinks.get(id) } : {}),
            ...(groupPlan?.ues.has(id)
              ? {
                  groupSecurity: ueGroupConfig(
                    groupPlan,
                    id,
                    kmsKeysEndpoint,
                    gmEndpoint,
                    ksEndpoint,
                    rogueManagerOf.get(id),
                  ),
                }
              : {}),
            ...(discoveryPlan?.ues.has(id) ? { discovery: discoveryPlan.ues.get(id) } : {}),
            ...(libp2pPeers?.has(id) ? { pc5: libp2pPeers.get(id) } : {}),
          },
        });
        ues.push(ue);
        const p: Promise<void> = ue.waitReady(s.readyTimeout).then(
          () => {
            readyCount++;
            report(`  UEs ready ${readyCount}/${ueList.length}`);
            if (this.prometheusServer && readyCount % 10 === 0)
              writeTargets(this.runDir, this.runId, this.nodes, (id) => this.addr(id));
          },
          () => undefined,
        );
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        // Bound the spawn storm: a handful of node start-ups in flight per core.
        while (inFlight.size >= 8) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      this.checkAbort();
      // UE-to-network relay part: the AAA, then the network sink, then the relays, then the remote UEs.
      const relayPlan = planRelay(s);
      if (relayPlan && s.relay) {
        this.phase = 'start-up of the AAA and the network';
        const aaa = this.spawn({
          role: 'aaa',
          id: 'aaa',
          roleConfig: {
            secret: relayPlan.secret,
            networkName: s.relay.networkName,
            requestIdentity: s.relay.requestIdentity,
            subscribers: relayPlan.subscribers,
          },
        });
        const network = this.spawn({ role: 'network', id: 'network' });
        await Promise.all([aaa.waitReady(s.readyTimeout), network.waitReady(s.readyTimeout)]);
        this.checkAbort();
        this.phase = 'start-up of the relays';
        const relayDiscovery = {
          address: net.addresses[0]!.replace(/\.\d+$/, '.250'),
          port: await freeUdpPort(),
        };
        const relayNodes = relayPlan.relays.map((r, i) =>
          this.spawn({
            role: 'relay',
            id: r.id,
            roleConfig: {
              // relay-1 is rogue (scenario relay.rogue, threat-matrix row rogue-relay).
              ...(i === 0 && s.relay?.rogue ? { rogue: s.relay.rogue } : {}),
              aaa: { host: '127.0.0.1', port: aaa.endpoints.radius! },
              secret: relayPlan.secret,
              network: { host: '127.0.0.1', port: network.endpoints.userPlane! },
              discovery: relayDiscovery,
              rsc: r.rsc,
            },
          }),
        );
        await Promise.all(relayNodes.map((r) => r.waitReady(s.readyTimeout)));
        this.checkAbort();
        this.phase = 'start-up of the remote UEs';
        for (const ru of relayPlan.remoteUes) {
          this.checkAbort();
          const node = this.spawn({
            role: 'remote-ue',
            id: ru.id,
            roleConfig: { ...ru.roleConfig, discovery: relayDiscovery },
          });
          ues.push(node);
          const p: Promise<void> = node.waitReady(s.readyTimeout).then(
            () => undefined,
            () => undefined,
          );
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p));
          while (inFlight.size >= 8) await Promise.race(inFlight);
        }
        await Promise.all(inFlight);
        this.checkAbort();
      }
      const notReady = ues.filter((u) => !u.ready);
      for (const u of notReady) problems.push(`${u.id} never became ready`);
      startupSeconds = (performance.now() - t0) / 1000;
      this.writeState('running');
      writeTargets(this.runDir, this.runId, this.nodes, (id) => this.addr(id));
      if (this.prometheusServer) {
        // Prometheus applies target changes at most every 5 s: let it scrape every node before traffic starts.
        const n = this.nodes.filter((x) => x.ready).length;
        if (!(await this.prometheusServer.waitScraped(n, 20_000, `run="${this.runId}"`)))
          this.progress(
            `prometheus: not every node was scraped after 20 s (see ${this.prometheusServer.logFile})`,
          );
      }
      this.progress(
        `all nodes up: ${this.nodes.filter((n) => n.ready).length}/${this.nodes.length} in ${startupSeconds.toFixed(1)} s (run ${this.runId})`,
      );
      this.opts.onReady?.(this.nodes);

      this.phase = 'traffic';
      const tTraffic = performance.now();
      const trafficStart = Date.now() / 1000;
      for (const u of ues) u.send({ t: 'command', name: 'start-traffic' });
      for (const n of this.nodes.filter((x) => x.role === 'group-manager'))
        n.send({ t: 'command', name: 'start-traffic' });
      const revoke = discoveryPlan?.revoke;
      const revokeTimer = revoke
        ? setTimeout(() => {
            this.discoveryRevokedAtMs = Date.now();
            pf.send({ t: 'command', name: revoke.command as `discovery-revoke ${string}` });
          }, revoke.atMs)
        : undefined;
      await this.sleepUnlessAborted(s.duration, (left) =>
        report(`  traffic phase: ${Math.ceil(left / 1000)} s left`),
      );
      clearTimeout(revokeTimer);
      for (const u of ues) u.send({ t: 'command', name: 'stop-traffic' });
      await this.sleepUnlessAborted(500);
      trafficSeconds = (performance.now() - tTraffic) / 1000;
      const trafficEnd = Date.now() / 1000;
      this.checkAbort();
      if (this.prometheusServer) {
        // Let Prometheus take its last scrapes of the final counter values before anything stops.
        await this.sleepUnlessAborted(2000 * SCRAPE_INTERVAL_S + 500);
        this.checkAbort();
      }

      this.phase = 'collection';
      [statuses, samples] = await Promise.all([
        Promise.all(this.nodes.map((n) => n.status())),
        this.scrapeAll(),
      ]);
      this.netnsPorts = await this.netns?.portStats();
      await this.opts.onCollected?.(this, { trafficStart, trafficEnd });
      if (this.opts.hold) {
        this.phase = 'hold';
        this.progress(
          `holding the run${this.prometheusServer ? ` and Prometheus (${this.prometheusServer.url})` : ''} until Ctrl-C or \`prosec down\``,
        );
        await this.sleepUnlessAborted(7 * 24 * 3600 * 1000);
      }
    } catch (e) {
      if (e instanceof RunAborted) problems.push(`run aborted: ${e.message}`);
      else problems.push(`run failed during ${this.phase}: ${(e as Error).message}`);
      if (statuses.length === 0) {
        statuses = await Promise.all(this.nodes.map((n) => n.status(1000)));
        samples = await this.scrapeAll();
      }
    } finally {
      await this.teardown();
    }
    const summary = this.summarise({
      startedAt,
      startupSeconds,
      trafficSeconds,
      problems,
      statuses,
      samples,
    });
    writeFileSync(join(this.runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    this.writeState(summary.ok ? 'finished' : 'failed');
    return summary;
  }

  private async sleepUnlessAborted(ms: number, tick?: (leftMs: number) => void): Promise<void> {
    const end = Date.now() + ms;
    while (!this.abortReason && Date.now() < end) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(1000, end - Date.now()));
        this.abortWake = () => {
          clearTimeout(t);
          r();
        };
      });
      tick?.(end - Date.now());
    }
  }

  private async scrapeAll(): Promise<Map<string, Sample[]>> {
    const out = new Map<string, Sample[]>();
    await Promise.all(
      this.nodes
        .filter((n) => n.ready && !n.exited)
        // Packed mode: the UEs of one pack host share its endpoint; scrape it once.
        .filter(
          (n, i, all) =>
            all.findIndex((m) => m.metricsPort === n.metricsPort && this.addr(m.id) === this.addr(n.id)) ===
            i,
        )
        .map(async (n) => {
          try {
            out.set(n.id, await scrape(`http://${this.addr(n.id)}:${n.metricsPort}/metrics`));
          } catch {
            /* a node that cannot be scraped shows as zeros */
          }
        }),
    );
    return out;
  }

  /** Stops every node: UEs first, then the network elements; SIGKILL after a grace period. */
  async teardown(): Promise<void> {
    this.tearingDown = true;
    this.phase = 'teardown';
    const order: RoleName[] = [
      'adversary',
      'remote-ue',
      'relay',
      'ue',
      'group-manager',
      'key-server',
      'prose-function',
      'network',
      'aaa',
      'kms',
    ];
    for (const role of order) {
      await Promise.all(this.nodes.filter((n) => n.role === role).map((n) => n.stop(5000)));
    }
    await Promise.all(this.nodes.map((n) => n.stop(1000)));
    unpublishTargets(dirname(this.runDir), this.runId);
    await this.prometheusServer?.stop();
    await this.netns?.destroy();
  }

  /** Second Ctrl-C: deletes the run's namespaces at once (after the nodes were SIGKILLed). */
  destroyNetnsNow(): void {
    this.netns?.destroySync();
  }

  private summariseNetns(statuses: NodeStatus[], trafficSeconds: number): NetnsSummary {
    const s = this.opts.scenario;
    const nn = this.netns!;
    // Who sends to a channel each UE listens on: its group peers (with group traffic) and the discovery announcers.
    const senders = new Map<string, string[]>();
    const members = groupMembers(s);
    const announcers =
      s.discovery && (s.discovery.restricted || s.discovery.open) ? s.discovery.users.map((u) => u.ue) : [];
    for (const ue of this.netnsUes) {
      const peers = new Set<string>(announcers);
      if (s.traffic.groupRate > 0)
        for (const ids of members.values()) if (ids.includes(ue)) for (const p of ids) peers.add(p);
      peers.delete(ue);
      senders.set(ue, [...peers].sort());
    }
    const { proximity, problems } = summariseProximity(s.netns, statuses, trafficSeconds * 1000, senders);
    return {
      subnet: nn.subnet,
      bridgeNamespace: nn.bridgeNamespace,
      namespaces: nn.namespaces().length,
      setupMs: Math.round(nn.setupMs),
      ...(nn.teardownMs !== undefined ? { teardownMs: nn.teardownMs } : {}),
      impairment: nn.impairment,
      links: Object.fromEntries(nn.describe().nodes.map((n) => [n.id, linkFor(s.netns, n.id)])),
      ...(this.netnsPorts ? { ports: this.netnsPorts } : {}),
      ...(proximity ? { proximity } : {}),
      problems,
    };
  }

  /** PIDs of every node process the run started (for tests and prosec down). */
  get pids(): number[] {
    return this.nodes.map((n) => n.pid);
  }

  private summarise(a: {
    startedAt: string;
    startupSeconds: number;
    trafficSeconds: number;
    problems: string[];
    statuses: NodeStatus[];
    samples: Map<string, Sample[]>;
  }): RunSummary {
    const s = this.opts.scenario;
    const byId = new Map(a.statuses.map((st) => [st.id, st]));
    const roles: RoleSummary[] = [];
    const failed = new Set(this.failures.map((f) => f.id));
    for (const role of [
      'kms',
      'prose-function',
      'ue',
      'aaa',
      'network',
      'relay',
      'remote-ue',
      'group-manager',
      'key-server',
    ] as RoleName[]) {
      const ns = this.nodes.filter((n) => n.role === role);
      if (ns.length === 0) continue;
      const rss = ns.map((n) => byId.get(n.id)?.rssBytes ?? 0).filter((x) => x > 0);
      const metric = (name: string) => ns.reduce((acc, n) => acc + sumOf(a.samples.get(n.id) ?? [], name), 0);
      roles.push({
        role,
        processes: ns.length,
        up: ns.filter((n) => n.ready && !failed.has(n.id)).length,
        provisioned: ns.filter((n) => byId.get(n.id)?.provisioned).length,
        errors: ns.reduce((acc, n) => acc + (byId.get(n.id)?.errors ?? 0), 0),
        pc5FramesSent: metric('prosec_pc5_frames_sent_total'),
        pc5FramesReceived: metric('prosec_pc5_frames_received_total'),
        pc5FramesDropped: metric('prosec_pc5_frames_dropped_total') + metric('prosec_udp_socket_drops_total'),
        rssMiB: mib(rss),
      });
    }
    const pfSamples = a.samples.get('prose-function') ?? [];
    const registrations = sumBy(pfSamples, 'prosec_registrations_total', 'result');
    const pc5DroppedByReason: Record<string, number> = {};
    for (const [, ss] of a.samples) {
      for (const [k, v] of Object.entries(sumBy(ss, 'prosec_pc5_frames_dropped_total', 'reason'))) {
        pc5DroppedByReason[k] = (pc5DroppedByReason[k] ?? 0) + v;
      }
      const kernel = sumOf(ss, 'prosec_udp_socket_drops_total');
      if (kernel > 0)
        pc5DroppedByReason.socket_buffer_full = (pc5DroppedByReason.socket_buffer_full ?? 0) + kernel;
    }
    const problems = [...a.problems];
    const members = groupMembers(s);
    const groups = s.groups.map((g) => {
      const ids = members.get(g.id)!.filter((id) => !failed.has(id));
      const heard = ids.map((id) => {
        const d = byId.get(id)?.details as { peersHeard?: Record<string, number> } | undefined;
        return d?.peersHeard?.[g.id] ?? 0;
      });
      return {
        id: g.id,
        members: ids.length,
        minPeersHeard: heard.length ? Math.min(...heard) : 0,
        expectedPeers: Math.max(0, ids.length - 1),
      };
    });
    const { subscribed, unsubscribed } = ueIds(s);
    const ueSummary = roles.find((r) => r.role === 'ue');
    const liveSubscribed = subscribed.filter((id) => !failed.has(id));
    const provisionedSubscribed = liveSubscribed.filter((id) => byId.get(id)?.provisioned).length;
    if (provisionedSubscribed < liveSubscribed.length) {
      problems.push(`${liveSubscribed.length - provisionedSubscribed} subscribed UEs were not provisioned`);
    }
    const wronglyAccepted = unsubscribed.filter((id) => byId.get(id)?.provisioned);
    if (wronglyAccepted.length)
      problems.push(`unsubscribed UEs were accepted: ${wronglyAccepted.join(', ')}`);
    // With the proximity model, reach follows the geometry: the netns section checks it per time window instead.
    if (a.trafficSeconds > 0 && s.traffic.groupRate > 0 && !(this.netns && s.netns?.proximity)) {
      for (const g of groups) {
        if (g.minPeersHeard < g.expectedPeers) {
          problems.push(
            `group ${g.id}: some member heard only ${g.minPeersHeard} of ${g.expectedPeers} peers`,
          );
        }
      }
    }
    const relay = summariseRelay(s, a.statuses, a.trafficSeconds > 0);
    if (relay) problems.push(...relay.problems);
    const directLinks = summariseDirectLinks(
      s,
      a.statuses,
      a.trafficSeconds,
      this.directLinkPairs,
      this.mitm,
    );
    if (a.trafficSeconds > 0) problems.push(...directLinkProblems(directLinks));
    const groupSecurity = summariseGroupSecurity(s, a.statuses, groupMembers(s));
    if (groupSecurity && a.trafficSeconds > 0) problems.push(...groupSecurity.problems);
    const reach =
      this.netns && s.discovery
        ? discoveryReach(
            s.netns,
            a.trafficSeconds * 1000,
            2 * Math.max(s.discovery.announceEvery, s.discovery.slot) + 1000,
          )
        : undefined;
    const discovery = summariseDiscovery(
      s,
      a.statuses,
      this.discoveryRevokedAtMs,
      a.trafficSeconds > 0,
      reach,
    );
    const netns = this.netns ? this.summariseNetns(a.statuses, a.trafficSeconds) : undefined;
    if (netns && a.trafficSeconds > 0) problems.push(...netns.problems);
    if (discovery) problems.push(...discovery.problems);
    for (const f of this.failures) problems.push(`node ${f.id} died during ${f.phase}`);
    if (ueSummary && ueSummary.errors > 0) problems.push(`UEs reported ${ueSummary.errors} errors`);
    return {
      runId: this.runId,
      runDir: this.runDir,
      scenario: s.name,
      ok: problems.length === 0,
      problems,
      startedAt: a.startedAt,
      startupSeconds: round(a.startupSeconds),
      trafficSeconds: round(a.trafficSeconds),
      roles,
      groups,
      registrations,
      pc5DroppedByReason,
      failures: this.failures,
      prometheus: this.prometheusServer
        ? {
            url: this.prometheusServer.url,
            pid: this.prometheusServer.pid,
            dataDir: this.prometheusServer.dataDir,
          }
        : undefined,
      ...(relay ? { relay: relay.summary } : {}),
      ...(directLinks ? { directLinks } : {}),
      ...(groupSecurity ? { groupSecurity: groupSecurity.summary } : {}),
      ...(() => {
        const adv = a.statuses.find((x) => x.role === 'adversary')?.details as
          | { adversary?: Record<string, Record<string, number>> }
          | undefined;
        return adv?.adversary ? { adversary: adv.adversary } : {};
      })(),
      ...(() => {
        const pf = a.statuses.find((x) => x.role === 'prose-function')?.details as
          | { groupKeys?: RunSummary['groupKeys'] }
          | undefined;
        return pf?.groupKeys && s.groupSecurity?.groups.some((g) => g.solution === 'pc3')
          ? { groupKeys: pf.groupKeys }
          : {};
      })(),
      ...reRegistrationSummary(a.statuses, s.adversary?.rogueConfigServer),
      ...(() => {
        const pf = a.statuses.find((x) => x.role === 'prose-function')?.details as
          | { throttle?: RunSummary['registrationThrottle'] }
          | undefined;
        return pf?.throttle ? { registrationThrottle: pf.throttle } : {};
      })(),
      ...(discovery ? { discovery } : {}),
      ...(netns ? { netns } : {}),
      pc5Media: countBy(a.statuses, (st) =>
        st.role === 'ue' ? (st.details as { pc5Medium?: string } | undefined)?.pc5Medium : undefined,
      ),
      nodes: this.nodes.map((n) => ({
        id: n.id,
        role: n.role,
        pid: n.pid,
        metricsPort: n.metricsPort,
        startupMs: n.startupMs,
        rssBytes: byId.get(n.id)?.rssBytes ?? 0,
      })),
    };
  }
}

/** The UEs' re-registrations during the traffic phase (scenario traffic.reRegisterEvery), summed. */
function reRegistrationSummary(
  statuses: NodeStatus[],
  /** The rogue configuration server's victim: its re-registrations go to the adversary and are reported apart. */
  rogueVictim?: string,
): Pick<RunSummary, 'reRegistrations' | 'rogueConfig'> {
  type ReReg = {
    attempts: number;
    ok: number;
    failed: number;
    serverRefused?: number;
    configsApplied?: number;
    latenciesMs: number[];
  };
  const of = (st: NodeStatus) => (st.details as { reRegistrations?: ReReg } | undefined)?.reRegistrations;
  const victim = rogueVictim ? statuses.find((st) => st.id === rogueVictim) : undefined;
  const v = victim && of(victim);
  const rogueConfig = rogueVictim
    ? {
        rogueConfig: {
          ue: rogueVictim,
          attempts: v?.attempts ?? 0,
          rogueConfigRefused: v?.serverRefused ?? 0,
          rogueConfigApplied: v?.configsApplied ?? 0,
        },
      }
    : {};
  const rs = statuses
    .filter((st) => st.id !== rogueVictim)
    .map(of)
    .filter((r) => r !== undefined);
  if (rs.length === 0) return rogueConfig;
  const lat = rs.flatMap((r) => r.latenciesMs).sort((x, y) => x - y);
  return {
    ...rogueConfig,
    reRegistrations: {
      ues: rs.length,
      attempts: rs.reduce((n, r) => n + r.attempts, 0),
      ok: rs.reduce((n, r) => n + r.ok, 0),
      failed: rs.reduce((n, r) => n + r.failed, 0),
      p50Ms: lat.length ? lat[lat.length >> 1]! : 0,
      maxMs: lat.length ? lat[lat.length - 1]! : 0,
    },
  };
}

/** Picks multicast groups for the run: addresses in 239.0.0.0/8 (routed to lo only) and free UDP ports. */
async function allocateMulticast(n: number): Promise<{ addresses: string[]; ports: number[] }> {
  const a = randomInt(100, 200);
  const b = randomInt(0, 256);
  const addresses = Array.from({ length: n }, (_, i) => `239.${a}.${b}.${i + 1}`);
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freeUdpPort());
  return { addresses, ports };
}

/** Prometheus file_sd target list of the run (one entry per node). */
function writeTargets(
  runDir: string,
  runId: string,
  nodes: NodeHandle[],
  addr: (id: string) => string = () => '127.0.0.1',
): void {
  const targets = nodes
    .filter((n) => n.ready)
    .filter(
      (n, i, all) => all.findIndex((m) => m.metricsPort === n.metricsPort && addr(m.id) === addr(n.id)) === i,
    )
    .map((n) => ({
      targets: [`${addr(n.id)}:${n.metricsPort}`],
      labels: { job: 'prosec', role: n.role, run: runId },
    }));
  writeFileSync(join(runDir, 'prometheus', 'targets.json'), `${JSON.stringify(targets, null, 2)}\n`);
  // Also listed under <runs>/live-targets/ while the run lives, for a long-running Prometheus (deploy/compose).
  publishTargets(dirname(runDir), runId, `${JSON.stringify(targets, null, 2)}\n`);
}

function countBy<T>(xs: T[], key: (x: T) => string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) {
    const k = key(x);
    if (k !== undefined) out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

function mib(xs: number[]): { min: number; median: number; max: number } {
  if (xs.length === 0) return { min: 0, median: 0, max: 0 };
  const s = [...xs].sort((p, q) => p - q);
  const m = (v: number) => round(v / 1048576);
  return { min: m(s[0]!), median: m(s[s.length >> 1]!), max: m(s[s.length - 1]!) };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function throttle(fn: (msg: string) => void, ms: number): (msg: string) => void {
  let last = 0;
  return (msg) => {
    const now = Date.now();
    if (now - last >= ms) {
      last = now;
      fn(msg);
    }
  };
}

/** Renders the run summary as a table for the terminal. */
export function formatSummary(s: RunSummary): string {
  const lines: string[] = [];
  lines.push(`run ${s.runId}  scenario ${s.scenario}  ${s.ok ? 'OK' : 'FAILED'}`);
  lines.push(`start-up ${s.startupSeconds} s, traffic ${s.trafficSeconds} s`);
  const head = [
    'role',
    'processes',
    'up',
    'provisioned',
    'errors',
    'PC5 sent',
    'PC5 received',
    'PC5 dropped',
    'RSS MiB (median)',
  ];
  const rows = s.roles.map((r) => [
    r.role,
    r.processes,
    r.up,
    r.role === 'ue' ? r.provisioned : '-',
    r.errors,
    r.pc5FramesSent,
    r.pc5FramesReceived,
    r.pc5FramesDropped,
    r.rssMiB.median,
  ]);
  lines.push(...table(head, rows));
  if (s.groups.length) {
    lines.push('');
    lines.push(
      ...table(
        ['group', 'members', 'peers heard (min per member)', 'expected'],
        s.groups.map((g) => [g.id, g.members, g.minPeersHeard, g.expectedPeers]),
      ),
    );
  }
  const reg = Object.entries(s.registrations)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  if (reg) lines.push(`registrations: ${reg}`);
  const drops = Object.entries(s.pc5DroppedByReason).filter(([, v]) => v > 0);
  if (drops.length) lines.push(`PC5 dropped by reason: ${drops.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const media = Object.entries(s.pc5Media ?? {});
  if (media.length) lines.push(`PC5 medium of the UEs: ${media.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (s.relay) lines.push(...formatRelaySummary(s.relay));
  lines.push(...formatDirectLinks(s.directLinks));
  lines.push(...formatGroupSecurity(s.groupSecurity));
  lines.push(...formatDiscovery(s.discovery));
  lines.push(...formatNetns(s.netns));
  for (const f of s.failures) {
    lines.push(
      `node ${f.id} (${f.role}, pid ${f.pid}) died during ${f.phase}: ${f.signal ?? `exit code ${f.code}`}`,
    );
    for (const l of f.lastLines.slice(-5)) lines.push(`   | ${l}`);
  }
  for (const p of s.problems) lines.push(`problem: ${p}`);
  lines.push(
    `summary: ${join(s.runDir, 'summary.json')}  targets: ${join(s.runDir, 'prometheus', 'targets.json')}`,
  );
  return lines.join('\n');
}

function table(head: string[], rows: (string | number)[][]): string[] {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '),
  );
}
