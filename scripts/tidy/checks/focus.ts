/** Every test runs in every run: no focused (`.only`) or skipped (`.skip`, `.skipIf`, `.runIf`, `.todo`) tests. */
import type { Finding } from '../finding.js';
import type { FileFacts } from '../parse.js';

const FOCUS_NAMES = new Set(['only', 'skip', 'skipIf', 'runIf', 'todo']);

export function checkFocus(testFiles: readonly string[], facts: ReadonlyMap<string, FileFacts>): Finding[] {
  const findings: Finding[] = [];
  for (const path of testFiles) {
    for (const usage of facts.get(path)?.usages ?? []) {
      const name = usage.text.split('.').at(-1) ?? '';
      if (usage.kind === 'member' && FOCUS_NAMES.has(name)) {
        findings.push({
          check: 'focus',
          path,
          line: usage.line,
          message: `${usage.text}: tests are never focused or skipped`,
        });
      }
    }
  }
  return findings;
}
