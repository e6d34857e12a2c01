// Child process of bench/registration-flood.bench.ts: a ProSe Function PC3 server (the real handler, policy and
// registration throttle) on loopback. Driven over IPC: {start} -> {port}; {stats} -> counters; {stop}.
import { performance } from 'node:perf_hooks';
import { createProseFunctionHandler, ProseFunctionPolicy } from '../nodes/roles/prose-function.js';
import { attachProseFunctionDiscovery, DEFAULT_THROTTLE } from '../nodes/roles/prose-function-discovery.js';
import { createNodeMetrics } from '../nodes/runtime/metrics.js';
import { Pc3Server } from '../transport/pc3/server.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;

process.on(
  'message',
  async (m: {
    t: string;
    certPem: string;
    keyPem: string;
    caCertPem: string;
    subscribers: string[];
    throttle: boolean;
  }) => {
    if (m.t !== 'start') return;
    const metrics = createNodeMetrics('prose-function', { processMetrics: false });
    const policy = new ProseFunctionPolicy({
      subscribers: m.subscribers,
      groups: [],
      discovery: { multicastAddress: '239.255.0.1', port: 5000 },
      configValidityMs: 3_600_000,
    });
    const results = new Map<string, number>();
    const handler = createProseFunctionHandler(policy, {
      registration: (r) => results.set(r, (results.get(r) ?? 0) + 1),
      unexpected: () => {},
    });
    const d = attachProseFunctionDiscovery({
      throttle: m.throttle ? DEFAULT_THROTTLE : false,
      metrics,
      log: silent,
    });
    let handshakesFailed = 0;
    let connectionsRefused = 0;
    const server = new Pc3Server({
      certPem: m.certPem,
      keyPem: m.keyPem,
      caCertPem: m.caCertPem,
      handler: d.wrap(handler),
      admitConnection: d.admitConnection,
      acceptTypes: ['register_request'],
      metrics: {
        inc: (name, labels) => {
          if (name !== 'pc3_handshakes_total') return;
          if (labels?.result === 'failed') handshakesFailed++;
          else if (labels?.result === 'refused') connectionsRefused++;
        },
      },
    });
    const { port } = await server.listen();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    process.on('message', async (x: { t: string }) => {
      if (x.t === 'stats') {
        const cpu = process.cpuUsage(cpu0);
        process.send!({
          t: 'stats',
          results: Object.fromEntries(results),
          throttle: d.status().throttle ?? null,
          handshakesFailed,
          connectionsRefused,
          cpuMs: (cpu.user + cpu.system) / 1000,
          wallMs: performance.now() - t0,
        });
      } else if (x.t === 'stop') {
        await server.close(100);
        process.exit(0);
      }
    });
    process.send!({ t: 'ready', port });
  },
);
