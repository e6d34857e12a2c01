// End-to-end, network-namespace mode: the real CLI runs scenarios/netns.yaml with every node in its own namespace on
// one bridge. Checks that PC3 and scraping work across the bridge, that reach follows the proximity model (the far UE
// hears nothing from the group, UEs in range hear each other, the walkers change), that the link impairments are in
// the kernel during the run (tc qdisc / nftables in the run's namespaces) and measured as delay, and that no
// namespace, veth or process is left after the run or after a Ctrl-C.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { NetnsDescription } from '../../deploy/netns.js';
import type { RunSummary } from '../../deploy/orchestrator.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { isAlive, readRunState, runCli, waitFor } from '../helpers/processes.js';

const SCENARIO = join(REPO_ROOT, 'scenarios', 'netns.yaml');

/** Why namespaces cannot be made here (skip reason), or undefined. */
function cannotMakeNamespaces(): string | undefined {
  if (process.geteuid?.() !== 0) return 'netns mode needs root';
  const name = `prosec-probe-${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    return `\`ip netns add\` failed: ${(r.stderr || r.error?.message || '').trim()}`;
  spawnSync('ip', ['netns', 'del', name]);
  return undefined;
}

function skipUnlessNamespaces(t: TestContext): boolean {
  const why = cannotMakeNamespaces();
  if (why) t.skip(`cannot create network namespaces here: ${why}`);
  return why === undefined;
}

type State = NonNullable<ReturnType<typeof readRunState>> & { netns?: NetnsDescription };

function runState(runsDir: string): State | undefined {
  return readRunState(runsDir) as State | undefined;
}

/** Namespaces, root veths and processes of the run that still exist. */
function leftovers(st: State): string[] {
  const out: string[] = [];
  const nn = st.netns!;
  const tag = nn.bridgeNamespace.replace(/-br$/, '');
  const ns = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(`${tag}-`)) : [];
  out.push(...ns.map((n) => `namespace ${n}`));
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  if (links.includes(`${nn.rootInterface}@`) || links.includes(`${nn.rootInterface}:`))
    out.push(`veth ${nn.rootInterface}`);
  for (const n of st.nodes) if (isAlive(n.pid)) out.push(`process ${n.id} (${n.pid})`);
  return out;
}

async function noLeftovers(st: State): Promise<void> {
  // Namespaces are released by the kernel asynchronously; the run deletes them before it exits, so allow a moment.
  const left = await waitFor(
    'the run network to be gone',
    () => {
      const l = leftovers(st);
      return l.length === 0 ? [] : undefined;
    },
    3000,
  ).catch(() => leftovers(st));
  assert.deepEqual(left, [], `left behind: ${left.join(', ')}`);
}

