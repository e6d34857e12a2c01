// Packed mode (prosec up --pack K): what the orchestrator and a pack host process say to each other.
// A pack host runs up to K UE role instances in one OS process; every message names the UE it concerns.
import type { NodeConfig, NodeStatus } from './protocol.js';

/** Orchestrator -> pack host. */
export type OrchestratorToPack =
  /** Start one more UE in this process; the token is its own KMS enrollment token. */
  | { t: 'pack-add'; config: NodeConfig; token: string }
  | { t: 'pack-status-request'; id: string; reqId: number }
  | { t: 'pack-command'; id: string; name: 'start-traffic' | 'stop-traffic' }
  | { t: 'shutdown' };

/** Pack host -> orchestrator. */
export type PackToOrchestrator =
  | { t: 'pack-ready'; id: string; metricsPort: number; endpoints: Record<string, number>; startupMs: number }
  | { t: 'pack-status'; id: string; reqId: number; status: NodeStatus }
  | { t: 'pack-fatal'; id: string; message: string };
