// Network environment for safe PC5 multicast: multicast must never leave the machine.
// Detects whether 239.0.0.0/8 is routed through lo (so even a sender that forgets its multicast
// interface stays on the machine), fixes it when allowed (root, or our own network namespace),
// self-tests one datagram, and can wrap a command into a fresh network namespace. docs/pc5.md.
import { type ChildProcess, execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** The two commands that make loopback multicast safe in a network namespace (run as root). */
export const LOOPBACK_MULTICAST_COMMANDS = [
  'ip link set lo multicast on',
  'ip route replace 239.0.0.0/8 dev lo src 127.0.0.1',
] as const;

/** Shell snippet that prepares a fresh network namespace (lo up, multicast on, 239/8 via lo). */
export const FRESH_NETNS_SETUP =
  'ip link set lo up && ip link set lo multicast on && ip route replace 239.0.0.0/8 dev lo src 127.0.0.1';

const IFF_UP = 0x1;
const IFF_MULTICAST = 0x1000;
/** An address in 239/8 used to ask the kernel where 239/8 traffic goes. */
const PROBE_ADDRESS = '239.255.0.1';

/** The environment cannot carry multicast safely; `message` says exactly what to run. */
export class Pc5NetEnvError extends Error {
  override readonly name = 'Pc5NetEnvError';
  readonly problems: string[];
  constructor(problems: string[], extra = '') {
    super(`${explainFix(problems)}${extra ? `\n${extra}` : ''}`);
    this.problems = problems;
  }
}

/** The fix, as text: the two ip commands as root, or a fresh namespace. */
export function explainFix(problems: string[]): string {
  return [
    `Safe loopback multicast is not available: ${problems.join('; ') || 'unknown reason'}.`,
    'PC5 multicast must stay on this machine, so 239.0.0.0/8 must be routed through lo. Fix, as root:',
    ...LOOPBACK_MULTICAST_COMMANDS.map((c) => `  sudo ${c}`),
    'or run the command inside a fresh network namespace (it has only lo and cannot reach any network):',
    `  sudo unshare -n sh -c '${FRESH_NETNS_SETUP} && exec "$@"' netns <command...>`,
    '  (without sudo: unshare -rn ..., where unprivileged user namespaces are allowed)',
  ].join('\n');
}

export interface LoopbackMulticastStatus {
  /** Effective uid 0. */
  isRoot: boolean;
  /** This network namespace, e.g. 'net:[4026532177]' (undefined when unreadable). */
  netns: string | undefined;
  /** Interfaces in this namespace. */
  interfaces: string[];
  /** The namespace has no interface but lo (e.g. made by `unshare -n`): nothing in it reaches a network,
   * so changing it is always safe. */
  onlyLoopback: boolean;
  loUp: boolean;
  /** lo has the MULTICAST flag. */
  loMulticast: boolean;
  /** The main routing table sends 239.0.0.0/8 through lo, with no more specific 239/x route elsewhere. */
  route239ViaLo: boolean;
  /** Device the kernel picks for 239.255.0.1 (`ip route get`), when `ip` is available. */
  routeDev: string | undefined;
  /** loUp && loMulticast && route239ViaLo && (routeDev is lo or unknown). */
  ready: boolean;
  /** What is missing, in words (empty when ready). */
  problems: string[];
}

/** lo's UP and MULTICAST flags. Asks `ip` first: /sys shows the namespace that mounted it, which is
 * not ours after a bare `unshare -n`. Falls back to /sys/class/net/lo/flags. */
function readLoFlags(): { up: boolean; multicast: boolean } | undefined {
  try {
    const out = execFileSync('ip', ['-o', 'link', 'show', 'lo'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    });
    const flags = /<([^>]*)>/.exec(out)?.[1]?.split(',');
    if (flags) return { up: flags.includes('UP'), multicast: flags.includes('MULTICAST') };
  } catch {}
  try {
    const v = Number.parseInt(readFileSync('/sys/class/net/lo/flags', 'utf8').trim(), 16);
    return { up: (v & IFF_UP) !== 0, multicast: (v & IFF_MULTICAST) !== 0 };
  } catch {
    return undefined;
  }
}

/** IPv4 routes of the main table from /proc/net/route: [iface, dest, mask] as host-order uint32. */
function readProcRoutes(): { iface: string; dest: number; mask: number }[] {
  let text: string;
  try {
    text = readFileSync('/proc/net/route', 'utf8');
  } catch {
    return [];
  }
  const out: { iface: string; dest: number; mask: number }[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    // /proc/net/route prints addresses as hex of the in-memory (network order) value read little-endian.
    out.push({
      iface: f[0]!,
      dest: swap32(Number.parseInt(f[1]!, 16)),
      mask: swap32(Number.parseInt(f[7]!, 16)),
    });
  }
  return out;
}

function swap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

const NET_239 = 0xef000000;
const MASK_8 = 0xff000000;

/** Synchronous check (two small /proc reads) that 239.0.0.0/8 is routed through lo. */
export function isMulticastRoutedViaLo(): boolean {
  const routes = readProcRoutes();
  let covered = false;
  for (const r of routes) {
    const inside = (r.mask & MASK_8) >>> 0 === MASK_8 && (r.dest & MASK_8) >>> 0 === NET_239;
    if (!inside) continue;
    if (r.iface !== 'lo') return false; // a 239/x route through another device
    if (r.mask === MASK_8) covered = true;
  }
  return covered;
}

/** Interfaces of this process's network namespace (/proc/self/net/dev is per namespace). */
function listInterfaces(): string[] | undefined {
  try {
    return readFileSync('/proc/self/net/dev', 'utf8')
      .split('\n')
      .slice(2)
      .map((l) => l.split(':')[0]!.trim())
      .filter((n) => n.length > 0);
  } catch {
    return undefined;
  }
}

function netnsId(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/net');
  } catch {
    return undefined;
  }
}

