// Adapters from the transports' counter sinks to the node's Prometheus metrics.
import { Counter } from 'prom-client';
import type { Pc3CounterName, Pc3MetricsSink } from '../../transport/pc3/metrics.js';
import type { Pc5MetricsSink } from '../../transport/pc5/medium.js';
import type { NodeMetrics } from './metrics.js';

/** PC5 medium counters -> prosec_pc5_* metrics. */
export function pc5Sink(m: NodeMetrics): Pc5MetricsSink {
  const sent = { group: m.pc5FramesSent.labels('group'), unicast: m.pc5FramesSent.labels('unicast') };
  const recv = { group: m.pc5FramesReceived.labels('group'), unicast: m.pc5FramesReceived.labels('unicast') };
  const sentB = { group: m.pc5BytesSent.labels('group'), unicast: m.pc5BytesSent.labels('unicast') };
  const recvB = { group: m.pc5BytesReceived.labels('group'), unicast: m.pc5BytesReceived.labels('unicast') };
  return {
    frameSent(kind, bytes) {
      sent[kind].inc();
      sentB[kind].inc(bytes);
    },
    frameReceived(kind, bytes) {
      recv[kind].inc();
      recvB[kind].inc(bytes);
    },
    frameDropped(reason) {
      m.pc5FramesDropped.inc({ reason });
    },
  };
}

/** Label names of each PC3 transport counter (transport/pc3/metrics.ts documents the values). */
const PC3_LABELS: Record<Pc3CounterName, string[]> = {
  pc3_handshakes_total: ['result', 'reason'],
  pc3_messages_total: ['direction', 'type', 'result'],
  pc3_protocol_errors_total: ['cause'],
  pc3_connections_closed_total: ['reason'],
  pc3_enrollments_total: ['result', 'cause'],
  pc3_client_requests_total: ['type', 'result'],
  pc3_frames_sent_total: [],
  pc3_frames_received_total: [],
  pc3_sent_bytes_total: [],
  pc3_received_bytes_total: [],
};

const PC3_HELP: Record<Pc3CounterName, string> = {
  pc3_handshakes_total:
    'PC3/enrollment TLS handshakes seen by a server, by result (ok, failed; refused: connection cut by the admission throttle before TLS, reason throttled) and failure reason.',
  pc3_messages_total: 'PC3 messages, by direction, type and result.',
  pc3_protocol_errors_total: 'PC3 framing/protocol errors, by cause.',
  pc3_connections_closed_total: 'PC3 connections closed, by reason.',
  pc3_enrollments_total: 'Certificate enrollments handled by the KMS, by result and cause.',
  pc3_client_requests_total: 'PC3 requests made by a client, by type and result.',
  pc3_frames_sent_total: 'PC3 frames (one message each) sent, client and server side.',
  pc3_frames_received_total: 'PC3 frames received (well framed; valid or not), client and server side.',
  pc3_sent_bytes_total: 'PC3 octets sent above TLS (length prefix + message), client and server side.',
  pc3_received_bytes_total: 'PC3 octets received above TLS, client and server side.',
};

/** PC3 transport counters -> prosec_pc3_* metrics (created once per registry). */
/** One PC3 sink per registry: a node may run several PC3 clients/servers (registering twice would throw). */
const pc3Sinks = new WeakMap<NodeMetrics, Pc3MetricsSink>();

export function pc3Sink(m: NodeMetrics): Pc3MetricsSink {
  const cached = pc3Sinks.get(m);
  if (cached) return cached;
  const counters = new Map<Pc3CounterName, Counter>();
  for (const name of Object.keys(PC3_LABELS) as Pc3CounterName[]) {
    counters.set(
      name,
      new Counter({
        name: `prosec_${name}`,
        help: PC3_HELP[name],
        labelNames: PC3_LABELS[name],
        registers: [m.registry],
      }),
    );
  }
  const sink: Pc3MetricsSink = {
    inc(name, labels, value = 1) {
      counters.get(name)?.inc(labels as Record<string, string>, value);
    },
  };
  pc3Sinks.set(m, sink);
  return sink;
}
