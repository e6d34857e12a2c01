// The Grafana dashboards: generated JSON is current, and every panel query names metrics that exist.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ALL_DASHBOARDS,
  fileName,
  panelQueries,
  renderDashboard,
  variableQueries,
} from '../../dashboards/index.js';
import { knownSeriesNames, metricNames } from '../../dashboards/promql.js';
import { REPO_ROOT } from '../helpers/paths.js';

test('dashboards/json/*.json are the dashboards generated from dashboards/*.ts (run npm run dashboards)', () => {
  for (const d of ALL_DASHBOARDS) {
    const f = join(REPO_ROOT, 'dashboards', 'json', fileName(d));
    assert.ok(existsSync(f), `${f} is missing`);
    assert.equal(readFileSync(f, 'utf8'), renderDashboard(d), `${f} is stale`);
  }
});

test('the three dashboards exist: overview, per-procedure drill-down, per-node', () => {
  assert.deepEqual(
    ALL_DASHBOARDS.map((d) => d.uid),
    ['prosec-overview', 'prosec-procedures', 'prosec-node'],
  );
  for (const d of ALL_DASHBOARDS) assert.ok(panelQueries(d).length >= 6, `${d.uid} has panels with queries`);
});

test('metricNames extracts selected metrics, not functions, labels, keywords or grouping labels', () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.95, sum by (le, procedure) (rate(prosec_key_setup_seconds_bucket{run=~"a b", x="up"}[5m])))',
    ),
    ['prosec_key_setup_seconds_bucket'],
  );
  assert.deepEqual(metricNames('sum(a_total) / on (instance) group_left b_bytes or vector(1e3)').sort(), [
    'a_total',
    'b_bytes',
  ]);
  assert.deepEqual(metricNames('up{job="prosec"} == bool 1'), ['up']);
});

test('every metric named in every panel and variable query exists (catalogue + default process metrics)', async () => {
  const known = await knownSeriesNames();
  const unknown: string[] = [];
  let n = 0;
  for (const d of ALL_DASHBOARDS) {
    for (const q of [...panelQueries(d), ...variableQueries(d)]) {
      const names = metricNames(q.expr);
      assert.ok(names.length > 0, `${d.uid} / ${q.panel}: no metric in ${q.expr}`);
      for (const name of names) {
        n++;
        if (!known.has(name)) unknown.push(`${d.uid} / ${q.panel}: ${name}`);
      }
    }
  }
  assert.ok(n > 30);
  assert.deepEqual(unknown, []);
});

test('a panel naming a metric that does not exist is caught', async () => {
  const known = await knownSeriesNames();
  const bogus = 'sum(rate(prosec_pc5_sent_frames_total{run=~"$run"}[$__rate_interval]))';
  assert.ok(metricNames(bogus).some((x) => !known.has(x)));
  assert.ok(known.has('prosec_pc5_frames_sent_total'));
  assert.ok(!known.has('nodejs_active_handles_total'), 'non-conformant default metrics are not exposed');
});