function ipRouteGetDev(address: string): string | undefined {
  try {
    const out = execFileSync('ip', ['-o', 'route', 'get', address], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    });
    return / dev (\S+)/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

/** Looks at lo, the 239/8 route, privileges and namespace. Never changes anything. */
export function inspectLoopbackMulticast(): LoopbackMulticastStatus {
  const flags = readLoFlags();
  const loUp = flags?.up === true;
  const loMulticast = flags?.multicast === true;
  const route239ViaLo = isMulticastRoutedViaLo();
  const routeDev = ipRouteGetDev(PROBE_ADDRESS);
  const interfaces = listInterfaces() ?? [];
  const problems: string[] = [];
  if (flags === undefined) problems.push('cannot read the flags of lo (no `ip`, no /sys)');
  else {
    if (!loUp) problems.push('lo is down');
    if (!loMulticast) problems.push('lo lacks the MULTICAST flag');
  }
  if (!route239ViaLo) problems.push('239.0.0.0/8 is not routed through lo');
  if (routeDev !== undefined && routeDev !== 'lo')
    problems.push(`the kernel routes ${PROBE_ADDRESS} via ${routeDev}`);
  return {
    isRoot: typeof process.geteuid === 'function' && process.geteuid() === 0,
    netns: netnsId(),
    interfaces,
    onlyLoopback: interfaces.length > 0 && interfaces.every((i) => i === 'lo'),
    loUp,
    loMulticast,
    route239ViaLo,
    routeDev,
    ready: problems.length === 0,
    problems,
  };
}

/** Throws Pc5NetEnvError unless 239/8 is routed via lo (cheap; the UDP medium calls it before group use). */
export function assertSafeLoopbackMulticast(): void {
  if (isMulticastRoutedViaLo()) return;
  throw new Pc5NetEnvError(['239.0.0.0/8 is not routed through lo'], 'See docs/pc5.md (multicast safety).');
}

/** The one link of a node namespace in netns mode: its veth to the run's bridge (deploy/netns.ts). */
export const RUN_NAMESPACE_LINK = 'eth0';

/**
 * Network-namespace mode (docs/netns.md): multicast may leave through the node's veth because that veth ends on the
 * run's own bridge. Checks, from this process's namespace: only lo and eth0 exist, 239.0.0.0/8 is routed via eth0,
 * and there is no default route (so nothing reaches a network the run did not create). Throws Pc5NetEnvError.
 */
export function assertRunNamespaceMulticast(): void {
  const problems: string[] = [];
  const ifaces = listInterfaces() ?? [];
  const extra = ifaces.filter((i) => i !== 'lo' && i !== RUN_NAMESPACE_LINK);
  if (extra.length)
    problems.push(`the namespace has interfaces besides lo and ${RUN_NAMESPACE_LINK}: ${extra}`);
  if (!ifaces.includes(RUN_NAMESPACE_LINK)) problems.push(`the namespace has no ${RUN_NAMESPACE_LINK}`);
  const routes = readProcRoutes();
  if (routes.some((r) => r.mask === 0)) problems.push('the namespace has a default route');
  const m239 = routes.filter(
    (r) => (r.dest & MASK_8) >>> 0 === NET_239 && (r.mask & MASK_8) >>> 0 === MASK_8,
  );
  if (!m239.some((r) => r.mask === MASK_8 && r.iface === RUN_NAMESPACE_LINK))
    problems.push(`239.0.0.0/8 is not routed through ${RUN_NAMESPACE_LINK}`);
  if (m239.some((r) => r.iface !== RUN_NAMESPACE_LINK)) problems.push('a 239/x route uses another device');
  if (problems.length)
    throw new Pc5NetEnvError(
      problems,
      'netns mode: the node must run in a namespace made by deploy/netns.ts.',
    );
}

export interface MulticastSelfTest {
  /** A datagram sent with multicast interface 127.0.0.1 and TTL 0 reached a member on lo. */
  viaInterface: boolean;
  /** A datagram sent with no multicast interface (routing decides) and TTL 0 reached a member on lo,
   * which the kernel does only when the route's output device is lo. Not tried unless the route is via lo. */
  viaRoute: boolean | 'not_tried';
  group: string;
  port: number;
}

/** Sends one datagram per check to a random 239.255.x.y group on an ephemeral port; bounded by timeoutMs. */
export async function multicastSelfTest(timeoutMs = 1000): Promise<MulticastSelfTest> {
  const rnd = randomBytes(2);
  const group = `239.255.${rnd[0]! % 250}.${1 + (rnd[1]! % 250)}`;
  const rx = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const senders: dgram.Socket[] = [];
  const seen = new Set<string>();
  let wake: (() => void) | undefined;
  rx.on('message', (m) => {
    seen.add(m.toString('latin1'));
    wake?.();
  });
  rx.on('error', () => {});
  const waitFor = async (nonce: string): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    while (!seen.has(nonce) && Date.now() < deadline) {
      await new Promise<void>((res) => {
        wake = res;
        setTimeout(res, 20);
      });
    }
    return seen.has(nonce);
  };
  const send = async (sock: dgram.Socket, nonce: string, port: number): Promise<void> => {
    await new Promise<void>((res) => sock.send(Buffer.from(nonce, 'latin1'), port, group, () => res()));
  };
  try {
    await new Promise<void>((res, rej) => {
      rx.once('error', rej);
      rx.bind(0, group, () => res());
    });
    const port = rx.address().port;
    rx.addMembership(group, '127.0.0.1');
    const a = dgram.createSocket('udp4');
    senders.push(a);
    await new Promise<void>((res) => a.bind(0, '127.0.0.1', () => res()));
    a.setMulticastInterface('127.0.0.1');
    a.setMulticastTTL(0);
    const nonceA = `prosec-selftest-if-${randomBytes(6).toString('hex')}`;
    await send(a, nonceA, port);
    const viaInterface = await waitFor(nonceA);
    let viaRoute: boolean | 'not_tried' = 'not_tried';
    // Only rely on routing when the kernel says 239/8 goes through lo: otherwise this probe could leave.
    if (isMulticastRoutedViaLo() && (ipRouteGetDev(group) ?? 'lo') === 'lo') {
      const b = dgram.createSocket('udp4');
      senders.push(b);
      await new Promise<void>((res) => b.bind(0, () => res()));
      b.setMulticastTTL(0);
      const nonceB = `prosec-selftest-rt-${randomBytes(6).toString('hex')}`;
      await send(b, nonceB, port);
      viaRoute = await waitFor(nonceB);
    }
    return { viaInterface, viaRoute, group, port };
  } finally {
    for (const s of [rx, ...senders]) {
      try {
        s.close();
      } catch {}
    }
  }
}

