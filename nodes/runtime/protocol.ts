// What the orchestrator and a node process say to each other: the node's start-up config and the IPC messages.
import { z } from 'zod';

export const ROLE_NAMES = [
  'kms',
  'prose-function',
  'ue',
  'aaa',
  'network',
  'relay',
  'remote-ue',
  'group-manager',
  'key-server',
  'adversary',
] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

const port = z.number().int().min(0).max(65535);
const endpoint = z.object({ host: z.string(), port: z.number().int().min(1).max(65535) }).strict();

/** A node's start-up configuration (env PROSEC_NODE_CONFIG as JSON, or a file with --config). */
export const nodeConfigSchema = z
  .object({
    v: z.literal(1),
    runId: z.string().min(1),
    role: z.enum(ROLE_NAMES),
    id: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/),
    /** Folder of the run: CA certificate, state files. */
    runDir: z.string().min(1),
    /** Address every listening socket of the node binds to (loopback). */
    host: z.string().default('127.0.0.1'),
    /** Port of the /metrics, /healthz, /readyz HTTP endpoint (0: any free port, reported when ready). */
    metricsPort: z.number().int().min(0).max(65535).default(0),
    processMetrics: z.boolean().default(true),
    /** KMS enrollment endpoint and the CA certificate file (every role but the KMS). */
    kms: endpoint.extend({ caCertFile: z.string() }).strict().optional(),
    /** The ProSe Function's PC3 endpoint (UEs). */
    proseFunction: endpoint.optional(),
    /** Network-namespace mode (deploy/netns.ts): the node's bridge address; PC5 binds to it and multicasts via eth0. */
    netns: z.object({ address: z.string() }).strict().optional(),
    /**
     * Fixed listening ports (a Kubernetes pod behind a Service, docs/k8s.md); absent or 0: any free port, reported
     * to the orchestrator when ready (what the orchestrator uses).
     */
    ports: z
      .object({
        /** PC3 TLS server: the ProSe Function, the group manager, the key server. */
        pc3: port.optional(),
        /** KMS enrollment (TLS, server-authenticated). */
        enroll: port.optional(),
        /** KMS key service (mutual TLS: MIKEY-SAKKE bundles, CRL). */
        keys: port.optional(),
        /** AAA RADIUS (UDP); overrides roleConfig.port. */
        radius: port.optional(),
      })
      .strict()
      .optional(),
    /**
     * A node without an orchestrator (a pod): issue `start-traffic` to the role this many ms after it is ready,
     * as the orchestrator does at the start of the traffic phase. Absent: only on command.
     */
    startTrafficAfterMs: z.number().int().min(0).max(3_600_000).optional(),
    /** Role-specific settings, validated by the role. */
    roleConfig: z.unknown().optional(),
  })
  .strict();

export type NodeConfig = z.output<typeof nodeConfigSchema>;

/** Node -> orchestrator. */
export type NodeToOrchestrator =
  | { t: 'ready'; metricsPort: number; endpoints: Record<string, number>; startupMs: number }
  | { t: 'status'; reqId: number; status: NodeStatus }
  | { t: 'fatal'; message: string };

/** Orchestrator -> node. */
export type OrchestratorToNode =
  | { t: 'command'; name: 'start-traffic' | 'stop-traffic' }
  /** ProSe discovery: revoke a permission at the ProSe Function ("discovery-revoke <announcer> <monitor>"). */
  | { t: 'command'; name: `discovery-revoke ${string}` }
  | { t: 'status-request'; reqId: number }
  | { t: 'shutdown' };

/** A node's self-reported state, for the run summary. */
export interface NodeStatus {
  role: RoleName;
  id: string;
  ready: boolean;
  /** Registered with the ProSe Function and provisioned with its configuration (UEs). */
  provisioned?: boolean;
  errors: number;
  rssBytes: number;
  details: Record<string, unknown>;
}
