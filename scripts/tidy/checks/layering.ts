/**
 * Imports go down the layers only: package.json dependencies and the import statements of every
 * package's src (type-only and dynamic imports included: both are dependencies of the code).
 */
import { posix } from 'node:path';
import type { Finding } from '../finding.js';
import { SCOPE } from '../layers.js';
import type { FileFacts } from '../parse.js';
import { packageDirOf, type Tree } from '../tree.js';
import { isTestOnly, layerOf, parseWorkspaceSpecifier } from '../workspace.js';

function tableFindings(tree: Tree): Finding[] {
  const findings: Finding[] = [];
  for (const pkg of tree.packages) {
    if (layerOf(pkg.dir) === undefined && !isTestOnly(pkg.dir)) {
      findings.push({
        check: 'layers',
        path: `packages/${pkg.dir}/package.json`,
        line: 0,
        message: `package ${pkg.dir} has no layer: add it to LAYERS in scripts/tidy/layers.ts`,
      });
    }
  }
  return findings;
}

/** Why `fromDir` may not depend on `toDir`, or undefined when it may. */
function upwardReason(fromDir: string, toDir: string): string | undefined {
  if (fromDir === toDir) return undefined;
  if (isTestOnly(toDir)) return isTestOnly(fromDir) ? undefined : `${SCOPE}${toDir} is for tests only`;
  const from = layerOf(fromDir);
  const to = layerOf(toDir);
  if (from === undefined || to === undefined) return undefined; // reported by tableFindings
  if (to > from) return `${SCOPE}${toDir} is in a higher layer than ${fromDir} (scripts/tidy/layers.ts)`;
  if (to === from) return `${SCOPE}${toDir} is in the same layer as ${fromDir} (scripts/tidy/layers.ts)`;
  return undefined;
}

function manifestFindings(tree: Tree): Finding[] {
  const findings: Finding[] = [];
  for (const pkg of tree.packages) {
    for (const dependency of pkg.dependencies) {
      const target = parseWorkspaceSpecifier(dependency);
      if (target === undefined) continue;
      const reason = upwardReason(pkg.dir, target.dir);
      if (reason !== undefined) {
        findings.push({
          check: 'layers',
          path: `packages/${pkg.dir}/package.json`,
          line: 0,
          message: `depends on ${dependency}: ${reason}`,
        });
      }
    }
  }
  return findings;
}

function importFindings(tree: Tree, facts: ReadonlyMap<string, FileFacts>): Finding[] {
  const findings: Finding[] = [];
  const byDir = new Map(tree.packages.map((pkg) => [pkg.dir, pkg]));
  for (const path of tree.sourceFiles) {
    const fromDir = packageDirOf(path);
    const pkg = fromDir === undefined ? undefined : byDir.get(fromDir);
    const fileFacts = facts.get(path);
    if (fromDir === undefined || pkg === undefined || fileFacts === undefined) continue;
    for (const fact of fileFacts.imports) {
      if (fact.specifier.startsWith('.')) {
        const target = posix.normalize(posix.join(posix.dirname(path), fact.specifier));
        if (packageDirOf(target) !== fromDir) {
          findings.push({
            check: 'layers',
            path,
            line: fact.line,
            message: `relative import '${fact.specifier}' leaves packages/${fromDir}: import the package by name`,
          });
        }
        continue;
      }
      const target = parseWorkspaceSpecifier(fact.specifier);
      if (target === undefined || target.dir === fromDir) continue;
      if (!byDir.has(target.dir)) {
        findings.push({
          check: 'layers',
          path,
          line: fact.line,
          message: `imports ${fact.specifier}: no such workspace package`,
        });
        continue;
      }
      const reason = upwardReason(fromDir, target.dir);
      if (reason !== undefined) {
        findings.push({ check: 'layers', path, line: fact.line, message: `imports ${fact.specifier}: ${reason}` });
      } else if (!pkg.dependencies.includes(`${SCOPE}${target.dir}`)) {
        findings.push({
          check: 'layers',
          path,
          line: fact.line,
          message: `imports ${fact.specifier}, which packages/${fromDir}/package.json does not list in dependencies`,
        });
      }
    }
  }
  return findings;
}

export function checkLayering(tree: Tree, facts: ReadonlyMap<string, FileFacts>): Finding[] {
  return [...tableFindings(tree), ...manifestFindings(tree), ...importFindings(tree, facts)];
}