export interface PrepareResult {
  before: LoopbackMulticastStatus;
  after: LoopbackMulticastStatus;
  /** Commands actually run (empty when nothing had to change). */
  changed: string[];
  selfTest: MulticastSelfTest;
}

export interface PrepareOptions {
  /** Allow changing the root network namespace (default: true unless PROSEC_NETENV_CHANGES=never).
   * Changing a namespace that holds only lo (created by unshare -n) is always allowed. */
  allowChanges?: boolean;
  /** Skip the datagram self-test (default false). */
  skipSelfTest?: boolean;
}

function runIp(args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000 });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    const detail = err.stderr?.toString().trim() || err.message;
    throw new Pc5NetEnvError([`\`ip ${args.join(' ')}\` failed: ${detail}`]);
  }
}

/**
 * Makes loopback multicast safe when it is not: turns lo up and MULTICAST on, routes 239/8 via lo
 * (only the commands needed, reported in `changed`), then self-tests. Throws Pc5NetEnvError, whose
 * message says what to run, when it lacks the privileges, is not allowed, or the self-test fails.
 */
export async function prepareLoopbackMulticast(opts: PrepareOptions = {}): Promise<PrepareResult> {
  const before = inspectLoopbackMulticast();
  const changed: string[] = [];
  if (!before.ready) {
    if (!before.isRoot) {
      throw new Pc5NetEnvError(before.problems, 'This process is not root, so it cannot fix it itself.');
    }
    const allowed =
      before.onlyLoopback || (opts.allowChanges ?? process.env.PROSEC_NETENV_CHANGES !== 'never');
    if (!allowed) {
      throw new Pc5NetEnvError(before.problems, 'Changes are disabled (PROSEC_NETENV_CHANGES=never).');
    }
    const cmds: string[][] = [];
    if (!before.loUp) cmds.push(['link', 'set', 'lo', 'up']);
    if (!before.loMulticast) cmds.push(['link', 'set', 'lo', 'multicast', 'on']);
    if (!before.route239ViaLo || (before.routeDev !== undefined && before.routeDev !== 'lo')) {
      cmds.push(['route', 'replace', '239.0.0.0/8', 'dev', 'lo', 'src', '127.0.0.1']);
    }
    for (const c of cmds) {
      runIp(c);
      changed.push(`ip ${c.join(' ')}`);
    }
  }
  const after = inspectLoopbackMulticast();
  if (!after.ready) throw new Pc5NetEnvError(after.problems, `Ran: ${changed.join('; ') || 'nothing'}.`);
  const selfTest: MulticastSelfTest = opts.skipSelfTest
    ? { viaInterface: true, viaRoute: 'not_tried', group: '', port: 0 }
    : await multicastSelfTest();
  if (!selfTest.viaInterface || selfTest.viaRoute === false) {
    throw new Pc5NetEnvError(
      [`multicast self-test failed (${JSON.stringify(selfTest)})`],
      `Ran: ${changed.join('; ') || 'nothing'}.`,
    );
  }
  return { before, after, changed, selfTest };
}

