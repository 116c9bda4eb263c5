#!/usr/bin/env node
// Thin shim so the bin link exists before the TypeScript build runs. CommonJS (see package.json
// beside it): Node then starts no ES module loader, which costs every command 20-30 ms of CPU.
// It requires the launcher bundle (scripts/bundle.mjs), which runs the command's bundle, or falls
// back to dist/ (no bundles yet, stale ones, LEASEHOLD_NO_BUNDLE=1). A link named like a command
// (lvs -> leasehold) runs that command.
'use strict';
let launcher;
try {
  launcher = require('../bundle/_launcher.cjs');
} catch (error) {
  if (error === null || typeof error !== 'object' || error.code !== 'MODULE_NOT_FOUND') throw error;
}
if (launcher === undefined) import('../dist/launcher.js');
else launcher.launch().then((ran) => (ran ? undefined : import('../dist/main.js')));
