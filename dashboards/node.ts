// Per-node view: one (or a few) node processes picked by instance.
import { QueryVariableBuilder, RowBuilder, VariableRefresh } from '@grafana/grafana-foundation-sdk/dashboard';
import { baseDashboard, DS, percentiles, q, RUN, stat, timeseries } from './common.js';

const SEL = `${RUN}, instance=~"$instance"`;
const rate = (m: string) => `rate(${m}{${SEL}}[$__rate_interval])`;

export function node() {
  return baseDashboard(
    'prosec-node',
    'prosec / node',
    'One node process: liveness, traffic, latency, CPU and memory.',
  )
    .withVariable(
      new QueryVariableBuilder('instance')
        .label('Node (instance)')
        .datasource(DS)
        .query(`label_values(up{job="prosec", ${RUN}}, instance)`)
        .definition(`label_values(up{job="prosec", ${RUN}}, instance)`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .includeAll(true)
        .allValue('.+'),
    )
    .withRow(new RowBuilder('Node'))
    .withPanel(stat('Up', 'none', [q(`up{job="prosec", ${SEL}}`, '{{role}} {{instance}}')], { w: 12 }))
    .withPanel(stat('Ready', 'none', [q(`prosec_node_ready{${SEL}}`, '{{role}} {{instance}}')], { w: 12 }))
    .withRow(new RowBuilder('Traffic'))
    .withPanel(
      timeseries('PC5 bytes', 'Bps', [
        q(`sum by (instance) (${rate('prosec_pc5_sent_bytes_total')})`, 'sent {{instance}}'),
        q(`sum by (instance) (${rate('prosec_pc5_received_bytes_total')})`, 'received {{instance}}'),
      ]),
    )
    .withPanel(
      timeseries('PC5 frames', 'pps', [
        q(`sum by (instance) (${rate('prosec_pc5_frames_sent_total')})`, 'sent {{instance}}'),
        q(`sum by (instance) (${rate('prosec_pc5_frames_received_total')})`, 'received {{instance}}'),
        q(
          `sum by (instance, reason) (${rate('prosec_pc5_frames_dropped_total')})`,
          'dropped {{reason}} {{instance}}',
        ),
      ]),
    )
    .withPanel(
      timeseries('PC3 bytes (above TLS)', 'Bps', [
        q(`sum by (instance) (${rate('prosec_pc3_sent_bytes_total')})`, 'sent {{instance}}'),
        q(`sum by (instance) (${rate('prosec_pc3_received_bytes_total')})`, 'received {{instance}}'),
      ]),
    )
    .withPanel(
      timeseries(
        'Key-setup latency by procedure (p50, p95, p99)',
        's',
        percentiles('prosec_key_setup_seconds', `${SEL}, result="ok"`, 'procedure', ''),
      ),
    )
    .withRow(new RowBuilder('Process'))
    .withPanel(
      timeseries('CPU', 'percentunit', [q(rate('process_cpu_seconds_total'), '{{instance}}')], { w: 8 }),
    )
    .withPanel(
      timeseries(
        'Memory',
        'bytes',
        [
          q(`process_resident_memory_bytes{${SEL}}`, 'RSS {{instance}}'),
          q(`nodejs_heap_size_used_bytes{${SEL}}`, 'heap used {{instance}}'),
        ],
        { w: 8 },
      ),
    )
    .withPanel(
      timeseries('Event-loop lag p99', 's', [q(`nodejs_eventloop_lag_p99_seconds{${SEL}}`, '{{instance}}')], {
        w: 8,
      }),
    );
}
