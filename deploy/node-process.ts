// One node child process as the orchestrator sees it: spawn, log capture, readiness, status, stop.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type {
  NodeConfig,
  NodeStatus,
  NodeToOrchestrator,
  OrchestratorToNode,
  RoleName,
} from '../nodes/runtime/protocol.js';

export const NODE_MAIN = fileURLToPath(new URL('../nodes/main.js', import.meta.url));
const TAIL_LINES = 20;

/** Copies a child's stdout/stderr lines into its log file and keeps the last TAIL_LINES in `tail`. */
export function captureOutput(child: ChildProcess, log: WriteStream, tail: string[]): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      log.write(`${line}\n`);
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    });
  }
}

/** SIGTERM, then SIGKILL after graceMs; resolves with the exit once the process is gone. */
export async function stopChild(
  child: ChildProcess,
  exitPromise: Promise<NodeExit>,
  exited: () => NodeExit | undefined,
  graceMs: number,
): Promise<NodeExit> {
  const done = exited();
  if (done) return done;
  try {
    child.kill('SIGTERM');
  } catch {
    /* already gone */
  }
  const timer = setTimeout(() => {
    if (!exited()) child.kill('SIGKILL');
  }, graceMs);
  const r = await exitPromise;
  clearTimeout(timer);
  return r;
}

/** Settles a waitReady() call: resolved on `ready`, rejected on exit or timeout. */
export interface ReadyWaiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

/** A waiter for `id` becoming ready, queued on `waiters`, rejected after `timeoutMs` (shared by node and pack members). */
export function waitForReady(id: string, timeoutMs: number, waiters: ReadyWaiter[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${id} not ready after ${timeoutMs} ms`)), timeoutMs);
    waiters.push({
      resolve: () => {
        clearTimeout(timer);
        resolve();
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
  });
}

/** Sends a status request (`send(reqId)`) and resolves with the reply, or with `dead` plus an error after `timeoutMs`. */
export function requestStatus(
  waiters: Map<number, (s: NodeStatus) => void>,
  reqId: number,
  timeoutMs: number,
  dead: NodeStatus,
  send: (reqId: number) => void,
): Promise<NodeStatus> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiters.delete(reqId);
      resolve({ ...dead, details: { error: 'status timeout' } });
    }, timeoutMs);
    waiters.set(reqId, (st) => {
      clearTimeout(timer);
      resolve(st);
    });
    send(reqId);
  });
}

/** The status reported for a node that is not running. */
export function deadStatus(role: RoleName, id: string, exited: NodeExit | undefined): NodeStatus {
  return { role, id, ready: false, errors: 1, rssBytes: 0, details: { exited } };
}

export interface NodeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class NodeProcess {
  readonly child: ChildProcess;
  readonly role: RoleName;
  readonly id: string;
  metricsPort = 0;
  endpoints: Record<string, number> = {};
  startupMs = 0;
  ready = false;
  exited: NodeExit | undefined;
  fatal: string | undefined;
  private readonly tail: string[] = [];
  private readonly log: WriteStream;
  private readonly readyWaiters: ReadyWaiter[] = [];
  private readonly statusWaiters = new Map<number, (s: NodeStatus) => void>();
  private nextReq = 1;
  readonly exitPromise: Promise<NodeExit>;
  private readonly spawnedAt = Date.now();

  constructor(
    config: NodeConfig,
    logDir: string,
    secretEnv: Record<string, string>,
    onExit: (n: NodeProcess) => void,
    /** argv prefix that runs the node elsewhere (netns mode: `ip netns exec NS`, which execs: same PID). */
    launcher?: string[],
  ) {
    this.role = config.role;
    this.id = config.id;
    this.log = createWriteStream(join(logDir, `${config.id}.log`));
    const options = {
      env: { ...process.env, ...secretEnv, PROSEC_NODE_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'] as ('ignore' | 'pipe' | 'ipc')[],
      // Own process group: a terminal Ctrl-C reaches the orchestrator only, which then stops every node in order.
      detached: true,
      serialization: 'json' as const,
    };
    this.child = launcher?.length
      ? spawn(
          launcher[0]!,
          [...launcher.slice(1), process.execPath, '--enable-source-maps', NODE_MAIN],
          options,
        )
      : fork(NODE_MAIN, [], { ...options, execArgv: ['--enable-source-maps'] });
    captureOutput(this.child, this.log, this.tail);
    this.child.on('message', (m: NodeToOrchestrator) => this.onMessage(m));
    this.child.on('error', (e) => {
      this.fatal ??= `spawn error: ${e.message}`;
    });
    this.exitPromise = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = { code, signal };
        for (const w of this.readyWaiters.splice(0)) {
          w.reject(
            new Error(
              `${this.id} exited (${signal ?? `code ${code}`}) before it was ready${this.fatal ? `: ${this.fatal}` : ''}`,
            ),
          );
        }
        for (const [, w] of this.statusWaiters) w(this.deadStatus());
        this.statusWaiters.clear();
        // Let the log streams drain before reporting.
        setImmediate(() => {
          this.log.end();
          onExit(this);
          resolve(this.exited!);
        });
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get lastLines(): string[] {
    return [...this.tail];
  }

  private onMessage(m: NodeToOrchestrator): void {
    if (m.t === 'ready') {
      this.ready = true;
      this.metricsPort = m.metricsPort;
      this.endpoints = m.endpoints;
      this.startupMs = Date.now() - this.spawnedAt;
      for (const w of this.readyWaiters.splice(0)) w.resolve();
    } else if (m.t === 'status') {
      this.statusWaiters.get(m.reqId)?.(m.status);
      this.statusWaiters.delete(m.reqId);
    } else if (m.t === 'fatal') {
      this.fatal = m.message;
    }
  }

  waitReady(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.exited) return Promise.reject(new Error(`${this.id} is not running`));
    return waitForReady(this.id, timeoutMs, this.readyWaiters);
  }

  send(msg: OrchestratorToNode): void {
    if (this.child.connected) this.child.send(msg);
  }

  status(timeoutMs = 3000): Promise<NodeStatus> {
    if (this.exited || !this.child.connected) return Promise.resolve(this.deadStatus());
    return requestStatus(this.statusWaiters, this.nextReq++, timeoutMs, this.deadStatus(), (reqId) =>
      this.send({ t: 'status-request', reqId }),
    );
  }

  private deadStatus(): NodeStatus {
    return deadStatus(this.role, this.id, this.exited);
  }

  /** SIGTERM, then SIGKILL after graceMs. Resolves when the process is gone. */
  stop(graceMs = 5000): Promise<NodeExit> {
    return stopChild(this.child, this.exitPromise, () => this.exited, graceMs);
  }
}
