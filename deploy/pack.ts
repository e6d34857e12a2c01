// Packed mode (prosec up --pack K): the pack planner places UEs, up to K per pack host process
// (nodes/pack-host.ts), and gives the orchestrator one PackedNode handle per UE with the same surface as a
// NodeProcess, so readiness, status and the run summary are the same in both modes.
import { type ChildProcess, fork } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OrchestratorToPack, PackToOrchestrator } from '../nodes/runtime/pack-protocol.js';
import type { NodeConfig, NodeStatus, OrchestratorToNode, RoleName } from '../nodes/runtime/protocol.js';
import {
  captureOutput,
  deadStatus,
  type NodeExit,
  type NodeProcess,
  type ReadyWaiter,
  requestStatus,
  stopChild,
  waitForReady,
} from './node-process.js';

export const PACK_HOST_MAIN = fileURLToPath(new URL('../nodes/pack-host.js', import.meta.url));

/** A node of the run as the orchestrator sees it: its own process, or one UE in a pack host. */
export type NodeHandle = NodeProcess | PackedNode;

class PackHost {
  readonly child: ChildProcess;
  readonly members = new Map<string, PackedNode>();
  readonly tail: string[] = [];
  exited: NodeExit | undefined;
  readonly exitPromise: Promise<NodeExit>;
  private readonly log: WriteStream;

  constructor(
    readonly id: string,
    logDir: string,
    processMetrics: boolean,
    onMemberExit: (n: PackedNode) => void,
  ) {
    this.log = createWriteStream(join(logDir, `${id}.log`));
    this.child = fork(PACK_HOST_MAIN, [], {
      env: { ...process.env, PROSEC_PACK_ID: id, PROSEC_PACK_PROCESS_METRICS: processMetrics ? '1' : '0' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
      execArgv: ['--enable-source-maps'],
      serialization: 'json',
    });
    captureOutput(this.child, this.log, this.tail);
    this.child.on('message', (m: PackToOrchestrator) => this.members.get(m.id)?.onMessage(m));
    this.exitPromise = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = { code, signal };
        setImmediate(() => {
          this.log.end();
          for (const m of this.members.values()) {
            m.onHostExit();
            onMemberExit(m);
          }
          resolve(this.exited!);
        });
      });
    });
  }

  send(msg: OrchestratorToPack): void {
    if (this.child.connected) this.child.send(msg);
  }

  stop(graceMs: number): Promise<NodeExit> {
    return stopChild(this.child, this.exitPromise, () => this.exited, graceMs);
  }
}

/** One UE running inside a pack host. */
export class PackedNode {
  readonly role: RoleName;
  readonly id: string;
  metricsPort = 0;
  endpoints: Record<string, number> = {};
  startupMs = 0;
  ready = false;
  exited: NodeExit | undefined;
  fatal: string | undefined;
  private readonly readyWaiters: ReadyWaiter[] = [];
  private readonly statusWaiters = new Map<number, (s: NodeStatus) => void>();
  private nextReq = 1;
  private readonly addedAt = Date.now();

  constructor(
    readonly host: PackHost,
    config: NodeConfig,
    token: string,
  ) {
    this.role = config.role;
    this.id = config.id;
    host.members.set(config.id, this);
    host.send({ t: 'pack-add', config, token });
  }

  get pid(): number {
    return this.host.child.pid ?? -1;
  }

  get lastLines(): string[] {
    return [...this.host.tail];
  }

  get exitPromise(): Promise<NodeExit> {
    return this.host.exitPromise;
  }

  onMessage(m: PackToOrchestrator): void {
    if (m.t === 'pack-ready') {
      this.ready = true;
      this.metricsPort = m.metricsPort;
      this.endpoints = m.endpoints;
      this.startupMs = Date.now() - this.addedAt;
      for (const w of this.readyWaiters.splice(0)) w.resolve();
    } else if (m.t === 'pack-status') {
      this.statusWaiters.get(m.reqId)?.(m.status);
      this.statusWaiters.delete(m.reqId);
    } else if (m.t === 'pack-fatal') {
      this.fatal = m.message;
      for (const w of this.readyWaiters.splice(0))
        w.reject(new Error(`${this.id} failed to start: ${m.message}`));
    }
  }

  onHostExit(): void {
    this.exited = this.host.exited;
    for (const w of this.readyWaiters.splice(0))
      w.reject(new Error(`${this.id}: its pack host ${this.host.id} exited`));
    for (const [, w] of this.statusWaiters) w(this.deadStatus());
    this.statusWaiters.clear();
  }

  waitReady(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.exited || this.fatal) return Promise.reject(new Error(`${this.id} is not running`));
    return waitForReady(this.id, timeoutMs, this.readyWaiters);
  }

  send(msg: OrchestratorToNode): void {
    if (msg.t === 'command' && (msg.name === 'start-traffic' || msg.name === 'stop-traffic'))
      this.host.send({ t: 'pack-command', id: this.id, name: msg.name });
    else if (msg.t === 'shutdown') this.host.send(msg);
  }

  status(timeoutMs = 3000): Promise<NodeStatus> {
    if (this.exited || !this.host.child.connected) return Promise.resolve(this.deadStatus());
    return requestStatus(this.statusWaiters, this.nextReq++, timeoutMs, this.deadStatus(), (reqId) =>
      this.host.send({ t: 'pack-status-request', id: this.id, reqId }),
    );
  }

  private deadStatus(): NodeStatus {
    return deadStatus(this.role, this.id, this.exited);
  }

  /** Stops the whole pack host (every UE in it). */
  stop(graceMs = 5000): Promise<NodeExit> {
    return this.host.stop(graceMs);
  }
}

/** Places UEs into pack hosts of at most `perHost` UEs each, starting a new host when the current one is full. */
export class PackPlanner {
  private current: PackHost | undefined;
  private hosts = 0;

  constructor(
    readonly perHost: number,
    private readonly logDir: string,
    private readonly processMetrics: boolean,
    private readonly onMemberExit: (n: PackedNode) => void,
  ) {
    if (!(Number.isInteger(perHost) && perHost >= 1))
      throw new Error(`--pack must be a whole number >= 1, got ${perHost}`);
  }

  place(config: NodeConfig, token: string): PackedNode {
    if (!this.current || this.current.members.size >= this.perHost || this.current.exited) {
      this.current = new PackHost(
        `pack-${++this.hosts}`,
        this.logDir,
        this.processMetrics,
        this.onMemberExit,
      );
    }
    return new PackedNode(this.current, config, token);
  }

  get hostCount(): number {
    return this.hosts;
  }
}
