/**
 * What a package loads: the closure of its static runtime imports (type-only imports are erased, and
 * `import()` loads only when that code runs), followed through the workspace's src files. Each
 * CLOSURE_RULES entry names modules its closure must not reach.
 */
import type { Finding } from '../finding.js';
import { CLOSURE_RULES, type ClosureRule } from '../layers.js';
import type { FileFacts } from '../parse.js';
import type { Tree, WorkspacePackage } from '../tree.js';
import { packageNameOf, parseWorkspaceSpecifier } from '../workspace.js';

/** A module in the graph: a repository-relative src file, or an npm package / builtin by name. */
type ModuleId = string;

interface Edge {
  to: ModuleId;
  line: number;
}

function exportTarget(pkg: WorkspacePackage, subpath: string): string | undefined {
  const pick = (entry: unknown): string | undefined => {
    if (typeof entry === 'string') return entry;
    if (typeof entry !== 'object' || entry === null) return undefined;
    const conditions = entry as Record<string, unknown>;
    return pick(conditions['default'] ?? conditions['import'] ?? conditions['node']);
  };
  const exports = pkg.exports;
  if (exports === undefined) return subpath === '.' ? (pkg.main ?? 'index.js') : undefined;
  if (typeof exports === 'string') return subpath === '.' ? exports : undefined;
  if (typeof exports !== 'object' || exports === null) return undefined;
  const map = exports as Record<string, unknown>;
  const keyed = Object.keys(map).some((key) => key.startsWith('.'));
  return keyed ? pick(map[subpath]) : subpath === '.' ? pick(map) : undefined;
}

/** The src file a built entry point ('./dist/direct.js') comes from ('packages/disk/src/direct.ts'). */
function sourceOfBuilt(dir: string, built: string): string {
  const relative = built.replace(/^\.\//, '').replace(/^dist\//, 'src/');
  return `packages/${dir}/${relative.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts')}`;
}

export function resolveWorkspaceSpecifier(tree: Tree, specifier: string): ModuleId | undefined {
  const target = parseWorkspaceSpecifier(specifier);
  const pkg = target === undefined ? undefined : tree.packages.find((candidate) => candidate.dir === target.dir);
  if (target === undefined || pkg === undefined) return undefined;
  const built = exportTarget(pkg, target.subpath);
  return built === undefined ? undefined : sourceOfBuilt(pkg.dir, built);
}

function resolveRelative(from: string, specifier: string, known: ReadonlySet<string>): ModuleId | undefined {
  const parts = from.split('/').slice(0, -1);
  for (const part of specifier.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '.') parts.push(part);
  }
  const base = parts.join('/');
  const candidates = [
    base,
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    `${base}.ts`,
    `${base}/index.ts`,
  ];
  return candidates.find((candidate) => known.has(candidate));
}

function edgesOf(
  tree: Tree,
  path: ModuleId,
  facts: ReadonlyMap<string, FileFacts>,
  known: ReadonlySet<string>,
): Edge[] {
  const edges: Edge[] = [];
  for (const fact of facts.get(path)?.imports ?? []) {
    if (fact.typeOnly || fact.dynamic) continue;
    const to = fact.specifier.startsWith('.')
      ? resolveRelative(path, fact.specifier, known)
      : (resolveWorkspaceSpecifier(tree, fact.specifier) ?? packageNameOf(fact.specifier));
    if (to !== undefined) edges.push({ to, line: fact.line });
  }
  return edges;
}

/** Whether module `id` is (part of) the banned `name`: a workspace package or subpath, or an npm package. */
function matchesBanned(tree: Tree, id: ModuleId, name: string): boolean {
  const target = parseWorkspaceSpecifier(name);
  if (target === undefined) return id === name;
  if (target.subpath === '.') return id.startsWith(`packages/${target.dir}/`);
  return id === resolveWorkspaceSpecifier(tree, name);
}

function checkRule(
  tree: Tree,
  rule: ClosureRule,
  facts: ReadonlyMap<string, FileFacts>,
  known: ReadonlySet<string>,
): Finding[] {
  const entry = resolveWorkspaceSpecifier(tree, rule.entry);
  if (entry === undefined || !known.has(entry)) {
    const dir = parseWorkspaceSpecifier(rule.entry)?.dir;
    // A rule for a package that does not exist (yet) has nothing to check.
    if (dir !== undefined && !tree.packages.some((pkg) => pkg.dir === dir)) return [];
    return [
      {
        check: 'closure',
        path: 'scripts/tidy/layers.ts',
        line: 0,
        message: `cannot resolve ${rule.entry} to a src file`,
      },
    ];
  }
  const parent = new Map<ModuleId, { from: ModuleId; line: number } | undefined>([[entry, undefined]]);
  const queue: ModuleId[] = [entry];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const edge of edgesOf(tree, next, facts, known)) {
      if (parent.has(edge.to)) continue;
      parent.set(edge.to, { from: next, line: edge.line });
      if (known.has(edge.to)) queue.push(edge.to);
    }
  }
  const findings: Finding[] = [];
  for (const banned of rule.mustNotReach) {
    const reached = [...parent.keys()].find((id) => matchesBanned(tree, id, banned));
    if (reached === undefined) continue;
    const chain: ModuleId[] = [];
    for (let id: ModuleId | undefined = reached; id !== undefined; id = parent.get(id)?.from) chain.unshift(id);
    const step = parent.get(reached);
    findings.push({
      check: 'closure',
      path: step?.from ?? reached,
      line: step?.line ?? 0,
      message: `${rule.entry} reaches ${banned} (${rule.why}): ${chain.join(' -> ')}`,
    });
  }
  return findings;
}

/** The modules `entry` loads, for tests and for reading: every id its static runtime imports reach. */
export function closureOf(tree: Tree, entry: string, facts: ReadonlyMap<string, FileFacts>): Set<ModuleId> {
  const known = new Set(facts.keys());
  const start = resolveWorkspaceSpecifier(tree, entry);
  const seen = new Set<ModuleId>();
  const queue = start === undefined ? [] : [start];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (seen.has(next)) continue;
    seen.add(next);
    if (known.has(next)) queue.push(...edgesOf(tree, next, facts, known).map((edge) => edge.to));
  }
  return seen;
}

export function checkClosure(
  tree: Tree,
  facts: ReadonlyMap<string, FileFacts>,
  rules: readonly ClosureRule[] = CLOSURE_RULES,
): Finding[] {
  const known = new Set(facts.keys());
  return rules.flatMap((rule) => checkRule(tree, rule, facts, known));
}
