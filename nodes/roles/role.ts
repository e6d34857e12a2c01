// The contract between the node runtime and a role. Adding a role: one file here plus one line in index.ts.
import type { Logger } from '../runtime/logger.js';
import type { NodeMetrics } from '../runtime/metrics.js';
import type { NodeConfig } from '../runtime/protocol.js';

export interface RoleContext {
  config: NodeConfig;
  log: Logger;
  metrics: NodeMetrics;
  /** Aborted when the node shuts down. */
  signal: AbortSignal;
  /** Packed mode: this UE's own KMS enrollment token (otherwise env PROSEC_ENROLLMENT_TOKEN). */
  enrollmentToken?: string;
  /**
   * Packed mode: co-hosted UEs share the result of identical public-input verifications (docs/scale.md), which
   * separate devices would run in parallel; everything keyed per UE stays per UE.
   */
  packed?: boolean;
}

export interface RoleStatus {
  provisioned?: boolean;
  errors: number;
  details: Record<string, unknown>;
}

export interface RoleInstance {
  /** Ports the role listens on, by name (reported to the orchestrator when ready). */
  endpoints: Record<string, number>;
  status(): RoleStatus;
  /** Orchestrator commands, e.g. start-traffic. */
  command?(name: string): void;
  stop(): Promise<void>;
}

export interface RoleModule {
  start(ctx: RoleContext): Promise<RoleInstance>;
}
