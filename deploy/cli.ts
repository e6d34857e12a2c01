// prosec command line: up, down, validate, node.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BENCH_USAGE } from './bench/usage.js';
import { formatSummary, Run } from './orchestrator.js';
import { findPrometheus, INSTALL_HINT } from './prometheus.js';
import { DEFAULT_SCENARIO_FILE, loadScenario, ScenarioError } from './scenario.js';

const USAGE = `usage:
  prosec up [scenario.yaml] [--ues N] [--duration 30s] [--runs-dir DIR] [--json] [--detach]
      Brings the scenario up (default: scenarios/default.yaml), runs it, prints a summary, tears it down.
      --prometheus  also start a real Prometheus scraping every node (URL printed; stopped with the run)
      --pack K      packed mode: up to K UEs per OS process (same UE code, own identity, sockets and keys)
      --hold        keep the nodes (and Prometheus) up after the summary until Ctrl-C or \`prosec down\`
      --netns       every node in its own network namespace on one bridge; scenario netns: links, proximity
                    (root; docs/netns.md)
  prosec down [--runs-dir DIR]
      Stops runs started with --detach (and any node they left behind).
  prosec validate scenario.yaml
      Checks a scenario file and prints the resolved scenario.
  prosec attack [scenario.yaml] [--threat ID,...] [--out DIR] [--runs-dir DIR] [--json] [--docs FILE]
      Runs live attacks by an adversary process against the defences and against a weakened control, and writes
      the threat matrix (default scenario: scenarios/attack.yaml; rogue-relay runs scenarios/attack-relay.yaml;
      docs/threat-matrix.md). Exit 1 if a row fails.
  prosec exposure [--leak-at 10.5h] [--detect-after 30m] [--json] [--docs FILE]  (all options: prosec exposure --help)
      Key freshness / lawful interception: what one member's leaked credentials expose under pre-provisioned-only
      keys vs a fresh GSK per call, before and after re-provisioning (docs/li-exposure.md).
  prosec node --config FILE | (env PROSEC_NODE_CONFIG)
      Runs one node process (what the orchestrator spawns).
  prosec k8s render [--ues N] [--namespace NS] [--image IMAGE]
      Prints Kubernetes manifests for a cluster (docs/k8s.md).
${BENCH_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'up':
      return up(rest);
    case 'down':
      return down(rest);
    case 'validate':
      return validate(rest);
    case 'attack':
      return attack(rest);
    case 'bench': {
      const { benchCommand } = await import('./bench/command.js');
      return benchCommand(rest);
    }
    case 'exposure': {
      const { exposureCommand } = await import('./li-exposure.js');
      return exposureCommand(rest);
    }
    case 'k8s': {
      const { k8sCommand } = await import('./k8s/command.js');
      return k8sCommand(rest);
    }
    case 'node': {
      const { readNodeConfig, runNode } = await import('../nodes/main.js');
      await runNode(readNodeConfig(rest, process.env));
      return -1;
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      console.error(`prosec: unknown command '${cmd}'\n${USAGE}`);
      return 2;
  }
}

async function attack(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      threat: { type: 'string' },
      out: { type: 'string' },
      'runs-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      docs: { type: 'string' },
    },
  });
  const { THREATS, runThreatMatrix, threatMatrixDoc, threatMatrixMarkdown, writeThreatMatrix } = await import(
    './attack.js'
  );
  const threats = values.threat?.split(',').map((t) => t.trim());
  const unknown = threats?.filter((t) => !THREATS.some((x) => x.id === t)) ?? [];
  if (unknown.length) {
    console.error(
      `prosec attack: unknown threat ${unknown.join(', ')} (known: ${THREATS.map((t) => t.id).join(', ')})`,
    );
    return 2;
  }
  const file = resolve(positionals[0] ?? join(dirname(DEFAULT_SCENARIO_FILE), 'attack.yaml'));
  const scenario = loadScenario(file);
  // Rows that run in a scenario of their own (e.g. rogue-relay: scenarios/attack-relay.yaml), if selected.
  const otherScenarios = Object.fromEntries(
    [
      ...new Set(
        THREATS.filter((t) => t.scenario && (!threats || threats.includes(t.id))).map((t) => t.scenario!),
      ),
    ].map((name) => {
      const f = join(dirname(DEFAULT_SCENARIO_FILE), `${name}.yaml`);
      return [name, { scenario: loadScenario(f), scenarioFile: f }];
    }),
  );
  const runsDir = resolve(values['runs-dir'] ?? 'runs');
  const m = await runThreatMatrix({
    scenario,
    scenarioFile: file,
    otherScenarios,
    runsDir,
    ...(threats ? { threats } : {}),
    progress: (l) => console.error(l),
  });
  const out = resolve(values.out ?? join(runsDir, `threat-matrix-${m.generatedAt.replace(/[:.]/g, '-')}`));
  writeThreatMatrix(m, out);
  if (values.docs) writeFileSync(resolve(values.docs), threatMatrixDoc(m));
  if (values.json) console.log(JSON.stringify(m, null, 2));
  else
    console.log(`${threatMatrixMarkdown(m)}
