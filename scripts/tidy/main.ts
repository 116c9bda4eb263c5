/**
 * The tidy check (`npm run tidy`, part of `npm run lint`): layering, pure layers, console.log, focused
 * or skipped tests, `any`, and what client, companion, lease and simulator load. Exit status 1 on
 * any finding. Rules: scripts/tidy/layers.ts; exceptions: scripts/tidy/allowlist.ts.
 */
import { fileURLToPath } from 'node:url';
import { formatFinding } from './finding.js';
import { runTidy } from './tidy.js';

const root = process.argv[2] ?? fileURLToPath(new URL('../..', import.meta.url));
const { tree, findings } = runTidy(root);
for (const finding of findings) process.stdout.write(`${formatFinding(finding)}\n`);
const files = tree.sourceFiles.length + tree.testFiles.length;
process.stdout.write(`tidy: ${findings.length} finding(s) in ${files} files of ${tree.packages.length} packages\n`);
process.exitCode = findings.length === 0 ? 0 : 1;
