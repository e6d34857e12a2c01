// Per-procedure drill-down: count, result, latency percentiles and distribution of one key-setup procedure.
import { QueryVariableBuilder, RowBuilder, VariableRefresh } from '@grafana/grafana-foundation-sdk/dashboard';
import { baseDashboard, DS, heatmap, percentiles, q, RUN, stat, timeseries } from './common.js';

const SEL = `${RUN}, procedure=~"$procedure"`;
const M = 'prosec_key_setup_seconds';

export function procedures() {
  return baseDashboard(
    'prosec-procedures',
    'prosec / procedures',
    'Drill-down into one key-setup procedure (prosec_key_setup_seconds{procedure,method,result}) and the PC3 procedures.',
  )
    .withVariable(
      new QueryVariableBuilder('procedure')
        .label('Procedure')
        .datasource(DS)
        .query(`label_values(${M}_count{${RUN}}, procedure)`)
        .definition(`label_values(${M}_count{${RUN}}, procedure)`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .includeAll(true)
        .allValue('.+'),
    )
    .withRow(new RowBuilder('Key setup: $procedure'))
    .withPanel(
      stat('Key setups by result', 'none', [
        q(`sum by (procedure, method, result) (${M}_count{${SEL}})`, '{{procedure}} {{method}} {{result}}'),
      ]),
    )
    .withPanel(
      stat('Mean latency by method', 's', [
        q(
          `sum by (procedure, method) (${M}_sum{${SEL}, result="ok"}) / sum by (procedure, method) (${M}_count{${SEL}, result="ok"})`,
          '{{procedure}} {{method}}',
        ),
      ]),
    )
    .withPanel(
      timeseries('Key setups per second by result', 'ops', [
        q(`sum by (result) (rate(${M}_count{${SEL}}[$__rate_interval]))`, '{{result}}'),
      ]),
    )
    .withPanel(
      timeseries(
        'Latency by method (p50, p95, p99 since node start)',
        's',
        percentiles(M, `${SEL}, result="ok"`, 'method', ''),
      ),
    )
    .withPanel(
      heatmap(
        'Latency distribution (buckets, since node start)',
        [q(`sum by (le) (${M}_bucket{${SEL}})`, '{{le}}')],
        {
          w: 12,
          description: 'Buckets resolve 0.1 ms to 10 s.',
        },
      ),
    )
    .withRow(new RowBuilder('PC3 procedures'))
    .withPanel(
      timeseries(
        'PC3 registration latency (p50, p95, p99)',
        's',
        percentiles('prosec_pc3_registration_seconds', RUN, 'result', ''),
      ),
    )
    .withPanel(
      timeseries(
        'Enrollment latency (p50, p95, p99)',
        's',
        percentiles('prosec_enrollment_seconds', RUN, 'result', ''),
      ),
    )
    .withPanel(
      timeseries('PC3 requests by type and result', 'none', [
        q(`sum by (type, result) (prosec_pc3_client_requests_total{${RUN}})`, '{{type}} {{result}}'),
      ]),
    )
    .withPanel(
      timeseries('PC3 TLS handshakes by result', 'none', [
        q(`sum by (result, reason) (prosec_pc3_handshakes_total{${RUN}})`, '{{result}} {{reason}}'),
      ]),
    );
}
