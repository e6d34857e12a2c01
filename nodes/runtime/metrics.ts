// The Prometheus metrics every prosec node exposes: one registry per process, `prosec_` names, base units.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { ownUdpDrops } from './udp-drops.js';

/** Key-setup latency buckets (seconds): resolve 0.1 ms to 10 s. */
export const KEY_SETUP_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Default process metrics that are not exposed (gauges with a _total suffix). */
export const NONCONFORMANT_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export interface NodeMetrics {
  registry: Registry;
  nodeInfo: Gauge<'node_role'>;
  ready: Gauge;
  pc5FramesSent: Counter<'kind'>;
  pc5FramesReceived: Counter<'kind'>;
  pc5BytesSent: Counter<'kind'>;
  pc5BytesReceived: Counter<'kind'>;
  pc5FramesDropped: Counter<'reason'>;
  pc5SocketDrops: Counter;
  pc5MediumInfo: Gauge<'medium'>;
  registrations: Counter<'result'>;
  registrationSeconds: Histogram<'result'>;
  enrollmentSeconds: Histogram<'result'>;
  keySetupSeconds: Histogram<'procedure' | 'method' | 'result'>;
  eapAuthResults: Counter<'result' | 'cause' | 'method'>;
  radiusPackets: Counter<'outcome'>;
  radiusDropped: Counter<'reason'>;
  relayBytes: Counter<'direction'>;
  relayDropped: Counter<'reason'>;
  directLinkRejected: Counter<'cause'>;
  directLinkProtectedPackets: Counter<'direction' | 'plane'>;
  directLinkProtectedBytes: Counter<'direction' | 'plane'>;
  directLinkIntegrityFailures: Counter<'plane'>;
  directLinkReplaysDropped: Counter<'plane'>;
  directLinkRekeys: Counter<'trigger'>;
  groupGmkDistributionSeconds: Histogram<'solution' | 'scope'>;
  groupCallSetupSeconds: Histogram<'solution'>;
  groupMediaPackets: Counter<'direction'>;
  groupMediaBytes: Counter<'direction'>;
  groupDecryptFailures: Counter<'stage' | 'cause'>;
  discoveryMatches: Counter<'mode'>;
  discoveryRejected: Counter<'cause'>;
  discoveryLatencySeconds: Histogram<'mode'>;
  discoveryAnnouncements: Counter<'mode'>;
  discoveryMatchReports: Counter<'result'>;
  registrationThrottled: Counter<'stage' | 'cause'>;
}

