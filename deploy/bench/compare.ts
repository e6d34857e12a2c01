// prosec bench --compare a.json b.json: the difference between two bench reports, per number of UEs.
import type { BenchReport } from './report.js';

export interface Difference {
  ues: number;
  figure: string;
  a: number;
  b: number;
  /** (b - a) / a, or NaN when a is 0. */
  relative: number;
}

/** Flattens the numeric figures of a run (arrays such as CDFs and time series are left out). */
export function flatten(o: unknown, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return out;
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number') out[key] = v;
    else if (v && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flatten(v, key));
  }
  return out;
}

const SKIP = new Set(['ues']);

export function compareReports(a: BenchReport, b: BenchReport): Difference[] {
  const out: Difference[] = [];
  for (const ra of a.runs) {
    const rb = b.runs.find((x) => x.ues === ra.ues);
    if (!rb) continue;
    const fa = flatten(ra);
    const fb = flatten(rb);
    for (const k of Object.keys({ ...fa, ...fb }).sort()) {
      if (SKIP.has(k)) continue;
      const x = fa[k] ?? Number.NaN;
      const y = fb[k] ?? Number.NaN;
      out.push({ ues: ra.ues, figure: k, a: x, b: y, relative: x === 0 ? Number.NaN : (y - x) / x });
    }
  }
  return out;
}

export function renderComparison(aFile: string, bFile: string, a: BenchReport, b: BenchReport): string {
  const d = compareReports(a, b);
  const L: string[] = [
    `# prosec bench --compare`,
    '',
    `a: ${aFile} (${a.createdAt})`,
    `b: ${bFile} (${b.createdAt})`,
    '',
  ];
  const onlyA = a.runs.filter((x) => !b.runs.some((y) => y.ues === x.ues)).map((x) => x.ues);
  const onlyB = b.runs.filter((x) => !a.runs.some((y) => y.ues === x.ues)).map((x) => x.ues);
  if (onlyA.length) L.push(`only in a: ${onlyA.join(', ')} UEs`);
  if (onlyB.length) L.push(`only in b: ${onlyB.join(', ')} UEs`);
  L.push('| UEs | figure | a | b | change |', '|---:|---|---:|---:|---:|');
  for (const x of d) {
    const ch = Number.isFinite(x.relative)
      ? `${x.relative >= 0 ? '+' : ''}${(x.relative * 100).toFixed(1)}%`
      : x.a === x.b || (Number.isNaN(x.a) && Number.isNaN(x.b))
        ? '='
        : 'n/a';
    L.push(`| ${x.ues} | ${x.figure} | ${num(x.a)} | ${num(x.b)} | ${ch} |`);
  }
  return `${L.join('\n')}\n`;
}

function num(v: number): string {
  if (!Number.isFinite(v)) return '-';
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}
