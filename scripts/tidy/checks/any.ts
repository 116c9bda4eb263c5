/** No `any` in source: `unknown` and a check, or a real type. */
import type { Finding } from '../finding.js';
import type { FileFacts } from '../parse.js';

export function checkAny(sourceFiles: readonly string[], facts: ReadonlyMap<string, FileFacts>): Finding[] {
  const findings: Finding[] = [];
  for (const path of sourceFiles) {
    for (const usage of facts.get(path)?.usages ?? []) {
      if (usage.kind === 'any')
        findings.push({
          check: 'any',
          path,
          line: usage.line,
          message: '`any` type: use unknown and narrow it, or a real type',
        });
    }
  }
  return findings;
}
