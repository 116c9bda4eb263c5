/** The repository as the tidy check sees it: workspace packages and their source and test files. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { SCOPE } from './layers.js';

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'build']);

export interface WorkspacePackage {
  /** Directory name under packages/, e.g. 'lease'. */
  dir: string;
  /** package.json "name", e.g. '@leasehold/lease'. */
  name: string;
  /** Runtime dependency names (dependencies, peerDependencies, optionalDependencies). */
  dependencies: string[];
  devDependencies: string[];
  /** package.json "exports" (or undefined). */
  exports: unknown;
  main: string | undefined;
}

export interface Tree {
  root: string;
  packages: WorkspacePackage[];
  /** Repository-relative paths of every file under packages/<dir>/src and /bin. */
  sourceFiles: string[];
  /** Repository-relative paths of every file under packages/<dir>/test, and *.test.ts under scripts/. */
  testFiles: string[];
}

interface PackageJson {
  name?: unknown;
  main?: unknown;
  exports?: unknown;
  dependencies?: unknown;
  peerDependencies?: unknown;
  optionalDependencies?: unknown;
  devDependencies?: unknown;
}

const keysOf = (value: unknown): string[] => (typeof value === 'object' && value !== null ? Object.keys(value) : []);

export function toPosix(path: string): string {
  return path.split(sep).join('/');
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) files.push(...listFiles(join(dir, entry.name)));
    } else if (SOURCE_EXTENSIONS.some((ext) => entry.name.endsWith(ext)) && !entry.name.endsWith('.d.ts')) {
      files.push(join(dir, entry.name));
    }
  }
  return files;
}

function readPackage(root: string, dir: string): WorkspacePackage | undefined {
  const path = join(root, 'packages', dir, 'package.json');
  if (!existsSync(path)) return undefined;
  const json = JSON.parse(readFileSync(path, 'utf8')) as PackageJson;
  const name = typeof json.name === 'string' ? json.name : `${SCOPE}${dir}`;
  return {
    dir,
    name,
    dependencies: [
      ...keysOf(json.dependencies),
      ...keysOf(json.peerDependencies),
      ...keysOf(json.optionalDependencies),
    ],
    devDependencies: keysOf(json.devDependencies),
    exports: json.exports,
    main: typeof json.main === 'string' ? json.main : undefined,
  };
}

export function readTree(root: string): Tree {
  const packagesDir = join(root, 'packages');
  const dirs = existsSync(packagesDir)
    ? readdirSync(packagesDir)
        .filter((dir) => statSync(join(packagesDir, dir)).isDirectory())
        .sort()
    : [];
  const packages = dirs
    .map((dir) => readPackage(root, dir))
    .filter((pkg): pkg is WorkspacePackage => pkg !== undefined);
  const rel = (path: string): string => toPosix(relative(root, path));
  const sourceFiles = packages.flatMap((pkg) => [
    ...listFiles(join(packagesDir, pkg.dir, 'src')),
    ...listFiles(join(packagesDir, pkg.dir, 'bin')),
  ]);
  const testFiles = [
    ...packages.flatMap((pkg) => listFiles(join(packagesDir, pkg.dir, 'test'))),
    ...listFiles(join(root, 'scripts')).filter((path) => /\.test\.[mc]?[jt]s$/.test(path)),
  ];
  return { root, packages, sourceFiles: sourceFiles.map(rel).sort(), testFiles: testFiles.map(rel).sort() };
}

/** The package a repository-relative path belongs to ('packages/<dir>/...'), if any. */
export function packageDirOf(path: string): string | undefined {
  const match = /^packages\/([^/]+)\//.exec(path);
  return match?.[1];
}
