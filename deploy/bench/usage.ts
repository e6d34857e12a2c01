// Usage text of prosec bench (kept apart so the CLI loads the bench code only when it runs).
export const BENCH_USAGE = `  prosec bench [scenario.yaml] [--ues N[,N...]] [--duration 10s] [--out DIR] [--runs-dir DIR] [--no-prometheus]
      Runs the scenario once per UE count (a sweep), with a real Prometheus when installed, and writes a report
      folder (default bench-reports/<time>/): report.json, report.md, SVG charts.
  prosec bench --compare a.json b.json [--out diff.md]
      Shows the difference between two bench reports (report.json files).`;
