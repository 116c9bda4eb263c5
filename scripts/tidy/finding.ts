/** One thing the tidy check objects to. */
export type CheckName = 'layers' | 'pure' | 'console' | 'focus' | 'any' | 'closure' | 'allowlist';

export interface Finding {
  check: CheckName;
  /** Repository-relative, with forward slashes. */
  path: string;
  /** 1-based; 0 when the finding is about the whole file. */
  line: number;
  message: string;
}

export function formatFinding(finding: Finding): string {
  const where = finding.line > 0 ? `${finding.path}:${finding.line}` : finding.path;
  return `${where}: [${finding.check}] ${finding.message}`;
}
