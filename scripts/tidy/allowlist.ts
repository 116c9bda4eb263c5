/**
 * Findings that are legitimate, each with its reason. Keep it narrow: an entry names one check and
 * one file (and optionally a piece of the message); an entry that matches nothing is itself a finding.
 */
import type { CheckName, Finding } from './finding.js';

export interface AllowEntry {
  check: CheckName;
  path: string;
  /** Only findings whose message contains this. */
  contains?: string;
  reason: string;
}

export const ALLOWLIST: readonly AllowEntry[] = [];

export function allows(entry: AllowEntry, finding: Finding): boolean {
  return (
    entry.check === finding.check &&
    entry.path === finding.path &&
    (entry.contains === undefined || finding.message.includes(entry.contains))
  );
}
