// Process helpers for tests that run the real CLI: spawn, wait, and check that no node survives.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

export const CLI = join(REPO_ROOT, 'dist', 'deploy', 'cli.js');

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runCli(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal });
    });
  });
  return { child, stdout: () => out, stderr: () => err, exit };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The run.json of the only run under runsDir (undefined until it exists). */
export function readRunState(runsDir: string):
  | {
      runId: string;
      state: string;
      orchestratorPid: number;
      nodes: {
        id: string;
        role: string;
        pid: number;
        metricsPort: number;
        endpoints: Record<string, number>;
      }[];
    }
  | undefined {
  if (!existsSync(runsDir)) return undefined;
  for (const d of readdirSync(runsDir)) {
    const f = join(runsDir, d, 'run.json');
    if (existsSync(f)) {
      try {
        return JSON.parse(readFileSync(f, 'utf8'));
      } catch {
        return undefined; // being written
      }
    }
  }
  return undefined;
}

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the run under runsDir reports the traffic phase, and returns its state (PIDs, ports). */
export function waitRunning(runsDir: string, timeoutMs = 60_000) {
  return waitFor(
    'the run to be running',
    () => {
      const st = readRunState(runsDir);
      return st?.state === 'running' ? st : undefined;
    },
    timeoutMs,
  );
}
