#!/usr/bin/env node
// prosec command-line entry: runs the compiled CLI (npm install builds it).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/deploy/cli.js', import.meta.url));
if (!existsSync(cli)) {
  console.error('prosec is not built yet: run `npm install` (or `npm run build`) first');
  process.exit(2);
}
await import(cli);
