import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { VECTORS_DIR } from './helpers/paths.js';

test('the shared official vector folder is present beside the repository', () => {
  const files = readdirSync(VECTORS_DIR).filter((f) => f.endsWith('.json'));
  assert.ok(
    files.length >= 10,
    `expected the official vector files in ${VECTORS_DIR}, found ${files.length}`,
  );
});