test('prosec up --netns: nodes in their own namespaces on one bridge; reach follows the PC5 range; links impaired; nothing left behind', async (t) => {
  if (!skipUnlessNamespaces(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'prosec-netns-'));
  const runsDir = join(dir, 'runs');
  const run = runCli(['up', SCENARIO, '--netns', '--json', '--runs-dir', runsDir], { timeoutMs: 90_000 });
  const st = await waitFor(
    'the run to be running',
    () => {
      const s = runState(runsDir);
      return s?.state === 'running' && s.netns ? s : undefined;
    },
    60_000,
  );
  const nn = st.netns!;
  // Every node process has its own address on the run's /24, inside its own namespace.
  const addresses = new Set(nn.nodes.map((n) => n.address));
  assert.equal(addresses.size, nn.nodes.length);
  const ue8 = nn.nodes.find((n) => n.id === 'ue-8')!;
  const ue1 = nn.nodes.find((n) => n.id === 'ue-1')!;
  const pid1 = st.nodes.find((n) => n.id === 'ue-1')!.pid;
  assert.equal(
    readFileSync(`/proc/${pid1}/net/dev`, 'utf8').includes(' eth0:'),
    true,
    'ue-1 runs in a namespace with eth0',
  );
  assert.deepEqual(
    execFileSync('ip', ['-n', ue1.namespace, '-o', 'addr', 'show', 'dev', 'eth0'], {
      encoding: 'utf8',
    }).match(/inet (\S+)\//)?.[1],
    ue1.address,
  );
  // The link impairments are in the kernel while the run lives: netem, or tbf (rate) + nftables (loss) without it.
  const qdisc = execFileSync('tc', ['-n', ue8.namespace, 'qdisc', 'show', 'dev', 'eth0'], {
    encoding: 'utf8',
  });
  if (nn.impairment === 'netem') assert.match(qdisc, /netem .*delay 40ms\s+5ms.*loss 5%/s);
  else {
    assert.match(qdisc, /tbf .*rate 2Mbit/);
    const rules = execFileSync('ip', ['netns', 'exec', nn.bridgeNamespace, 'nft', 'list', 'ruleset'], {
      encoding: 'utf8',
    });
    assert.match(rules, new RegExp(`iifname "${ue8.port}" numgen random mod 10000 < 500 drop`));
    assert.match(rules, new RegExp(`oifname "${ue1.port}" numgen random mod 10000 < 100 drop`));
  }
  const { code } = await run.exit;
  const s = JSON.parse(run.stdout()) as RunSummary;
  assert.equal(code, 0, `exit ${code}: ${s.problems?.join('; ')}\n${run.stderr().slice(-3000)}`);
  assert.equal(s.ok, true, s.problems.join('; '));
  // PC3 (TLS) across the bridge: every UE registered; Prometheus text scraped across it: PC5 counters arrived.
  assert.equal(s.registrations.accepted, 8);
  const ue = s.roles.find((r) => r.role === 'ue')!;
  assert.ok(ue.pc5FramesReceived > 500, `UEs received ${ue.pc5FramesReceived} PC5 frames`);
  assert.ok((s.pc5DroppedByReason.out_of_range ?? 0) > 100, 'frames from out of range senders were dropped');
  const p = s.netns!.proximity!;
  const byId = new Map(p.ues.map((u) => [u.id, u]));
  // ue-5 stands 400 m from the group: it never hears ue-1..ue-4 or ue-8, and they never hear it.
  for (const id of ['ue-1', 'ue-2', 'ue-3', 'ue-4', 'ue-8']) {
    assert.equal(byId.get('ue-5')!.heardFrom.includes(id), false, `ue-5 heard ${id}`);
    assert.equal(byId.get(id)!.heardFrom.includes('ue-5'), false, `${id} heard ue-5`);
  }
  // In range: the group hears each other, ue-8 included (over its bad link).
  for (const id of ['ue-2', 'ue-3', 'ue-4', 'ue-8'])
    assert.ok(byId.get('ue-1')!.heardFrom.includes(id), `ue-1 did not hear ${id}`);
  // The walkers: ue-7 starts next to ue-5 and walks away (ue-5 then hears nobody), ue-6 arrives at ue-5 at the end,
  // ue-7 reaches the group at the end.
  const w5 = byId.get('ue-5')!.windows;
  assert.ok(w5[0]!.heard >= 1, 'ue-5 heard ue-7 at first');
  assert.equal(w5[2]!.heard, 0, 'ue-5 heard nobody at 4-6 s');
  assert.ok(w5[w5.length - 1]!.heard >= 1, 'ue-5 heard ue-6 arrive');
  const w1 = byId.get('ue-1')!.windows;
  assert.ok(byId.get('ue-1')!.heardFrom.includes('ue-7'), 'ue-1 heard ue-7 once it came in range');
  assert.ok(w1[0]!.discovered >= 1, 'ue-1 discovered users in range');
  // Measured one-way delay: sender link + receiver link (5 ms each; ue-8's own link 40 ms).
  assert.ok(byId.get('ue-1')!.latencyMs.p50 >= 8, `ue-1 p50 ${byId.get('ue-1')!.latencyMs.p50} ms`);
  assert.ok(byId.get('ue-8')!.latencyMs.p50 >= 40, `ue-8 p50 ${byId.get('ue-8')!.latencyMs.p50} ms`);
  await noLeftovers(st);
});

test('prosec up --netns: Ctrl-C tears down every namespace, veth and node; scenarios with a netns section need --netns', async (t) => {
  if (!skipUnlessNamespaces(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'prosec-netns-int-'));
  const runsDir = join(dir, 'runs');
  const bad = runCli(['up', SCENARIO, '--runs-dir', runsDir]);
  assert.equal((await bad.exit).code, 2);
  assert.match(bad.stderr(), /run it with --netns/);
  const run = runCli(['up', SCENARIO, '--netns', '--duration', '60s', '--runs-dir', runsDir], {
    timeoutMs: 60_000,
  });
  const st = await waitFor(
    'the run to be running',
    () => {
      const s = runState(runsDir);
      return s?.state === 'running' && s.netns ? s : undefined;
    },
    60_000,
  );
  assert.ok(leftovers(st).length > st.nodes.length, 'the run network exists while it runs');
  run.child.kill('SIGINT');
  const { code } = await run.exit;
  assert.equal(code, 130, run.stderr());
  await noLeftovers(st);
});

test('scenario netns section: bad impairments and positions are rejected with their path and reason', async () => {
  const { validateScenario, ScenarioError } = await import('../../deploy/scenario.js');
  const base = { name: 'x', roles: { ue: 2 } };
  const issues = (netns: unknown): string => {
    try {
      validateScenario({ ...base, netns });
      return '';
    } catch (e) {
      assert.ok(e instanceof ScenarioError);
      return e.issues.map((i) => `${i.path}: ${i.message}`).join('\n');
    }
  };
  assert.equal(issues({ links: { default: { delay: '5ms', loss: '1%', rate: '10mbit' } } }), '');
  assert.match(
    issues({ links: { default: { loss: '150%' } } }),
    /netns\.links\.default\.loss: between 0% and 100%/,
  );
  assert.match(issues({ links: { default: { rate: 'fast' } } }), /netns\.links\.default\.rate: a rate like/);
  assert.match(
    issues({ links: { default: { delay: '20s' } } }),
    /netns\.links\.default\.delay: at most 10 s/,
  );
  assert.match(issues({ links: { 'ue-9': { delay: '1ms' } } }), /netns\.links\.ue-9: no node named ue-9/);
  assert.match(
    issues({ links: { default: { jitter: '2ms' } } }),
    /netns\.links\.default\.jitter: jitter needs a delay/,
  );
  assert.match(
    issues({ proximity: { range: 100, positions: { 'ue-7': { x: 0, y: 0 } } } }),
    /positions\.ue-7: no UE/,
  );
  assert.match(issues({ proximity: { range: -1 } }), /netns\.proximity\.range/);
  assert.match(
    issues({ proximity: { range: 10, positions: { 'ue-1': { path: [], speed: 1 } } } }),
    /netns\.proximity\.positions\.ue-1/,
  );
});
