// `prosec up --prometheus` against the real Prometheus (Debian's package): it scrapes every node through file_sd,
// every role's /metrics passes `promtool check metrics`, and Prometheus is stopped with the run.
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ALL_DASHBOARDS,
  panelQueries,
  substituteVariables,
  variableQueries,
} from '../../dashboards/index.js';
import type { RunSummary } from '../../deploy/orchestrator.js';
import {
  checkConfig,
  findPrometheus,
  INSTALL_HINT,
  PrometheusServer,
  prometheusConfig,
  query,
  queryRange,
} from '../../deploy/prometheus.js';
import { enroll } from '../../transport/pc3/enrollment.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { CLI, isAlive, readRunState, runCli, waitFor } from '../helpers/processes.js';

const bins = findPrometheus();
const SKIP = bins ? false : `skipped: ${INSTALL_HINT}`;

const SCENARIO = `name: prom
duration: 5s
roles: { ue: 4 }
ues: { unsubscribed: 1 }
groups:
  - { id: team, members: all }
traffic: { groupRate: 10, payloadBytes: 100 }
metrics: { processMetrics: true }
directLinks: { pairs: all-adjacent, rate: 50, payloadBytes: 200, rekeyEvery: 2s }
relay:
  relays: 1
  remoteUes: 2
  wrongKeyUes: 1
  userData: { rate: 20, payloadBytes: 100 }
groupSecurity:
  groups:
    - { group: team, solution: standard, remove: [{ member: ue-3, after: 1500ms }] }
  calls:
    - { group: team, initiator: ue-1, at: 300ms, duration: 1s }
    - { group: team, initiator: ue-2, at: 2500ms, duration: 1s }
  media: { rate: 20, payloadBytes: 100 }
discovery:
  users:
    - { ue: ue-1, aluid: mary, permits: [john] }
    - { ue: ue-2, aluid: john, permits: [mary] }
    - { ue: ue-3, aluid: peter, permits: [] }
  modelB: { verifyAt: prose-function }
`;

test('prosec up --prometheus without a prometheus binary stops before starting anything and says how to install it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-noprom-'));
  const scenarioFile = join(dir, 'scenario.yaml');
  writeFileSync(scenarioFile, SCENARIO);
  const r: SpawnSyncReturns<string> = spawnSync(
    process.execPath,
    [CLI, 'up', scenarioFile, '--prometheus', '--runs-dir', join(dir, 'runs')],
    {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, PROSEC_PROMETHEUS: join(dir, 'no-such-prometheus') },
    },
  );
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /apt-get install prometheus/);
  assert.equal(existsSync(join(dir, 'runs')), false, 'no run was started');
});

test('the generated prometheus.yml passes promtool check config', { skip: SKIP || !bins?.promtool }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-promcfg-'));
  const f = join(dir, 'prometheus.yml');
  writeFileSync(f, prometheusConfig(join(dir, 'targets.json')));
  checkConfig(bins!.promtool!, f);
  // And a broken one is rejected (the check can fail).
  writeFileSync(f, `${prometheusConfig(join(dir, 'targets.json'))}  - job_name: [oops\n`);
  assert.throws(() => checkConfig(bins!.promtool!, f), /promtool check config/);
});

