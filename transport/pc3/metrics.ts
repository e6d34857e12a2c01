// Counters of the PC3 transport, reported through a small sink the node runtime maps to Prometheus.

/**
 * Counter names and their labels (label values are from fixed sets; never secrets, never raw peer input):
 * - pc3_handshakes_total {result: ok|failed|refused, reason: none|no_certificate|bad_certificate|revoked|role_not_allowed|protocol|other|throttled}
 *   (refused: the connection was cut by the admission check before any TLS work)
 * - pc3_messages_total {direction: in|out, type: <known type>|unknown, result: ok|malformed|unknown_type|unsupported_version|handler_error|rate_limited|unexpected|unmatched}
 * - pc3_protocol_errors_total {cause: oversize|truncated|malformed|unknown_type|unsupported_version|too_many_errors|write_backlog}
 * - pc3_connections_closed_total {reason: peer_closed|tls_error|protocol_error|local_close|socket_error|idle_timeout}
 * - pc3_enrollments_total {result: ok|rejected, cause: none|bad_token|bad_key|not_allowed|malformed|rate_limited}
 * - pc3_client_requests_total {type, result: ok|timeout|closed|send_failed}
 * - pc3_frames_sent_total, pc3_frames_received_total, pc3_sent_bytes_total, pc3_received_bytes_total (no labels):
 *   PC3 frames and octets (length prefix + message, above TLS) per direction, client and server side
 */
export type Pc3CounterName =
  | 'pc3_handshakes_total'
  | 'pc3_messages_total'
  | 'pc3_protocol_errors_total'
  | 'pc3_connections_closed_total'
  | 'pc3_enrollments_total'
  | 'pc3_client_requests_total'
  | 'pc3_frames_sent_total'
  | 'pc3_frames_received_total'
  | 'pc3_sent_bytes_total'
  | 'pc3_received_bytes_total';

export interface Pc3MetricsSink {
  inc(name: Pc3CounterName, labels: Readonly<Record<string, string>>, value?: number): void;
}

/** Minimal structured logger, compatible with pino's (obj, msg) signature. */
export interface Pc3Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const NOOP_METRICS: Pc3MetricsSink = { inc() {} };
export const NOOP_LOGGER: Pc3Logger = { debug() {}, info() {}, warn() {} };

function key(name: string, labels: Readonly<Record<string, string>>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`);
  return `${name}{${sorted.join(',')}}`;
}

/** In-memory sink (tests, benches, and a fallback when Prometheus is off). */
export class CountingMetrics implements Pc3MetricsSink {
  private readonly counts = new Map<
    string,
    { name: string; labels: Record<string, string>; value: number }
  >();

  inc(name: Pc3CounterName, labels: Readonly<Record<string, string>>, value = 1): void {
    const k = key(name, labels);
    const e = this.counts.get(k);
    if (e) e.value += value;
    else this.counts.set(k, { name, labels: { ...labels }, value });
  }

  /** Sum of a counter over every series whose labels include `match`. */
  get(name: Pc3CounterName, match: Readonly<Record<string, string>> = {}): number {
    let n = 0;
    for (const e of this.counts.values()) {
      if (e.name !== name) continue;
      if (Object.entries(match).every(([k, v]) => e.labels[k] === v)) n += e.value;
    }
    return n;
  }

  /** Every series as `name{k=v,...}` -> value. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, e] of this.counts) out[k] = e.value;
    return out;
  }
}
