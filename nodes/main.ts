// Node process entry point: runs one role (kms, prose-function, ue, ...) as its own OS process.
// Config: env PROSEC_NODE_CONFIG (JSON) or `--config FILE`; the orchestrator talks to it over the IPC channel.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ROLES } from './roles/index.js';
import type { RoleInstance } from './roles/role.js';
import { startHttpEndpoint } from './runtime/http.js';
import { createLogger } from './runtime/logger.js';
import { createNodeMetrics } from './runtime/metrics.js';
import {
  type NodeConfig,
  type NodeStatus,
  type NodeToOrchestrator,
  nodeConfigSchema,
  type OrchestratorToNode,
} from './runtime/protocol.js';

function send(msg: NodeToOrchestrator): void {
  if (process.send && process.connected) process.send(msg);
}

export function readNodeConfig(argv: string[], env: NodeJS.ProcessEnv): NodeConfig {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, role: { type: 'string' }, id: { type: 'string' } },
    allowPositionals: false,
  });
  let raw: Record<string, unknown>;
  if (values.config) raw = JSON.parse(readFileSync(values.config, 'utf8')) as Record<string, unknown>;
  else if (env.PROSEC_NODE_CONFIG) raw = JSON.parse(env.PROSEC_NODE_CONFIG) as Record<string, unknown>;
  else throw new Error('no node configuration: pass --config FILE or set PROSEC_NODE_CONFIG');
  if (values.role) raw.role = values.role;
  if (values.id) raw.id = values.id;
  const r = nodeConfigSchema.safeParse(raw);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid node configuration: ${why}`);
  }
  return r.data;
}

export async function runNode(config: NodeConfig): Promise<void> {
  const t0 = performance.now();
  const log = createLogger(config.role, config.id);
  const metrics = createNodeMetrics(config.role, { processMetrics: config.processMetrics });
  const abort = new AbortController();
  let role: RoleInstance | undefined;
  let ready = false;

  const status = (): NodeStatus => {
    const s = role?.status() ?? { errors: 0, details: {} };
    return { role: config.role, id: config.id, ready, rssBytes: process.memoryUsage.rss(), ...s };
  };
  const http = await startHttpEndpoint({
    host: config.host,
    port: config.metricsPort,
    registry: metrics.registry,
    isReady: () => ready,
    status,
  });

  let stopping: Promise<void> | undefined;
  const shutdown = (why: string, code = 0): Promise<void> => {
    stopping ??= (async () => {
      log.info({ why }, 'shutting down');
      abort.abort();
      const timer = setTimeout(() => {
        log.error('shutdown took longer than 5 s; exiting');
        process.exit(code || 1);
      }, 5000);
      timer.unref();
      try {
        await role?.stop();
      } catch (e) {
        log.error({ err: (e as Error).message }, 'error while stopping role');
      }
      await new Promise<void>((r) => http.server.close(() => r()));
      http.server.closeAllConnections();
      process.exitCode = code;
      if (process.connected) process.disconnect();
    })();
    return stopping;
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // The orchestrator went away: never outlive it.
  process.on('disconnect', () => void shutdown('orchestrator disconnected'));
  process.on('message', (raw: OrchestratorToNode) => {
    if (raw.t === 'status-request') send({ t: 'status', reqId: raw.reqId, status: status() });
    else if (raw.t === 'command') role?.command?.(raw.name);
    else if (raw.t === 'shutdown') void shutdown('orchestrator asked');
  });

  try {
    const mod = await ROLES[config.role]();
    role = await mod.start({ config, log, metrics, signal: abort.signal });
  } catch (e) {
    const message = (e as Error).message;
    log.fatal({ err: message }, 'role failed to start');
    send({ t: 'fatal', message });
    await shutdown('start-up failure', 1);
    return;
  }
  ready = true;
  metrics.ready.set(1);
  const startupMs = Math.round(performance.now() - t0);
  log.info({ metricsPort: http.port, endpoints: role.endpoints, startupMs }, 'ready');
  send({ t: 'ready', metricsPort: http.port, endpoints: role.endpoints, startupMs });
  // No orchestrator (a pod): start the traffic phase on a timer instead of a command (docs/k8s.md).
  if (config.startTrafficAfterMs !== undefined) {
    const started = role;
    const timer = setTimeout(() => {
      log.info({ afterMs: config.startTrafficAfterMs }, 'starting traffic (startTrafficAfterMs)');
      started.command?.('start-traffic');
    }, config.startTrafficAfterMs);
    timer.unref();
    abort.signal.addEventListener('abort', () => clearTimeout(timer));
  }
}

process.on('uncaughtException', (e) => {
  console.error(JSON.stringify({ level: 60, msg: 'uncaught exception', err: e.message, stack: e.stack }));
  send({ t: 'fatal', message: e.message });
  process.exit(1);
});

const isMain = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isMain) {
  let config: NodeConfig;
  try {
    config = readNodeConfig(process.argv.slice(2), process.env);
  } catch (e) {
    console.error(`prosec node: ${(e as Error).message}`);
    process.exit(2);
  }
  await runNode(config);
}
