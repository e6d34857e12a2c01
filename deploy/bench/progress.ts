// A hand-rolled progress bar on stderr: redrawn in place on a terminal, a line per 10% otherwise.

export class ProgressBar {
  private lastDecile = -1;
  private lastDraw = 0;
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly width = 30,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  /** fraction in 0..1; label is what happens now. */
  update(fraction: number, label: string): void {
    const f = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(f * this.width);
    const line = `[${'#'.repeat(filled)}${'-'.repeat(this.width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${label}`;
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw < 100 && f < 1) return;
      this.lastDraw = now;
      this.out.write(`\r\x1b[2K${line.slice(0, (this.out.columns ?? 120) - 1)}`);
    } else {
      const decile = Math.floor(f * 10);
      if (decile === this.lastDecile) return;
      this.lastDecile = decile;
      this.out.write(`${line}\n`);
    }
  }

  /** Prints a message above the bar. */
  log(msg: string): void {
    if (this.tty) this.out.write(`\r\x1b[2K${msg}\n`);
    else this.out.write(`${msg}\n`);
  }

  done(): void {
    if (this.tty) this.out.write('\n');
  }
}

/** Maps the orchestrator's progress lines of one run to a fraction of that run (start-up 0-0.5, traffic 0.5-0.95). */
export function runFraction(line: string, durationS: number, current: number): number {
  const ready = /UEs ready (\d+)\/(\d+)/.exec(line);
  if (ready) return (0.5 * Number(ready[1])) / Math.max(1, Number(ready[2]));
  if (/^all nodes up/.test(line)) return 0.5;
  const left = /traffic phase: (\d+) s left/.exec(line);
  if (left) return 0.5 + 0.45 * (1 - Number(left[1]) / Math.max(1, durationS));
  return current;
}
