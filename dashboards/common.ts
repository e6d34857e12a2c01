// Shared pieces of the prosec Grafana dashboards (built with @grafana/grafana-foundation-sdk).
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  type Dashboard,
  DashboardBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  VariableRefresh,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as HeatmapPanelBuilder } from '@grafana/grafana-foundation-sdk/heatmap';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/** Every panel uses the dashboard's `datasource` variable (any Prometheus data source). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template.
export const DS = { type: 'prometheus', uid: '${datasource}' };

/** Label matcher of the run variable (every series carries the `run` label from targets.json). */
export const RUN = 'run=~"$run"';

export interface Query {
  expr: string;
  legend: string;
}

export const q = (expr: string, legend: string): Query => ({ expr, legend });

function targets(qs: Query[], format?: PromQueryFormat): cog.Builder<cog.Dataquery>[] {
  return qs.map((x, i) => {
    const b = new DataqueryBuilder()
      .datasource(DS)
      .expr(x.expr)
      .legendFormat(x.legend)
      .refId(String.fromCharCode(65 + i));
    return format ? b.format(format) : b;
  });
}

export function timeseries(
  title: string,
  unit: string,
  qs: Query[],
  o: { w?: number; h?: number; description?: string } = {},
) {
  return new TimeseriesBuilder()
    .title(title)
    .description(o.description ?? '')
    .datasource(DS)
    .unit(unit)
    .span(o.w ?? 12)
    .height(o.h ?? 8)
    .fillOpacity(10)
    .targets(targets(qs));
}

export function stat(title: string, unit: string, qs: Query[], o: { w?: number; description?: string } = {}) {
  return new StatBuilder()
    .title(title)
    .description(o.description ?? '')
    .datasource(DS)
    .unit(unit)
    .span(o.w ?? 6)
    .height(5)
    .targets(targets(qs));
}

export function heatmap(title: string, qs: Query[], o: { w?: number; description?: string } = {}) {
  return new HeatmapPanelBuilder()
    .title(title)
    .description(o.description ?? '')
    .datasource(DS)
    .span(o.w ?? 12)
    .height(8)
    .calculate(false)
    .targets(targets(qs, PromQueryFormat.Heatmap));
}

/** The three latency percentiles of a cumulative histogram (since node start, i.e. over the run). */
export function percentiles(metric: string, matchers: string, by: string, what: string): Query[] {
  return [0.5, 0.95, 0.99].map((p) =>
    q(
      `histogram_quantile(${p}, sum by (le, ${by}) (${metric}_bucket{${matchers}}))`,
      `p${Math.round(p * 100)} {{${by}}}${what ? ` ${what}` : ''}`,
    ),
  );
}

export function baseDashboard(uid: string, title: string, description: string): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['prosec'])
    .refresh('5s')
    .time({ from: 'now-15m', to: 'now' })
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder('run')
        .label('Run')
        .datasource(DS)
        .query('label_values(prosec_node_info, run)')
        .definition('label_values(prosec_node_info, run)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .includeAll(true)
        .allValue('.+'),
    );
}

export type { Dashboard };
