// The kernel's receive-buffer drops of this process's UDP sockets are seen and exported.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { parsePrometheusText, sumOf } from '../../deploy/prom-text.js';
import { createNodeMetrics } from '../../nodes/runtime/metrics.js';
import { ownUdpDrops } from '../../nodes/runtime/udp-drops.js';

test('datagrams dropped by a full receive buffer are counted (prosec_udp_socket_drops_total)', async (t) => {
  const metrics = createNodeMetrics('ue', { processMetrics: false });
  const sock = createSocket({ type: 'udp4', recvBufferSize: 4096 });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  t.after(() => sock.close());
  sock.setRecvBufferSize(4096);
  const before = ownUdpDrops();
  // spawnSync blocks this event loop, so nothing drains the 4 KiB buffer while another process sends 2,000 datagrams.
  const { port } = sock.address();
  const sender = `const s=require('node:dgram').createSocket('udp4');let n=0;const b=Buffer.alloc(1000);
    (function go(){for(let i=0;i<100&&n<2000;i++,n++)s.send(b,${port},'127.0.0.1');if(n<2000)setImmediate(go);else s.close();})();`;
  const r = spawnSync(process.execPath, ['-e', sender], { timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr?.toString());
  const after = ownUdpDrops();
  assert.ok(after - before > 100, `expected kernel drops, saw ${after - before}`);
  const samples = parsePrometheusText(await metrics.registry.metrics());
  assert.ok(sumOf(samples, 'prosec_udp_socket_drops_total') >= after - before);
});
