/**
 * The layers the simulator runs (PURE_SOURCE_DIRS) read time only through a Clock and do I/O only
 * through a Disk: no wall or monotonic clock, no timers, no fs.
 */
import type { Finding } from '../finding.js';
import { PURE_SOURCE_DIRS } from '../layers.js';
import type { FileFacts } from '../parse.js';

const BANNED_MODULES = new Set([
  'fs',
  'node:fs',
  'fs/promises',
  'node:fs/promises',
  'timers',
  'node:timers',
  'timers/promises',
  'node:timers/promises',
  'perf_hooks',
  'node:perf_hooks',
]);
const BANNED_MEMBERS = new Set(['Date.now', 'performance.now', 'process.hrtime', 'process.hrtime.bigint']);
const TIMER_NAMES = new Set(['setTimeout', 'setInterval', 'setImmediate']);
const GLOBAL_OBJECTS = new Set(['globalThis', 'global', 'window']);

function isBannedMember(text: string): boolean {
  if (BANNED_MEMBERS.has(text)) return true;
  const [root, name, ...rest] = text.split('.');
  return (
    rest.length === 0 && root !== undefined && name !== undefined && GLOBAL_OBJECTS.has(root) && TIMER_NAMES.has(name)
  );
}

export function isPurePath(path: string, pureDirs: readonly string[] = PURE_SOURCE_DIRS): boolean {
  return pureDirs.some((dir) => path.startsWith(`${dir}/`));
}

export function checkPurity(files: readonly string[], facts: ReadonlyMap<string, FileFacts>): Finding[] {
  const findings: Finding[] = [];
  for (const path of files.filter((file) => isPurePath(file))) {
    const fileFacts = facts.get(path);
    if (fileFacts === undefined) continue;
    const report = (line: number, what: string): void => {
      findings.push({ check: 'pure', path, line, message: `${what} in a pure layer: use the injected Clock / Disk` });
    };
    for (const fact of fileFacts.imports)
      if (BANNED_MODULES.has(fact.specifier)) report(fact.line, `import of '${fact.specifier}'`);
    for (const usage of fileFacts.usages) {
      if (usage.kind === 'member' && isBannedMember(usage.text)) report(usage.line, usage.text);
      else if (usage.kind === 'global' && TIMER_NAMES.has(usage.text)) report(usage.line, usage.text);
      else if (usage.kind === 'new' && usage.text === 'Date') report(usage.line, 'new Date()');
    }
  }
  return findings;
}
