import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { parsePrometheusText, sumBy, sumOf } from '../../deploy/prom-text.js';

test('reads what prom-client exposes: labels, escaping, sums', async () => {
  const registry = new Registry();
  const c = new Counter({ name: 'prosec_x_total', help: 'x', labelNames: ['reason'], registers: [registry] });
  c.inc({ reason: 'bad_magic' }, 3);
  c.inc({ reason: 'too "short"\\' }, 2);
  const samples = parsePrometheusText(await registry.metrics());
  assert.equal(sumOf(samples, 'prosec_x_total'), 5);
  assert.equal(sumOf(samples, 'prosec_x_total', { reason: 'bad_magic' }), 3);
  assert.deepEqual(sumBy(samples, 'prosec_x_total', 'reason'), { bad_magic: 3, 'too "short"\\': 2 });
});

test('skips comments and malformed lines, reads +Inf', () => {
  const s = parsePrometheusText('# HELP a b\nnot a sample line\nh_bucket{le="+Inf"} 7\nbad{ 1\n');
  assert.equal(s.length, 1);
  assert.equal(s[0]?.labels.le, '+Inf');
  assert.equal(s[0]?.value, 7);
});
