/** Runs every tidy check over a repository tree and applies the allowlist. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALLOWLIST, type AllowEntry, allows } from './allowlist.js';
import { checkAny } from './checks/any.js';
import { checkClosure } from './checks/closure.js';
import { checkConsole } from './checks/console.js';
import { checkFocus } from './checks/focus.js';
import { checkLayering } from './checks/layering.js';
import { checkPurity } from './checks/purity.js';
import type { Finding } from './finding.js';
import { type FileFacts, parseFacts } from './parse.js';
import { readTree, type Tree } from './tree.js';

export interface TidyResult {
  tree: Tree;
  facts: Map<string, FileFacts>;
  findings: Finding[];
}

export function runTidy(root: string, allowlist: readonly AllowEntry[] = ALLOWLIST): TidyResult {
  const tree = readTree(root);
  const facts = new Map<string, FileFacts>();
  for (const path of [...tree.sourceFiles, ...tree.testFiles])
    facts.set(path, parseFacts(path, readFileSync(join(root, path), 'utf8')));
  const all = [
    ...checkLayering(tree, facts),
    ...checkPurity(tree.sourceFiles, facts),
    ...checkConsole(tree.sourceFiles, facts),
    ...checkAny(tree.sourceFiles, facts),
    ...checkFocus(tree.testFiles, facts),
    ...checkClosure(tree, facts),
  ];
  const findings = all.filter((finding) => !allowlist.some((entry) => allows(entry, finding)));
  for (const entry of allowlist) {
    if (!all.some((finding) => allows(entry, finding))) {
      findings.push({
        check: 'allowlist',
        path: 'scripts/tidy/allowlist.ts',
        line: 0,
        message: `entry for [${entry.check}] ${entry.path} matches nothing: remove it`,
      });
    }
  }
  return { tree, facts, findings };
}