/**
 * argv that runs `argv` in a fresh network namespace holding only lo, prepared for multicast.
 * `unprivileged` uses `unshare -rn` (a user namespace mapping us to root) instead of `unshare -n`.
 * Trade-off: nothing inside can reach or be reached from outside the namespace, including metrics
 * endpoints; all the nodes that talk over PC5 must run in the same namespace.
 */
export function freshNetnsArgv(argv: string[], opts: { unprivileged?: boolean } = {}): string[] {
  if (argv.length === 0) throw new Error('freshNetnsArgv: empty command');
  return [
    'unshare',
    opts.unprivileged ? '-rn' : '-n',
    '--',
    'sh',
    '-c',
    `${FRESH_NETNS_SETUP} && exec "$@"`,
    'netns',
    ...argv,
  ];
}

/** Spawns `argv` in a fresh network namespace (see freshNetnsArgv). Unprivileged unless we are root. */
export function spawnInFreshNetns(argv: string[], options: SpawnOptions = {}): ChildProcess {
  const isRoot = typeof process.geteuid === 'function' && process.geteuid() === 0;
  const full = freshNetnsArgv(argv, { unprivileged: !isRoot });
  return spawn(full[0]!, full.slice(1), options);
}

// CLI: node dist/transport/pc5/netenv.js [check|prepare|selftest]
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const cmd = process.argv[2] ?? 'check';
  const main = async (): Promise<void> => {
    if (cmd === 'check') {
      const s = inspectLoopbackMulticast();
      console.log(JSON.stringify(s, null, 2));
      if (!s.ready) console.log(explainFix(s.problems));
      process.exitCode = s.ready ? 0 : 1;
    } else if (cmd === 'prepare') {
      console.log(JSON.stringify(await prepareLoopbackMulticast(), null, 2));
    } else if (cmd === 'selftest') {
      console.log(JSON.stringify(await multicastSelfTest(), null, 2));
    } else {
      console.error('usage: node dist/transport/pc5/netenv.js [check|prepare|selftest]');
      process.exitCode = 2;
    }
  };
  main().catch((e: Error) => {
    console.error(e.message);
    process.exitCode = 1;
  });
}
