import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { metricCatalogue, renderCatalogue } from '../../deploy/metrics-catalogue.js';
import { REPO_ROOT } from '../helpers/paths.js';

test('docs/metrics.md is the catalogue generated from the code (run npm run docs:metrics)', async () => {
  assert.equal(readFileSync(join(REPO_ROOT, 'docs', 'metrics.md'), 'utf8'), await renderCatalogue());
});

test('metric names follow the conventions: prosec_ prefix, base units, _total counters, no per-UE labels', async () => {
  for (const m of await metricCatalogue()) {
    assert.match(m.name, /^prosec_[a-z0-9_]+$/, m.name);
    if (m.type === 'counter') assert.match(m.name, /_total$/, `${m.name} is a counter`);
    if (m.type === 'histogram')
      assert.match(m.name, /_seconds$|_bytes$/, `${m.name} histogram has a base unit`);
    assert.doesNotMatch(m.name, /_(ms|milliseconds|kb|mb)(_|$)/, `${m.name} uses base units`);
    for (const l of m.labelNames)
      assert.ok(!/^(ue|ue_id|node|node_id|imsi|supi|id)$/.test(l), `${m.name} has a per-node label ${l}`);
  }
});
