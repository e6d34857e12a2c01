// Network-namespace mode, the plumbing (docs/netns.md): one namespace per node with its own IPv4 address on one
// Linux bridge that lives in its own namespace, like Mininet. Addresses come from a /24 of 10.77.0.0/16 that no
// route of the root namespace covers; node namespaces hold only lo and eth0 (their veth to the bridge), route
// 239.0.0.0/8 via eth0 and have no default route. The orchestrator (root namespace) reaches the nodes through one
// veth from the root namespace to the bridge (address .253; multicast off on it, and the bridge never floods
// multicast to it). Link impairments: tc netem on both ends of each node's veth when the kernel has it; otherwise
// tbf (rate) + nftables on the bridge (loss) + the PC5 medium (delay). Everything is deleted at the end.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { RUN_NAMESPACE_LINK } from '../transport/pc5/netenv.js';
import type { LinkParams } from './netns-plan.js';

const BASE = '10.77';
const BRIDGE = 'br0';
const ROOT_PEER = 'root0';
/** Nodes per run: .1-.252 of the run's /24 (.253 root veth, .254 bridge). */
export const NETNS_MAX_NODES = 252;

/** Why netns mode cannot run here (not root, no `ip`), or undefined when it can. */
export function netnsUnavailable(): string | undefined {
  if (process.geteuid?.() !== 0)
    return 'netns mode needs root (it creates network namespaces, veths and a bridge)';
  const r = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'netns mode needs iproute2 (`ip`, `tc`): apt-get install iproute2';
  return undefined;
}

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`\`${cmd} ${args.join(' ')}\` failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

function runSyncQuiet(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

export interface NetnsNode {
  id: string;
  namespace: string;
  address: string;
  /** The node's veth as a bridge port, in the bridge namespace. */
  port: string;
}

export interface NetnsDescription {
  subnet: string;
  bridgeNamespace: string;
  rootInterface: string;
  rootAddress: string;
  impairment: 'netem' | 'tbf+nft+medium';
  nodes: NetnsNode[];
}

/** The namespaces, bridge and veths of one run. */
export class NetnsNetwork {
  readonly bridgeNamespace: string;
  readonly rootInterface: string;
  readonly subnet: string;
  readonly rootAddress: string;
  readonly bridgeAddress: string;
  private readonly nodes = new Map<string, NetnsNode>();
  private created = false;
  private destroyed = false;
  /** Kernel has sch_netem (probed at creation). */
  netem = false;
  setupMs = 0;
  teardownMs: number | undefined;

  private constructor(
    private readonly tag: string,
    private readonly third: number,
    private readonly links: (id: string) => LinkParams,
  ) {
    this.bridgeNamespace = `prosec-${tag}-br`;
    this.rootInterface = `prosec${tag.slice(-6)}`.slice(0, 15);
    this.subnet = `${BASE}.${third}.0/24`;
    this.rootAddress = `${BASE}.${third}.253`;
    this.bridgeAddress = `${BASE}.${third}.254`;
  }

  /** Creates the bridge namespace, the bridge and the root veth. `tag` (from the run id) names everything. */
  static async create(tag: string, links: (id: string) => LinkParams): Promise<NetnsNetwork> {
    const why = netnsUnavailable();
    if (why) throw new Error(why);
    const t0 = performance.now();
    const third = await pickSubnet();
    const n = new NetnsNetwork(tag.replace(/[^a-z0-9-]/gi, '').toLowerCase(), third, links);
    try {
      await n.setUpBridge();
    } catch (e) {
      n.destroySync();
      throw e;
    }
    n.setupMs += performance.now() - t0;
    return n;
  }

  private async setUpBridge(): Promise<void> {
    if (existsSync(`/run/netns/${this.bridgeNamespace}`))
      throw new Error(`namespace ${this.bridgeNamespace} exists`);
    await run('ip', ['netns', 'add', this.bridgeNamespace]);
    this.created = true;
    // Multicast snooping works only with an address on the bridge and the bridge as querier
    // (/work/shared/notes/machine-facts.md); otherwise every multicast frame floods every port.
    await run(
      'ip',
      ['-n', this.bridgeNamespace, '-batch', '-'],
      [
        'link set lo up',
        `link add ${BRIDGE} type bridge mcast_snooping 1 mcast_querier 1`,
        `link set ${BRIDGE} addrgenmode none`,
        `addr add ${this.bridgeAddress}/24 dev ${BRIDGE}`,
        `link set ${BRIDGE} up`,
      ].join('\n'),
    );
    // The root namespace's way in: a veth whose other end is a bridge port (created in the root namespace, moved).
    await run('ip', [
      'link',
      'add',
      this.rootInterface,
      'type',
      'veth',
      'peer',
      'name',
      ROOT_PEER,
      'netns',
      this.bridgeNamespace,
    ]);
    await run(
      'ip',
      ['-batch', '-'],
      [
        `addr add ${this.rootAddress}/24 dev ${this.rootInterface}`,
        `link set ${this.rootInterface} multicast off`,
        `link set ${this.rootInterface} addrgenmode none`,
        `link set ${this.rootInterface} up`,
      ].join('\n'),
    );
    await run(
      'ip',
      ['-n', this.bridgeNamespace, '-batch', '-'],
      `link set ${ROOT_PEER} addrgenmode none\nlink set ${ROOT_PEER} master ${BRIDGE}\nlink set ${ROOT_PEER} up\n`,
    );
    // Unregistered multicast is not flooded to the root's port (the root never joins a group, so none reaches it).
    await run('bridge', ['-n', this.bridgeNamespace, 'link', 'set', 'dev', ROOT_PEER, 'mcast_flood', 'off']);
    this.netem = await probeNetem(this.bridgeNamespace);
    if (!this.netem)
      await run('nft', ['--version']).catch(() => {
        throw new Error(
          'this kernel has no netem and `nft` is missing for link loss: apt-get install nftables',
        );
      });
  }

  get impairment(): NetnsDescription['impairment'] {
    return this.netem ? 'netem' : 'tbf+nft+medium';
  }

  node(id: string): NetnsNode | undefined {
    return this.nodes.get(id);
  }

  address(id: string): string {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`netns: node ${id} has no namespace`);
    return n.address;
  }

  /** argv prefix that runs a command in the node's namespace. */
  launcher(id: string): string[] {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`netns: node ${id} has no namespace`);
    return ['ip', 'netns', 'exec', n.namespace];
  }

  /** Creates the namespaces of `ids` (those not yet made) in batches, with their veths, addresses and links. */
  async addNodes(ids: string[]): Promise<void> {
    if (this.destroyed) throw new Error('netns: the run network is gone');
    const fresh = ids.filter((id) => !this.nodes.has(id));
    if (fresh.length === 0) return;
    if (this.nodes.size + fresh.length > NETNS_MAX_NODES)
      throw new Error(`netns mode supports at most ${NETNS_MAX_NODES} nodes per run`);
    const t0 = performance.now();
    const made: NetnsNode[] = fresh.map((id) => {
      const i = this.nodes.size + 1;
      const n = {
        id,
        namespace: `prosec-${this.tag}-${id}`,
        address: `${BASE}.${this.third}.${i}`,
        port: `p${i}`,
      };
      this.nodes.set(id, n);
      return n;
    });
    await run('ip', ['-batch', '-'], made.map((n) => `netns add ${n.namespace}`).join('\n'));
    await run(
      'ip',
      ['-n', this.bridgeNamespace, '-batch', '-'],
      made
        .flatMap((n) => [
          `link add ${n.port} type veth peer name ${RUN_NAMESPACE_LINK} netns ${n.namespace}`,
          `link set ${n.port} addrgenmode none`,
          `link set ${n.port} master ${BRIDGE}`,
          `link set ${n.port} up`,
        ])
        .join('\n'),
    );
    await inBatches(made, 16, (n) =>
      run(
        'ip',
        ['-n', n.namespace, '-batch', '-'],
        [
          'link set lo up',
          `link set ${RUN_NAMESPACE_LINK} addrgenmode none`,
          `addr add ${n.address}/24 dev ${RUN_NAMESPACE_LINK}`,
          `link set ${RUN_NAMESPACE_LINK} up`,
          // PC5 multicast goes out through the veth to the run's bridge only (no other interface, no default route).
          `route add 239.0.0.0/8 dev ${RUN_NAMESPACE_LINK} src ${n.address}`,
        ].join('\n'),
      ),
    );
    await this.applyLinks(made);
    this.setupMs += performance.now() - t0;
  }

  /** netem on both ends of each veth (node egress = uplink, bridge port egress = downlink), or the fallback. */
  private async applyLinks(made: NetnsNode[]): Promise<void> {
    const withLinks = made.map((n) => ({ n, l: this.links(n.id) }));
    const bridgeTc: string[] = [];
    await inBatches(withLinks, 16, async ({ n, l }) => {
      const q = this.qdisc(l);
      if (!q) return;
      bridgeTc.push(`qdisc add dev ${n.port} root ${q}`);
      await run('tc', [
        '-n',
        n.namespace,
        'qdisc',
        'add',
        'dev',
        RUN_NAMESPACE_LINK,
        'root',
        ...q.split(' '),
      ]);
    });
    if (bridgeTc.length)
      await run('tc', ['-n', this.bridgeNamespace, '-batch', '-'], `${bridgeTc.join('\n')}\n`);
    if (!this.netem) await this.applyNftLoss();
  }

  private qdisc(l: LinkParams): string | undefined {
    if (this.netem) {
      const parts: string[] = [];
      if (l.delayMs > 0) parts.push(`delay ${l.delayMs}ms${l.jitterMs > 0 ? ` ${l.jitterMs}ms` : ''}`);
      if (l.lossPct > 0) parts.push(`loss ${l.lossPct}%`);
      if (l.rateKbit) parts.push(`rate ${l.rateKbit}kbit`);
      return parts.length ? `netem ${parts.join(' ')}` : undefined;
    }
    // Without netem: rate by a token bucket (burst of about 10 ms of traffic, at least a few frames).
    if (!l.rateKbit) return undefined;
    const burst = Math.max(4500, Math.ceil((l.rateKbit * 1000) / 8 / 100));
    return `tbf rate ${l.rateKbit}kbit burst ${burst} latency 200ms`;
  }

  /** Loss per frame and direction on the bridge: uplink on the node's port as input, downlink as output. */
  private async applyNftLoss(): Promise<void> {
    const rules: string[] = [];
    for (const n of this.nodes.values()) {
      const l = this.links(n.id);
      if (l.lossPct <= 0) continue;
      const k = Math.round(l.lossPct * 100);
      rules.push(`    iifname "${n.port}" numgen random mod 10000 < ${k} drop`);
      rules.push(`    oifname "${n.port}" numgen random mod 10000 < ${k} drop`);
    }
    const ruleset = [
      'table bridge prosec_links',
      'delete table bridge prosec_links',
      'table bridge prosec_links {',
      '  chain links {',
      '    type filter hook forward priority 0; policy accept;',
      ...rules,
      '  }',
      '}',
    ].join('\n');
    await run('ip', ['netns', 'exec', this.bridgeNamespace, 'nft', '-f', '-'], `${ruleset}\n`);
  }

  /**
   * Pins the run's PC5 groups to the ports of `ids` with permanent bridge mdb entries: forwarding of a group to a
   * port then no longer depends on IGMP snooping state (in our runs snooping alone now and then stopped forwarding to
   * one port mid-run; docs/netns.md). Receivers still filter by their own memberships.
   */
  async pinGroups(ids: string[], groups: string[]): Promise<void> {
    const lines: string[] = [];
    for (const id of ids) {
      const n = this.nodes.get(id);
      if (!n) continue;
      for (const g of groups) lines.push(`mdb add dev ${BRIDGE} port ${n.port} grp ${g} permanent`);
    }
    if (lines.length)
      await run('bridge', ['-n', this.bridgeNamespace, '-batch', '-'], `${lines.join('\n')}\n`);
  }

  /** Packets the bridge forwarded to (tx) and received from (rx) each node's port, by node id (kernel counters). */
  async portStats(): Promise<Record<string, { toNode: number; fromNode: number; dropped: number }>> {
    const out: Record<string, { toNode: number; fromNode: number; dropped: number }> = {};
    try {
      const links = JSON.parse(await run('ip', ['-n', this.bridgeNamespace, '-s', '-j', 'link', 'show'])) as {
        ifname: string;
        stats64?: { rx: { packets: number; dropped: number }; tx: { packets: number; dropped: number } };
      }[];
      const byPort = new Map([...this.nodes.values()].map((n) => [n.port, n.id]));
      for (const l of links) {
        const id = byPort.get(l.ifname);
        if (id && l.stats64)
          out[id] = {
            toNode: l.stats64.tx.packets,
            fromNode: l.stats64.rx.packets,
            dropped: l.stats64.tx.dropped + l.stats64.rx.dropped,
          };
      }
    } catch {
      /* the summary shows none */
    }
    return out;
  }

  describe(): NetnsDescription {
    return {
      subnet: this.subnet,
      bridgeNamespace: this.bridgeNamespace,
      rootInterface: this.rootInterface,
      rootAddress: this.rootAddress,
      impairment: this.impairment,
      nodes: [...this.nodes.values()],
    };
  }

  /** Names of every namespace of the run (bridge first). */
  namespaces(): string[] {
    return [this.bridgeNamespace, ...[...this.nodes.values()].map((n) => n.namespace)];
  }

  /** Deletes every namespace (their veths go with them) and the root veth. Call after the nodes stopped. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    const t0 = performance.now();
    this.destroySync();
    this.teardownMs = Math.round(performance.now() - t0);
  }

  /** Synchronous teardown (also for a second Ctrl-C): kills what still runs in the run's namespaces, deletes them. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const names = this.namespaces().filter((ns) => existsSync(`/run/netns/${ns}`));
    for (const ns of names) killNamespaceProcesses(ns);
    if (names.length) {
      // One ip process for all of them; -force keeps going past a namespace that is already gone.
      spawnSync('ip', ['-force', '-batch', '-'], {
        input: names.map((ns) => `netns del ${ns}`).join('\n'),
        stdio: ['pipe', 'ignore', 'ignore'],
      });
    }
    // The root veth dies with its peer's namespace; delete it anyway in case the namespace was already gone.
    if (this.created) runSyncQuiet('ip', ['link', 'del', this.rootInterface]);
  }
}

/** SIGKILLs processes still inside a run namespace (only ever our nodes: the run created the namespace). */
function killNamespaceProcesses(ns: string): void {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  for (const pid of (r.stdout ?? '').split(/\s+/).filter(Boolean).map(Number)) {
    if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

/** Deletes the namespaces listed (prosec down, for a run whose orchestrator died). Returns those deleted. */
export function deleteNamespaces(names: string[], rootInterface?: string): string[] {
  const out: string[] = [];
  for (const ns of names) {
    if (!/^prosec-[a-z0-9-]+$/.test(ns) || !existsSync(`/run/netns/${ns}`)) continue;
    killNamespaceProcesses(ns);
    if (runSyncQuiet('ip', ['netns', 'del', ns])) out.push(ns);
  }
  if (rootInterface && /^prosec[a-z0-9]+$/.test(rootInterface))
    runSyncQuiet('ip', ['link', 'del', rootInterface]);
  return out;
}

/** Picks 10.77.X.0/24 with no root-namespace route or address inside 10.77.X.0/24. */
async function pickSubnet(): Promise<number> {
  const routes = await run('ip', ['-4', '-o', 'route', 'show', 'table', 'all']).catch(() => '');
  const addrs = await run('ip', ['-4', '-o', 'addr', 'show']).catch(() => '');
  const text = `${routes}\n${addrs}`;
  if (/\b10\.77\.0\.0\/16\b|\b10\.0\.0\.0\/8\b/.test(text) && !/\bdev prosec/.test(text)) {
    // A route of the machine covers 10.77/16: a run there could shadow a real network.
    throw new Error(
      'netns mode: the root namespace routes 10.77.0.0/16 (or 10/8) already; refusing to overlap it',
    );
  }
  for (let tries = 0; tries < 64; tries++) {
    const x = randomInt(0, 256);
    if (!text.includes(`${BASE}.${x}.`)) return x;
  }
  throw new Error('netns mode: no free /24 in 10.77.0.0/16');
}

async function probeNetem(ns: string): Promise<boolean> {
  try {
    await run('tc', ['-n', ns, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
    await run('tc', ['-n', ns, 'qdisc', 'del', 'dev', 'lo', 'root']).catch(() => undefined);
    return true;
  } catch {
    return false;
  }
}

async function inBatches<T>(xs: T[], size: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < xs.length; i += size) await Promise.all(xs.slice(i, i + size).map(fn));
}

/** Why this scenario cannot run in netns mode, or undefined. */
export function netnsProblem(
  s: {
    netns?: unknown;
    relay?: unknown;
    adversary?: unknown;
    directLinks?: unknown;
    groupSecurity?: { groups: { solution: string }[] };
  },
  o: { netns: boolean; pack: number | undefined },
): string | undefined {
  if (!o.netns) return 'this scenario has a netns section: run it with --netns';
  if (o.pack !== undefined) return '--netns and --pack cannot be combined (one namespace per node process)';
  const unsupported = (['relay', 'adversary', 'directLinks'] as const).filter((k) => s[k] !== undefined);
  if (unsupported.length) return `--netns does not support scenario sections ${unsupported.join(', ')} yet`;
  // Ad-hoc groups reach their members over PC5 unicast at loopback addresses, like direct links.
  if (s.groupSecurity?.groups.some((g) => g.solution === 'adhoc'))
    return '--netns does not support ad-hoc groups (groupSecurity solution adhoc) yet';
  return netnsUnavailable();
}
