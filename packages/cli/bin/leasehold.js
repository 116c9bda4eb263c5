#!/usr/bin/env node
// Thin shim so the bin link exists before the TypeScript build runs.
import '../dist/main.js';
