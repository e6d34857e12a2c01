// Small hand-written SVG line charts for bench reports (no dependencies, no browser).

export interface Series {
  name: string;
  points: [number, number][];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  /** Draw steps (CDF of bucketed data) instead of straight segments. */
  step?: boolean;
  yMin?: number;
  yMax?: number;
  /** Tick label of the x axis (default fmt). */
  xFormat?: (v: number) => string;
  width?: number;
  height?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A "nice" tick step covering `span` with about `n` ticks. */
function niceStep(span: number, n: number): number {
  const raw = span / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

export function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

/** Seconds with a unit: 100 µs, 1 ms, 2.5 s. */
export function fmtSeconds(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1) return `${+v.toPrecision(3)} s`;
  if (a >= 1e-3) return `${+(v * 1e3).toPrecision(3)} ms`;
  return `${+(v * 1e6).toPrecision(3)} µs`;
}

/** Renders a line chart. Every series point must be finite (and > 0 on a log axis); others are skipped. */
export function lineChart(series: Series[], o: ChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 420;
  const m = { l: 70, r: 20, t: 40, b: 50 };
  const legendH = 18 * Math.ceil(series.length / 3);
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b - legendH;
  const ok = (x: number, y: number) => Number.isFinite(x) && Number.isFinite(y) && (!o.logX || x > 0);
  const all = series.flatMap((s) => s.points.filter(([x, y]) => ok(x, y)));
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
  );
  if (all.length === 0) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text>`, '</svg>');
    return `${parts.join('\n')}\n`;
  }
  const tx = (x: number) => (o.logX ? Math.log10(x) : x);
  let x0 = Math.min(...all.map(([x]) => tx(x)));
  let x1 = Math.max(...all.map(([x]) => tx(x)));
  if (o.logX) {
    x0 = Math.floor(x0);
    x1 = Math.ceil(x1);
  }
  if (x1 === x0) x1 = x0 + 1;
  let y0 = o.yMin ?? Math.min(0, ...all.map(([, y]) => y));
  let y1 = o.yMax ?? Math.max(...all.map(([, y]) => y));
  if (y1 === y0) y1 = y0 + 1;
  const ys = niceStep(y1 - y0, 5);
  if (o.yMax === undefined) y1 = Math.ceil(y1 / ys) * ys;
  if (o.yMin === undefined) y0 = Math.floor(y0 / ys) * ys;
  const px = (x: number) => m.l + ((tx(x) - x0) / (x1 - x0)) * pw;
  const py = (y: number) => m.t + ph - ((y - y0) / (y1 - y0)) * ph;
  // Axes, grid and ticks.
  parts.push(`<g stroke="#ccc" stroke-width="1">`);
  const yTicks: number[] = [];
  for (let v = y0; v <= y1 + ys / 1e6 && yTicks.length < 50; v += ys) yTicks.push(v);
  for (const v of yTicks) parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${py(v)}" y2="${py(v)}"/>`);
  const xTicks: number[] = [];
  if (o.logX) for (let e = x0; e <= x1; e++) xTicks.push(10 ** e);
  else {
    const xs = niceStep(x1 - x0, 6);
    for (let v = Math.ceil(x0 / xs) * xs; v <= x1 + xs / 1e6 && xTicks.length < 50; v += xs) xTicks.push(v);
  }
  for (const v of xTicks) parts.push(`<line x1="${px(v)}" x2="${px(v)}" y1="${m.t}" y2="${m.t + ph}"/>`);
  parts.push('</g>');
  parts.push(
    `<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    ...yTicks.map(
      (v) =>
        `<text x="${m.l - 6}" y="${py(v) + 4}" text-anchor="end">${esc(fmt(Number(v.toPrecision(6))))}</text>`,
    ),
    ...xTicks.map(
      (v) =>
        `<text x="${px(v)}" y="${m.t + ph + 16}" text-anchor="middle">${esc((o.xFormat ?? fmt)(Number(v.toPrecision(6))))}</text>`,
    ),
    `<text x="${m.l + pw / 2}" y="${m.t + ph + 36}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`,
  );
  // Series.
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    const pts = s.points.filter(([x, y]) => ok(x, y)).sort((a, b) => a[0] - b[0]);
    const coords: string[] = [];
    pts.forEach(([x, y], j) => {
      if (o.step && j > 0) coords.push(`${px(x).toFixed(1)},${py(pts[j - 1]![1]).toFixed(1)}`);
      coords.push(`${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    });
    parts.push(
      `<polyline data-series="${esc(s.name)}" fill="none" stroke="${c}" stroke-width="2" points="${coords.join(' ')}"/>`,
    );
    if (pts.length <= 12)
      for (const [x, y] of pts)
        parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${c}"/>`);
    const lx = m.l + (i % 3) * (pw / 3);
    const ly = H - legendH + 4 + Math.floor(i / 3) * 18;
    parts.push(
      `<rect x="${lx}" y="${ly}" width="14" height="4" fill="${c}"/>`,
      `<text x="${lx + 20}" y="${ly + 6}">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