written: ${join(out, 'threat-matrix.md')}, threat-matrix.json`);
  return m.ok ? 0 : 1;
}

async function up(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ues: { type: 'string' },
      duration: { type: 'string' },
      'runs-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      detach: { type: 'boolean', default: false },
      prometheus: { type: 'boolean', default: false },
      hold: { type: 'boolean', default: false },
      pack: { type: 'string' },
      netns: { type: 'boolean', default: false },
    },
  });
  const pack = values.pack === undefined ? undefined : Number(values.pack);
  if (pack !== undefined && !(Number.isInteger(pack) && pack >= 1)) {
    console.error(`prosec up: --pack must be a whole number >= 1, got '${values.pack}'`);
    return 2;
  }
  const file = positionals[0] ? resolve(positionals[0]) : DEFAULT_SCENARIO_FILE;
  if (values.prometheus && !findPrometheus()) {
    console.error(`prosec up --prometheus: ${INSTALL_HINT}`);
    return 2;
  }
  const ues = values.ues === undefined ? undefined : Number(values.ues);
  if (ues !== undefined && !(Number.isInteger(ues) && ues >= 0)) {
    console.error(`prosec up: --ues must be a whole number, got '${values.ues}'`);
    return 2;
  }
  const scenario = loadScenario(file, { ues, duration: values.duration });
  if (values.netns || scenario.netns) {
    const { netnsProblem } = await import('./netns.js');
    const why = netnsProblem(scenario, { netns: values.netns, pack });
    if (why) {
      console.error(`prosec up: ${why}`);
      return 2;
    }
  }
  const runsDir = resolve(values['runs-dir'] ?? 'runs');

  if (values.detach) {
    mkdirSync(runsDir, { recursive: true });
    const logFile = join(runsDir, `detached-${Date.now()}.log`);
    const out = openSync(logFile, 'a');
    const childArgs = args.filter((a) => a !== '--detach');
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'up', ...childArgs], {
      detached: true,
      stdio: ['ignore', out, out],
    });
    child.unref();
    console.log(`prosec: run started in the background (orchestrator pid ${child.pid}); log ${logFile}`);
    console.log('prosec: stop it with `prosec down`');
    return 0;
  }

  const run = new Run({
    scenario,
    scenarioFile: file,
    runsDir,
    prometheus: values.prometheus,
    hold: values.hold,
    pack,
    netns: values.netns,
  });
  console.error(`prosec: run ${run.runId}, scenario '${scenario.name}' (${file}), folder ${run.runDir}`);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      console.error(`prosec: ${sig}: stopping every node…`);
      run.abort(sig);
    } else {
      console.error(`prosec: ${sig} again: killing every node now`);
      for (const pid of run.pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      run.destroyNetnsNow();
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const summary = await run.execute();
  if (values.json) console.log(JSON.stringify(summary, null, 2));
  else console.log(formatSummary(summary));
  if (summary.prometheus && !values.json)
    console.log(
      `prometheus: was ${summary.prometheus.url}; its data stays in ${summary.prometheus.dataDir} (serve it again: prometheus --storage.tsdb.path=${summary.prometheus.dataDir} --config.file=${join(run.runDir, 'prometheus', 'prometheus.yml')})`,
    );
  if (signals > 0 && !(values.hold && summary.ok)) return 130;
  return summary.ok ? 0 : 1;
}

/** prosec down: SIGTERM to every live detached orchestrator, then SIGKILL for any node process left behind. */
async function down(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'runs-dir': { type: 'string' } } });
  const runsDir = resolve(values['runs-dir'] ?? 'runs');
  if (!existsSync(runsDir)) {
    console.log('prosec down: no runs folder, nothing to stop');
    return 0;
  }
  let stopped = 0;
  for (const d of readdirSync(runsDir)) {
    const stateFile = join(runsDir, d, 'run.json');
    if (!existsSync(stateFile)) continue;
    const st = JSON.parse(readFileSync(stateFile, 'utf8')) as {
      state: string;
      orchestratorPid: number;
      nodes: { id: string; pid: number }[];
      prometheus?: { pid: number };
      netns?: { bridgeNamespace: string; rootInterface: string; nodes: { namespace: string }[] };
    };
    if (st.state !== 'starting' && st.state !== 'running') continue;
    if (isProsecProcess(st.orchestratorPid, 'deploy/cli.js')) {
      console.log(`prosec down: stopping run ${d} (orchestrator pid ${st.orchestratorPid})`);
      process.kill(st.orchestratorPid, 'SIGTERM');
      const deadline = Date.now() + 20_000;
      while (isAlive(st.orchestratorPid) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      stopped++;
    }
    // Node processes, and pack hosts (packed mode: many UEs share one host pid) left behind.
    const killed = new Set<number>();
    for (const n of st.nodes) {
      if (killed.has(n.pid)) continue;
      if (isProsecProcess(n.pid, 'nodes/main.js') || isProsecProcess(n.pid, 'nodes/pack-host.js')) {
        console.log(`prosec down: node ${n.id} (pid ${n.pid}) was left behind; killing it`);
        process.kill(n.pid, 'SIGKILL');
        killed.add(n.pid);
      }
    }
    if (st.prometheus && isProsecProcess(st.prometheus.pid, join(runsDir, d, 'prometheus'))) {
      console.log(`prosec down: Prometheus (pid ${st.prometheus.pid}) was left behind; stopping it`);
      process.kill(st.prometheus.pid, 'SIGTERM');
    }
    if (st.netns) {
      const { deleteNamespaces } = await import('./netns.js');
      const gone = deleteNamespaces(
        [st.netns.bridgeNamespace, ...st.netns.nodes.map((n) => n.namespace)],
        st.netns.rootInterface,
      );
      if (gone.length) console.log(`prosec down: deleted ${gone.length} network namespaces left behind`);
    }
  }
  console.log(stopped ? `prosec down: stopped ${stopped} run(s)` : 'prosec down: no running run found');
  return 0;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when `pid` is alive and its command line is ours (guards against PID reuse). */
function isProsecProcess(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return false;
  }
}

function validate(args: string[]): number {
  if (!args[0]) {
    console.error('prosec validate: give a scenario file');
    return 2;
  }
  const s = loadScenario(resolve(args[0]));
  console.log(JSON.stringify(s, null, 2));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e: Error) => {
    if (e instanceof ScenarioError) console.error(`prosec: ${e.message}`);
    else console.error(`prosec: ${e.stack ?? e.message}`);
    process.exitCode = e instanceof ScenarioError ? 2 : 1;
  },
);
