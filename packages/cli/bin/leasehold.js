#!/usr/bin/env node
// Thin shim so the bin link exists before the TypeScript build runs. The launcher picks the
// command's bundle (or falls back to dist/main.js); a link named like a command (lvs -> leasehold)
// runs that command.
import '../dist/launcher.js';
