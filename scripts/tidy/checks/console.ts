/** Logs go through pino; only the CLI writes its output with console.log. */
import type { Finding } from '../finding.js';
import { CONSOLE_PACKAGES } from '../layers.js';
import type { FileFacts } from '../parse.js';
import { packageDirOf } from '../tree.js';

export function checkConsole(sourceFiles: readonly string[], facts: ReadonlyMap<string, FileFacts>): Finding[] {
  const findings: Finding[] = [];
  for (const path of sourceFiles) {
    const dir = packageDirOf(path);
    if (dir !== undefined && CONSOLE_PACKAGES.includes(dir)) continue;
    for (const usage of facts.get(path)?.usages ?? []) {
      if (usage.kind === 'member' && usage.text === 'console.log') {
        findings.push({
          check: 'console',
          path,
          line: usage.line,
          message: 'console.log outside the CLI: log through pino',
        });
      }
    }
  }
  return findings;
}