test('prosec up --prometheus --hold: Prometheus scrapes every node; promtool check metrics passes on every role; every dashboard query returns data; Ctrl-C stops nodes and Prometheus', {
  skip: SKIP,
  timeout: 150_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-prom-'));
  const runsDir = join(dir, 'runs');
  const scenarioFile = join(dir, 'scenario.yaml');
  writeFileSync(scenarioFile, SCENARIO);
  const run = runCli(['up', scenarioFile, '--prometheus', '--hold', '--json', '--runs-dir', runsDir], {
    timeoutMs: 140_000,
  });
  let promPid: number | undefined;
  let nodePids: number[] = [];
  try {
    const state = await waitFor(
      'the run to be running with Prometheus',
      () => {
        const st = readRunState(runsDir) as
          | (ReturnType<typeof readRunState> & { prometheus?: { pid: number; url: string } })
          | undefined;
        return st?.state === 'running' && st.prometheus ? st : undefined;
      },
      90_000,
    );
    nodePids = state.nodes.map((n) => n.pid);
    promPid = state.prometheus!.pid;
    const url = state.prometheus!.url;
    assert.match(run.stderr(), new RegExp(`prometheus: ${url.replace(/[.]/g, '\\.')}`), 'the URL is printed');

    // Errors for the error panels: garbage on a UE's PC5 socket and a non-TLS client on the PC3 port.
    const ue1 = state.nodes.find((n) => n.id === 'ue-1')!;
    const sock = createSocket('udp4');
    await new Promise((r) => sock.send(Buffer.from('not a PC5 frame'), ue1.endpoints.pc5!, '127.0.0.1', r));
    sock.close();
    const pf = state.nodes.find((n) => n.role === 'prose-function')!;
    await new Promise<void>((resolve) => {
      const c = connect(pf.endpoints.pc3!, '127.0.0.1', () => c.end('GET / HTTP/1.0\r\n\r\n'));
      c.on('error', () => resolve());
      c.on('close', () => resolve());
      c.setTimeout(3000, () => c.destroy());
    });

    // Garbage at the AAA's RADIUS port and a relay_data frame from an unknown remote UE at the relay.
    const aaa = state.nodes.find((n) => n.role === 'aaa')!;
    const relay = state.nodes.find((n) => n.role === 'relay')!;
    const sock2 = createSocket('udp4');
    await new Promise((r) => sock2.send(Buffer.from('xx'), aaa.endpoints.radius!, '127.0.0.1', r));
    const frame = Buffer.from([0x50, 0x35, 1, 0x31, 0, 0, 0, 9, 0, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
    frame.writeUIntBE(relay.endpoints.l2Id!, 8, 3);
    await new Promise((r) => sock2.send(frame, relay.endpoints.pc5!, '127.0.0.1', r));
    sock2.close();
    const kms = state.nodes.find((n) => n.role === 'kms')!;
    await assert.rejects(
      enroll({
        host: '127.0.0.1',
        port: kms.endpoints.enrollment!,
        caCertPem: readFileSync(join(runsDir, state.runId, 'ca.pem'), 'utf8'),
        nodeId: 'ue-1',
        role: 'ue',
        token: '0'.repeat(64),
      }),
      'an enrollment with a wrong token is rejected',
    );

    // promtool check metrics on one node of every role (with the default process metrics on).
    if (bins!.promtool) {
      for (const role of ['kms', 'prose-function', 'ue', 'aaa', 'network', 'relay', 'remote-ue']) {
        const n = state.nodes.find((x) => x.role === role)!;
        const text = await (await fetch(`http://127.0.0.1:${n.metricsPort}/metrics`)).text();
        assert.match(text, /^prosec_node_info/m);
        const r: SpawnSyncReturns<string> = spawnSync(bins!.promtool!, ['check', 'metrics'], {
          input: text,
          encoding: 'utf8',
        });
        assert.equal(r.status, 0, `promtool check metrics on ${role} (${n.id}):\n${r.stdout}${r.stderr}`);
      }
    }

    // Prometheus found every node through file_sd and scrapes it.
    const up = await waitFor(
      'Prometheus to scrape every node',
      async () => {
        const v = await query(url, 'sum(up{job="prosec"})').catch(() => []);
        return v[0] && Number(v[0].value[1]) === state.nodes.length ? v : undefined;
      },
      20_000,
    );
    assert.ok(up);
    const roles = await query(url, 'count by (role) (up{job="prosec"})');
    assert.deepEqual(Object.fromEntries(roles.map((s) => [s.metric.role, Number(s.value[1])])), {
      kms: 1,
      'prose-function': 1,
      'group-manager': 1,
      ue: 5,
      aaa: 1,
      network: 1,
      relay: 1,
      'remote-ue': 2,
    });
    // No exposed label collides with a target label (Prometheus would rename it exported_<name>).
    const info = await query(url, 'prosec_node_info{job="prosec"}');
    assert.equal(info.length, state.nodes.length);
    for (const s of info) {
      assert.equal(s.metric.node_role, s.metric.role);
      assert.deepEqual(
        Object.keys(s.metric).filter((k) => k.startsWith('exported_')),
        [],
      );
    }
    const clashes = await query(url, 'count({job="prosec", __name__=~"prosec_.+", exported_role!=""})');
    assert.deepEqual(clashes, [], 'no prosec_ series carries exported_role');

    // The compose Prometheus config (deploy/compose/prometheus.yml), with /runs pointing at this runs folder,
    // finds the live run through runs/live-targets/ and scrapes every node too.
    const live = join(runsDir, 'live-targets', `${state.runId}.json`);
    assert.ok(existsSync(live), 'the live run is listed for a long-running Prometheus');
    const composeCfg = readFileSync(join(REPO_ROOT, 'deploy', 'compose', 'prometheus.yml'), 'utf8');
    assert.match(composeCfg, /"\/runs\/live-targets\/\*\.json"/);
    const composeProm = await PrometheusServer.start({
      dir: join(dir, 'compose-prometheus'),
      targetsFile: '',
      configText: composeCfg.replaceAll('/runs/', `${runsDir}/`),
    });
    try {
      assert.ok(
        await composeProm.waitScraped(state.nodes.length, 20_000),
        'compose Prometheus scrapes every node',
      );
    } finally {
      await composeProm.stop();
    }

    // Once the run holds, every query of every dashboard panel returns data over the run.
    await waitFor('the run to hold', () => /holding the run/.test(run.stderr()) || undefined, 60_000);
    const t0 = Math.floor(Date.now() / 1000) - 120;
    const t1 = Math.ceil(Date.now() / 1000);
    const empty: string[] = [];
    let checked = 0;
    for (const d of ALL_DASHBOARDS) {
      for (const q of [...panelQueries(d), ...variableQueries(d)]) {
        const expr = substituteVariables(q.expr, { run: state.runId });
        const series = await queryRange(url, expr, t0, t1, 1);
        const finite = series.some((s) => s.values.some(([, v]) => Number.isFinite(Number(v))));
        if (!finite) empty.push(`${d.title} / ${q.panel}: ${expr}`);
        checked++;
      }
    }
    assert.ok(checked >= 20, `only ${checked} panel queries`);
    assert.deepEqual(empty, [], `panel queries without data:\n${empty.join('\n')}`);

    run.child.kill('SIGINT');
    const { code } = await run.exit;
    assert.equal(code, 0, `a held run that was OK exits 0 after Ctrl-C\n${run.stderr()}`);
    const s = JSON.parse(run.stdout()) as RunSummary;
    assert.equal(s.ok, true, s.problems.join('; '));
    assert.equal(s.prometheus?.url, url);
    assert.ok(existsSync(join(s.prometheus!.dataDir)), 'the TSDB stays in the run folder');
    assert.equal(isAlive(promPid), false, 'Prometheus is stopped with the run');
    assert.equal(existsSync(live), false, 'a finished run is no longer listed as live');
    for (const pid of nodePids) assert.equal(isAlive(pid), false, `node pid ${pid} survived`);
  } finally {
    // Never leave anything behind, even when an assertion failed.
    if (run.child.exitCode === null) run.child.kill('SIGINT');
    await Promise.race([run.exit, new Promise((r) => setTimeout(r, 20_000))]);
    for (const pid of [...nodePids, ...(promPid ? [promPid] : [])]) {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  }
});
