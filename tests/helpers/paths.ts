// Locations tests need: the repository root and the shared official test vectors.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'crypto-core'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the prosec repository root above ${start}`);
    dir = up;
  }
}

/** The repository root (works from tests/ sources and from dist/tests/). */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

/** ../shared/vectors beside the repository, or $PROSEC_VECTORS. */
export const VECTORS_DIR = process.env.PROSEC_VECTORS ?? resolve(REPO_ROOT, '..', 'shared', 'vectors');

/** Loads one official vector file (JSON) from the shared vectors folder. */
export function loadVectors<T = unknown>(file: string): T {
  const path = join(VECTORS_DIR, file);
  if (!existsSync(path)) throw new Error(`official test vectors not found: ${path} (set PROSEC_VECTORS)`);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
