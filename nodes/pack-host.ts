// Pack host entry point (prosec up --pack K): up to K UEs in one OS process, each the same UE role code as in
// process-per-node mode with its own identity, enrollment token, certificate, sockets, keys and logger.
// Shared per process: the metrics registry (aggregate by design, no per-UE labels), the HTTP endpoint, IPC.
import { performance } from 'node:perf_hooks';
import { ROLES } from './roles/index.js';
import type { RoleInstance } from './roles/role.js';
import { startHttpEndpoint } from './runtime/http.js';
import { createLogger } from './runtime/logger.js';
import { createNodeMetrics } from './runtime/metrics.js';
import type { OrchestratorToPack, PackToOrchestrator } from './runtime/pack-protocol.js';
import { type NodeConfig, type NodeStatus, nodeConfigSchema } from './runtime/protocol.js';

interface Member {
  config: NodeConfig;
  role?: RoleInstance;
  ready: boolean;
  abort: AbortController;
}

function send(msg: PackToOrchestrator): void {
  if (process.send && process.connected) process.send(msg);
}

const hostId = process.env.PROSEC_PACK_ID ?? 'pack';
const log = createLogger('pack-host', hostId);
const metrics = createNodeMetrics('ue', { processMetrics: process.env.PROSEC_PACK_PROCESS_METRICS !== '0' });
const members = new Map<string, Member>();

function memberStatus(m: Member): NodeStatus {
  const s = m.role?.status() ?? { errors: 0, details: {} };
  // Each UE reports its share of the process RSS, so sums over UEs equal the process total.
  const share = Math.round(process.memoryUsage.rss() / Math.max(1, members.size));
  return {
    role: 'ue',
    id: m.config.id,
    ready: m.ready,
    rssBytes: share,
    ...s,
    details: { ...s.details, packHost: hostId },
  };
}

const http = await startHttpEndpoint({
  host: '127.0.0.1',
  port: 0,
  registry: metrics.registry,
  isReady: () => members.size > 0 && [...members.values()].every((m) => m.ready),
  status: () => ({ packHost: hostId, ues: [...members.values()].map(memberStatus) }),
});

async function addMember(rawConfig: NodeConfig, token: string): Promise<void> {
  const t0 = performance.now();
  const config = nodeConfigSchema.parse(rawConfig);
  const m: Member = { config, ready: false, abort: new AbortController() };
  members.set(config.id, m);
  try {
    const mod = await ROLES[config.role]();
    m.role = await mod.start({
      config,
      log: createLogger(config.role, config.id),
      metrics,
      signal: m.abort.signal,
      enrollmentToken: token,
      packed: true,
    });
  } catch (e) {
    const message = (e as Error).message;
    log.error({ ue: config.id, err: message }, 'UE failed to start');
    send({ t: 'pack-fatal', id: config.id, message });
    return;
  }
  m.ready = true;
  metrics.ready.set(1);
  const startupMs = Math.round(performance.now() - t0);
  send({ t: 'pack-ready', id: config.id, metricsPort: http.port, endpoints: m.role.endpoints, startupMs });
}

let stopping: Promise<void> | undefined;
function shutdown(why: string): Promise<void> {
  stopping ??= (async () => {
    log.info({ why, ues: members.size }, 'shutting down');
    const timer = setTimeout(() => process.exit(1), 8000);
    timer.unref();
    for (const m of members.values()) m.abort.abort();
    await Promise.all(
      [...members.values()].map((m) =>
        m.role
          ?.stop()
          .catch((e: Error) => log.error({ ue: m.config.id, err: e.message }, 'error while stopping UE')),
      ),
    );
    await new Promise<void>((r) => http.server.close(() => r()));
    http.server.closeAllConnections();
    if (process.connected) process.disconnect();
  })();
  return stopping;
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('disconnect', () => void shutdown('orchestrator disconnected'));
process.on('uncaughtException', (e) => {
  console.error(JSON.stringify({ level: 60, msg: 'uncaught exception', err: e.message, stack: e.stack }));
  process.exit(1);
});
process.on('message', (msg: OrchestratorToPack) => {
  if (msg.t === 'pack-add') void addMember(msg.config, msg.token);
  else if (msg.t === 'pack-status-request') {
    const m = members.get(msg.id);
    if (m) send({ t: 'pack-status', id: msg.id, reqId: msg.reqId, status: memberStatus(m) });
  } else if (msg.t === 'pack-command') members.get(msg.id)?.role?.command?.(msg.name);
  else if (msg.t === 'shutdown') void shutdown('orchestrator asked');
});
log.info({ metricsPort: http.port }, 'pack host up');
