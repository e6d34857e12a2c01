// Overview: nodes up by role, PC5/PC3 throughput, key-setup latency per procedure, errors, cost.
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { baseDashboard, percentiles, q, RUN, stat, timeseries } from './common.js';

const rate = (m: string, extra = '') => `rate(${m}{${RUN}${extra}}[$__rate_interval])`;

export function overview() {
  return baseDashboard(
    'prosec-overview',
    'prosec / overview',
    'One prosec run: which nodes are up, PC5 and PC3 throughput, key-setup latency per procedure, errors, cost.',
  )
    .withRow(new RowBuilder('Nodes'))
    .withPanel(
      stat('Nodes up by role', 'none', [q(`sum by (role) (up{job="prosec", ${RUN}})`, '{{role}}')], {
        w: 12,
        description: 'Targets Prometheus scraped successfully, by role (from the run targets.json).',
      }),
    )
    .withPanel(
      timeseries('Nodes ready by role', 'none', [q(`sum by (role) (prosec_node_ready{${RUN}})`, '{{role}}')]),
    )
    .withRow(new RowBuilder('Throughput'))
    .withPanel(
      timeseries('PC5 throughput', 'Bps', [
        q(`sum by (kind) (${rate('prosec_pc5_sent_bytes_total')})`, 'sent {{kind}}'),
        q(`sum by (kind) (${rate('prosec_pc5_received_bytes_total')})`, 'received {{kind}}'),
      ]),
    )
    .withPanel(
      timeseries('PC5 frames', 'pps', [
        q(`sum by (kind) (${rate('prosec_pc5_frames_sent_total')})`, 'sent {{kind}}'),
        q(`sum by (kind) (${rate('prosec_pc5_frames_received_total')})`, 'received {{kind}}'),
      ]),
    )
    .withPanel(
      timeseries('PC3 throughput (above TLS)', 'Bps', [
        q(`sum by (role) (${rate('prosec_pc3_sent_bytes_total')})`, 'sent by {{role}}'),
        q(`sum by (role) (${rate('prosec_pc3_received_bytes_total')})`, 'received by {{role}}'),
      ]),
    )
    .withPanel(
      timeseries('PC3 frames', 'pps', [
        q(`sum by (role) (${rate('prosec_pc3_frames_sent_total')})`, 'sent by {{role}}'),
        q(`sum by (role) (${rate('prosec_pc3_frames_received_total')})`, 'received by {{role}}'),
      ]),
    )
    .withRow(new RowBuilder('PC5 direct links'))
    .withPanel(
      timeseries('Direct links: protected octets', 'Bps', [
        q(
          `sum by (direction, plane) (${rate('prosec_direct_link_protected_bytes_total')})`,
          '{{direction}} {{plane}}',
        ),
      ]),
    )
    .withPanel(
      timeseries('Direct links: protected PDUs and re-keys', 'none', [
        q(
          `sum by (direction, plane) (${rate('prosec_direct_link_protected_packets_total')})`,
          'PDUs/s {{direction}} {{plane}}',
        ),
        q(`sum by (trigger) (prosec_direct_link_rekeys_total{${RUN}})`, 're-keys (cumulative) {{trigger}}'),
      ]),
    )
    .withRow(new RowBuilder('UE-to-network relay'))
    .withPanel(
      timeseries('Relay user data (payload octets)', 'Bps', [
        q(`sum by (direction) (${rate('prosec_relay_bytes_total')})`, '{{direction}}'),
      ]),
    )
    .withPanel(
      timeseries("EAP-AKA' authentications and RADIUS (cumulative)", 'none', [
        q(
          `sum by (role, result, method) (prosec_eap_auth_results_total{${RUN}})`,
          'EAP {{result}} {{method}} at {{role}}',
        ),
        q(`sum by (outcome) (prosec_radius_requests_total{${RUN}})`, 'RADIUS {{outcome}}'),
      ]),
    )
    .withRow(new RowBuilder('Discovery'))
    .withPanel(
      timeseries(
        'Discovery latency (p50, p95, p99): listening start to first match per announcer',
        's',
        percentiles('prosec_discovery_latency_seconds', RUN, 'mode', ''),
        { w: 8 },
      ),
    )
    .withPanel(
      timeseries(
        'Discovery announcements and matches',
        'pps',
        [
          q(`sum by (mode) (${rate('prosec_discovery_announcements_sent_total')})`, 'announced {{mode}}'),
          q(`sum by (mode) (${rate('prosec_discovery_matches_total')})`, 'matched {{mode}}'),
        ],
        { w: 8 },
      ),
    )
    .withPanel(
      timeseries(
        'Discovery rejections and registrations (cumulative)',
        'none',
        [
          q(`sum by (cause) (prosec_discovery_rejected_total{${RUN}})`, 'announcement rejected: {{cause}}'),
          q(`sum by (result) (prosec_registrations_total{${RUN}})`, 'registration {{result}}'),
          q(`sum by (result) (prosec_discovery_match_reports_total{${RUN}})`, 'match report {{result}}'),
        ],
        { w: 8 },
      ),
    )
    .withRow(new RowBuilder('Group communication'))
    .withPanel(
      timeseries('GMK distribution and group call set-up (p50, p95, p99)', 's', [
        ...percentiles('prosec_group_gmk_distribution_seconds', RUN, 'solution', 'GMK'),
        ...percentiles('prosec_group_call_setup_seconds', RUN, 'solution', 'call set-up'),
      ]),
    )
    .withPanel(
      timeseries('Group media and decrypt failures', 'none', [
        q(`sum by (direction) (${rate('prosec_group_media_packets_total')})`, 'media PDUs/s {{direction}}'),
        q(
          `sum by (stage, cause) (prosec_group_decrypt_failures_total{${RUN}})`,
          'decrypt failures (cumulative) {{stage}} {{cause}}',
        ),
      ]),
    )
    .withRow(new RowBuilder('Latency'))
    .withPanel(
      timeseries(
        'Key-setup latency by procedure (p50, p95, p99 since node start)',
        's',
        percentiles('prosec_key_setup_seconds', `${RUN}, result="ok"`, 'procedure', ''),
        {
          description:
            'Successful setups only: prosec_key_setup_seconds{procedure,method,result="ok"}; see the procedures dashboard.',
        },
      ),
    )
    .withPanel(
      timeseries('PC3 registration and enrollment latency (p50, p95, p99)', 's', [
        ...percentiles('prosec_pc3_registration_seconds', RUN, 'result', 'registration'),
        ...percentiles('prosec_enrollment_seconds', RUN, 'result', 'enrollment'),
      ]),
    )
    .withRow(new RowBuilder('Errors'))
    .withPanel(
      timeseries(
        'Errors (cumulative since node start)',
        'none',
        [
          q(`sum by (reason) (prosec_pc5_frames_dropped_total{${RUN}})`, 'PC5 dropped: {{reason}}'),
          q(
            `sum by (reason) (prosec_pc3_handshakes_total{${RUN}, result="failed"})`,
            'PC3 TLS handshake failed: {{reason}}',
          ),
          q(
            `sum by (result) (prosec_registrations_total{${RUN}, result!="accepted"})`,
            'registration rejected: {{result}}',
          ),
          q(
            `sum by (cause) (prosec_pc3_enrollments_total{${RUN}, result="rejected"})`,
            'enrollment rejected: {{cause}}',
          ),
          q(`sum by (reason) (prosec_relay_dropped_total{${RUN}})`, 'relay dropped: {{reason}}'),
          q(`sum by (reason) (prosec_radius_dropped_total{${RUN}})`, 'RADIUS dropped: {{reason}}'),
          q(
            `sum by (cause) (prosec_eap_auth_results_total{${RUN}, result="failure"})`,
            "EAP-AKA' failed: {{cause}}",
          ),
        ],
        { w: 24 },
      ),
    )
    .withRow(new RowBuilder('Cost'))
    .withPanel(
      timeseries('CPU by role', 'percentunit', [
        q(`sum by (role) (${rate('process_cpu_seconds_total')})`, '{{role}}'),
      ]),
    )
    .withPanel(
      timeseries('Resident memory by role', 'bytes', [
        q(`sum by (role) (process_resident_memory_bytes{${RUN}})`, '{{role}}'),
      ]),
    );
}