/** Creates the registry and every metric of the catalogue (docs/metrics.md). */
export function createNodeMetrics(role: string, opts: { processMetrics: boolean }): NodeMetrics {
  const registry = new Registry();
  if (opts.processMetrics) collectDefaultMetrics({ register: registry });
  // prom-client names three gauges *_total, which `promtool check metrics` rejects; the same counts stay
  // available per type (nodejs_active_handles{type}, nodejs_active_requests{type}, nodejs_active_resources{type}).
  for (const n of NONCONFORMANT_DEFAULT_METRICS) registry.removeSingleMetric(n);
  const registers = [registry];
  let socketDropsSeen = 0;
  const m: NodeMetrics = {
    registry,
    nodeInfo: new Gauge({
      name: 'prosec_node_info',
      help: 'Always 1; labels describe the node process (node_role: its role; not `role`, which Prometheus targets carry).',
      labelNames: ['node_role'],
      registers,
    }),
    ready: new Gauge({ name: 'prosec_node_ready', help: '1 once the node is ready, 0 before.', registers }),
    pc5FramesSent: new Counter({
      name: 'prosec_pc5_frames_sent_total',
      help: 'PC5 frames sent, by kind (group = one-to-many multicast, unicast = one-to-one).',
      labelNames: ['kind'],
      registers,
    }),
    pc5FramesReceived: new Counter({
      name: 'prosec_pc5_frames_received_total',
      help: 'Valid PC5 frames received, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    pc5BytesSent: new Counter({
      name: 'prosec_pc5_sent_bytes_total',
      help: 'PC5 datagram octets sent, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    pc5BytesReceived: new Counter({
      name: 'prosec_pc5_received_bytes_total',
      help: 'PC5 datagram octets received, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    pc5FramesDropped: new Counter({
      name: 'prosec_pc5_frames_dropped_total',
      help: 'PC5 datagrams dropped, by reason (malformed frame reasons, send errors).',
      labelNames: ['reason'],
      registers,
    }),
    pc5SocketDrops: new Counter({
      name: 'prosec_udp_socket_drops_total',
      help: 'Datagrams the kernel dropped because a UDP receive buffer of this process was full (PC5 sockets).',
      registers,
      collect() {
        // Read at scrape time: the kernel's per-socket counters only grow while the sockets live.
        const now = ownUdpDrops();
        if (now > socketDropsSeen) this.inc(now - socketDropsSeen);
        socketDropsSeen = Math.max(socketDropsSeen, now);
      },
    }),
    pc5MediumInfo: new Gauge({
      name: 'prosec_pc5_medium_info',
      help: 'Always 1 once the node runs a PC5 medium; label medium: which one carries its prosec_pc5_* frames (udp = loopback UDP multicast/unicast, libp2p = gossipsub + libp2p streams over TCP).',
      labelNames: ['medium'],
      registers,
    }),
    registrations: new Counter({
      name: 'prosec_registrations_total',
      help: 'UE registrations over PC3, by result (accepted or the reject cause).',
      labelNames: ['result'],
      registers,
    }),
    registrationSeconds: new Histogram({
      name: 'prosec_pc3_registration_seconds',
      help: 'UE side: PC3 registration latency (TLS connect + register_request to register_accept/reject), by result.',
      labelNames: ['result'],
      buckets: KEY_SETUP_BUCKETS,
      registers,
    }),
    enrollmentSeconds: new Histogram({
      name: 'prosec_enrollment_seconds',
      help: 'Node side: certificate enrollment with the KMS (key generation + TLS + issuance), by result.',
      labelNames: ['result'],
      buckets: KEY_SETUP_BUCKETS,
      registers,
    }),
    keySetupSeconds: new Histogram({
      name: 'prosec_key_setup_seconds',
      help: 'Latency of key establishment procedures, by procedure, method and result (ok, failed).',
      labelNames: ['procedure', 'method', 'result'],
      buckets: KEY_SETUP_BUCKETS,
      registers,
    }),
    eapAuthResults: new Counter({
      name: 'prosec_eap_auth_results_total',
      help: "EAP-AKA' authentications finished at this node (AAA server, relay or remote UE), by result and cause; successes by method (full, reauth).",
      labelNames: ['result', 'cause', 'method'],
      registers,
    }),
    radiusPackets: new Counter({
      name: 'prosec_radius_requests_total',
      help: 'AAA side: Access-Requests answered, by outcome (challenge, accept, reject, duplicate).',
      labelNames: ['outcome'],
      registers,
    }),
    radiusDropped: new Counter({
      name: 'prosec_radius_dropped_total',
      help: 'RADIUS datagrams silently discarded, by reason (bad_message_authenticator, truncated, ...).',
      labelNames: ['reason'],
      registers,
    }),
    relayBytes: new Counter({
      name: 'prosec_relay_bytes_total',
      help: 'UE-to-network relay: user-data payload octets relayed, by direction (uplink = remote UE to network).',
      labelNames: ['direction'],
      registers,
    }),
    relayDropped: new Counter({
      name: 'prosec_relay_dropped_total',
      help: 'UE-to-network relay path: PC5 relay frames dropped, by reason (mac, replay, malformed, no_context, ...).',
      labelNames: ['reason'],
      registers,
    }),
    directLinkRejected: new Counter({
      name: 'prosec_direct_link_rejected_total',
      help: 'PC5 direct link: signalling or user PDUs dropped and procedures failed, by cause (docs/direct-link.md).',
      labelNames: ['cause'],
      registers,
    }),
    directLinkProtectedPackets: new Counter({
      name: 'prosec_direct_link_protected_packets_total',
      help: 'PC5 direct link: PDUs protected (direction tx) or accepted after checks (rx), by plane.',
      labelNames: ['direction', 'plane'],
      registers,
    }),
    directLinkProtectedBytes: new Counter({
      name: 'prosec_direct_link_protected_bytes_total',
      help: 'PC5 direct link: octets protected (tx) or accepted (rx), by plane (user: payload octets; signalling: PDU octets).',
      labelNames: ['direction', 'plane'],
      registers,
    }),
    directLinkIntegrityFailures: new Counter({
      name: 'prosec_direct_link_integrity_failures_total',
      help: 'PC5 direct link: PDUs whose MAC-I did not verify, by plane.',
      labelNames: ['plane'],
      registers,
    }),
    directLinkReplaysDropped: new Counter({
      name: 'prosec_direct_link_replays_dropped_total',
      help: 'PC5 direct link: PDUs dropped by the replay window (repeated or too old COUNT), by plane.',
      labelNames: ['plane'],
      registers,
    }),
    directLinkRekeys: new Counter({
      name: 'prosec_direct_link_rekeys_total',
      help: 'PC5 direct link: re-keyings started, by trigger (manual, or count: COUNT reached the threshold).',
      labelNames: ['trigger'],
      registers,
    }),
    groupGmkDistributionSeconds: new Histogram({
      name: 'prosec_group_gmk_distribution_seconds',
      help: "Group key distribution (docs/group.md), by solution: scope member = key issued to key installed at one member; scope group = rekey started to the last member's message ready at the key source.",
      labelNames: ['solution', 'scope'],
      buckets: KEY_SETUP_BUCKETS,
      registers,
    }),
    groupCallSetupSeconds: new Histogram({
      name: 'prosec_group_call_setup_seconds',
      help: 'Group call set-up at a member: initiator sent the call-init to this member able to decrypt (Group Security Context installed), by GMK solution.',
      labelNames: ['solution'],
      buckets: KEY_SETUP_BUCKETS,
      registers,
    }),
    groupMediaPackets: new Counter({
      name: 'prosec_group_media_packets_total',
      help: 'Group media PDUs protected (direction tx) or deciphered after checks (rx).',
      labelNames: ['direction'],
      registers,
    }),
    groupMediaBytes: new Counter({
      name: 'prosec_group_media_bytes_total',
      help: 'Group media payload octets protected (tx) or deciphered after checks (rx).',
      labelNames: ['direction'],
      registers,
    }),
    groupDecryptFailures: new Counter({
      name: 'prosec_group_decrypt_failures_total',
      help: 'Group security: messages dropped, by stage (gmk, call, media) and cause (e.g. signature, unknown_key, mac, replay).',
      labelNames: ['stage', 'cause'],
      registers,
    }),
    discoveryMatches: new Counter({
      name: 'prosec_discovery_matches_total',
      help: 'Monitoring UE: announcements that matched an authorized ProSe Application Code, by mode (restricted_nonce, restricted_slot, open).',
      labelNames: ['mode'],
      registers,
    }),
    discoveryRejected: new Counter({
      name: 'prosec_discovery_rejected_total',
      help: 'Monitoring UE: discovery messages rejected, by cause (unknown, bad_mic, bad_signature, stale, replay, malformed).',
      labelNames: ['cause'],
      registers,
    }),
    discoveryLatencySeconds: new Histogram({
      name: 'prosec_discovery_latency_seconds',
      help: 'Monitoring UE: time from the first announcement heard from a PC5 source to its first match, by mode.',
      labelNames: ['mode'],
      buckets: KEY_SETUP_BUCKETS,
      registers,
    }),
    discoveryAnnouncements: new Counter({
      name: 'prosec_discovery_announcements_sent_total',
      help: 'Announcing UE: discovery announcements sent, by mode.',
      labelNames: ['mode'],
      registers,
    }),
    discoveryMatchReports: new Counter({
      name: 'prosec_discovery_match_reports_total',
      help: 'ProSe Function: Model B match reports checked (solution #2.2 with the ProSe Function in the loop), by result.',
      labelNames: ['result'],
      registers,
    }),
    registrationThrottled: new Counter({
      name: 'prosec_registration_throttled_total',
      help: 'ProSe Function: registration attempts refused by the DoS throttle before expensive work, by stage (connection: before the TLS handshake; request: before the policy) and cause (rate_limited, banned).',
      labelNames: ['stage', 'cause'],
      registers,
    }),
  };
  m.nodeInfo.set({ node_role: role }, 1);
  m.ready.set(0);
  return m;
}
