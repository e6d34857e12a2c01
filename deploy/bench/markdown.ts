// Markdown tables laid out the way the formatter (Biome) lays them out: padded cells, aligned columns.

export function mdTable(head: string[], align: ('l' | 'r')[], rows: (string | number)[][]): string[] {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(3, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (align[i] === 'r' ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join(' | ')} |`;
  const sep = `| ${w.map((n, i) => (align[i] === 'r' ? `${'-'.repeat(n - 1)}:` : '-'.repeat(n))).join(' | ')} |`;
  return [line(head), sep, ...cells.slice(1).map(line)];
}
