// deploy/compose: the docker-compose file cannot be run here (no Docker engine); its structure is checked instead.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ALL_DASHBOARDS, fileName } from '../../dashboards/index.js';
import { checkConfig, findPrometheus } from '../../deploy/prometheus.js';
import { REPO_ROOT } from '../helpers/paths.js';

const DIR = join(REPO_ROOT, 'deploy', 'compose');
const FILE = join(DIR, 'docker-compose.yml');

interface Service {
  image: string;
  network_mode?: string;
  command?: string[];
  volumes: string[];
  environment?: Record<string, string>;
}

const compose = parse(readFileSync(FILE, 'utf8')) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

/** Bind mounts as [absolute host path, container path]; named volumes must be declared. */
function mounts(s: Service): [string, string][] {
  return s.volumes.map((v) => {
    const [src, dst] = v.split(':') as [string, string];
    if (src.startsWith('.') || src.startsWith('/')) return [resolve(DIR, src), dst];
    assert.ok(src in compose.volumes, `named volume ${src} is declared`);
    return ['', dst];
  });
}

test('compose: Prometheus and Grafana with pinned images and host networking (nodes listen on 127.0.0.1)', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ['grafana', 'prometheus']);
  for (const [name, s] of Object.entries(compose.services)) {
    assert.match(s.image, /^[a-z/]+:v?\d+\.\d+\.\d+$/, `${name} image is pinned`);
    assert.equal(s.network_mode, 'host', `${name} uses host networking`);
  }
});

test('compose: every bind-mounted file or folder exists in the repository', () => {
  for (const [name, s] of Object.entries(compose.services)) {
    for (const [src, dst] of mounts(s)) {
      if (!src) continue;
      if (src === join(REPO_ROOT, 'runs')) continue; // created by the first `prosec up`
      assert.ok(existsSync(src), `${name}: ${src} (mounted at ${dst}) exists`);
    }
  }
});

test('compose: Prometheus config is valid and discovers the targets.json of every run under the mounted runs folder', () => {
  const p = compose.services.prometheus!;
  const m = mounts(p);
  const cfgMount = m.find(([, dst]) => dst === '/etc/prometheus/prometheus.yml');
  assert.ok(cfgMount && statSync(cfgMount[0]).isFile());
  assert.ok(p.command?.includes('--config.file=/etc/prometheus/prometheus.yml'));
  const runsMount = m.find(([src]) => src === join(REPO_ROOT, 'runs'));
  assert.ok(runsMount, 'the runs folder is mounted');
  const cfg = parse(readFileSync(cfgMount[0], 'utf8')) as {
    global: { scrape_interval: string };
    scrape_configs: { job_name: string; file_sd_configs: { files: string[] }[] }[];
  };
  assert.equal(cfg.global.scrape_interval, '1s');
  const job = cfg.scrape_configs.find((j) => j.job_name === 'prosec');
  assert.ok(job, 'job prosec (the dashboards select job="prosec")');
  assert.deepEqual(job.file_sd_configs[0]!.files, [`${runsMount[1]}/live-targets/*.json`]);
  const promtool = findPrometheus()?.promtool;
  if (promtool) checkConfig(promtool, cfgMount[0]);
});

test('compose: Grafana provisions the Prometheus data source and every generated dashboard', () => {
  const g = compose.services.grafana!;
  const m = new Map(mounts(g).map(([src, dst]) => [dst, src]));
  const dsDir = m.get('/etc/grafana/provisioning/datasources');
  const dbDir = m.get('/etc/grafana/provisioning/dashboards');
  assert.ok(dsDir && dbDir);
  const ds = parse(readFileSync(join(dsDir, 'prosec.yml'), 'utf8')) as {
    datasources: { type: string; url: string; isDefault: boolean }[];
  };
  const listen = compose.services.prometheus!.command!.find((c) => c.startsWith('--web.listen-address='))!;
  assert.equal(ds.datasources[0]!.type, 'prometheus');
  assert.equal(ds.datasources[0]!.url, `http://${listen.split('=')[1]}`);
  assert.equal(ds.datasources[0]!.isDefault, true);
  const prov = parse(readFileSync(join(dbDir, 'prosec.yml'), 'utf8')) as {
    providers: { type: string; options: { path: string } }[];
  };
  const path = prov.providers[0]!.options.path;
  const hostDir = m.get(path);
  assert.ok(hostDir, `the dashboards folder ${path} is mounted`);
  assert.equal(hostDir, join(REPO_ROOT, 'dashboards', 'json'));
  for (const d of ALL_DASHBOARDS)
    assert.ok(existsSync(join(hostDir, fileName(d))), `${fileName(d)} provisioned`);
  const home = g.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
  assert.ok(home && existsSync(join(hostDir, home.slice(path.length + 1))), 'home dashboard exists');
  assert.equal(dirname(home), path);
});
