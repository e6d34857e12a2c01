// Runs a node script inside a fresh network namespace that this test creates (unshare -n as root, -rn otherwise),
// after a shell set-up (ip commands) inside it; the namespace disappears with the process. The script prints one
// JSON line last. When this machine cannot create the namespace, the test is skipped, saying why.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { REPO_ROOT } from './paths.js';

// biome-ignore lint/suspicious/noExplicitAny: the child's JSON report, checked by the callers' assertions
type Report = any;

/** argv that runs `command` in a fresh network namespace after `setup` (a shell command list) ran inside it. */
export function namespaceArgv(setup: string, command: string[]): string[] {
  const isRoot = process.geteuid?.() === 0;
  return ['unshare', isRoot ? '-n' : '-rn', '--', 'sh', '-c', `${setup} && exec "$@"`, 'netns', ...command];
}

/** argv that runs an ES-module `script` with this node in a fresh namespace after `setup` (cwd: repository root). */
export function namespaceScriptArgv(setup: string, script: string): string[] {
  return namespaceArgv(setup, [process.execPath, '--input-type=module', '-e', script]);
}

/**
 * Runs argv (cwd: repository root) and parses the last stdout line as JSON. Skips the test and returns undefined
 * when the namespace cannot be created (`unavailable` matches the error text; `what` names it in the skip reason).
 */
export function runInNamespace(
  t: TestContext,
  argv: string[],
  opts: { timeoutMs?: number; unavailable?: RegExp; what?: string } = {},
): Report | undefined {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 20_000,
  });
  const unavailable = opts.unavailable ?? /unshare|Operation not permitted|No such file/;
  if (r.status !== 0 && unavailable.test(`${r.stderr}${r.error?.message ?? ''}`)) {
    t.skip(
      `cannot create ${opts.what ?? 'a network namespace'} here: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}`,
    );
    return undefined;
  }
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}
