#!/usr/bin/env node
// Copies what the `leasehold` command needs at run time from a built checkout into DEST:
// the workspace packages it depends on (built JS, package.json, native .node files; no sources,
// tests or build intermediates) and the third-party packages they resolve, found the way Node
// resolves them at run time (walking up node_modules from each package's real directory), so dev
// dependencies and unused workspaces are left out. The layout mirrors the checkout (packages/<name>
// plus node_modules, with the same relative workspace links), so relative imports keep working.
//
// usage: node scripts/lib/runtime-tree.mjs CHECKOUT DEST
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmdirSync,
  symlinkSync,
} from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';

const ENTRY_PACKAGE = 'packages/cli';
/** A sanity bound: the command needs about 60 packages; more means the walk went wrong. */
const MAX_PACKAGES = 1000;
/** Only needed to build a workspace package, never at run time. */
const WORKSPACE_SOURCE_ENTRIES = new Set(['src', 'test', 'csrc', 'binding.gyp', 'node_modules']);
/** Made on the machine that runs the command (V8 code caches); an install keeps its own under /var/cache. */
const WORKSPACE_MACHINE_ENTRIES = new Set(['bundle-cache']);
const WORKSPACE_SOURCE_SUFFIXES = ['.tsbuildinfo', '.d.ts', '.d.ts.map', '.js.map'];
/** Native build inputs of packages that compile an addon (they have a binding.gyp). */
const NATIVE_SOURCE_SUFFIXES = ['.c', '.cc', '.cpp', '.h', '.hpp', '.gyp', '.gypi', '.patch'];

function fail(message) {
  process.stderr.write(`runtime-tree: ${message}\n`);
  process.exit(1);
}

function readManifest(dir) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
}

/** Node's lookup: DIR/node_modules/NAME, then up through the parents, not above the checkout. */
function resolveDependency(checkout, fromDir, name) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === checkout || !dir.startsWith(checkout + sep)) return undefined;
  }
}

function runtimeDependencies(manifest) {
  const optionalPeers = manifest.peerDependenciesMeta ?? {};
  const peers = Object.keys(manifest.peerDependencies ?? {}).filter((name) => optionalPeers[name]?.optional !== true);
  return [
    ...Object.keys(manifest.dependencies ?? {}).map((name) => ({ name, optional: false })),
    ...Object.keys(manifest.optionalDependencies ?? {}).map((name) => ({ name, optional: true })),
    ...peers.map((name) => ({ name, optional: false })),
  ];
}

/** Executables node-gyp builds beside the addons, kept with them (the leasehold-fast front end). */
const NATIVE_EXECUTABLES = new Set(['leasehold-fast']);

/** Keeps of a node-gyp build directory only the addons themselves and NATIVE_EXECUTABLES. */
function isBuildIntermediate(relativePath) {
  const parts = relativePath.split(sep);
  if (parts[0] !== 'build') return false;
  const kept = (name) => name.endsWith('.node') || NATIVE_EXECUTABLES.has(name);
  return !(
    parts.length === 1 ||
    (parts[1] === 'Release' && (parts.length === 2 || (parts.length === 3 && kept(parts[2]))))
  );
}

function copyFilter(packageDir, isWorkspace, isNative) {
  return (source) => {
    const rel = relative(packageDir, source);
    if (rel === '') return true;
    const top = rel.split(sep)[0];
    if (top === 'node_modules') return false;
    if (isNative && isBuildIntermediate(rel)) return false;
    const name = basename(rel);
    if (isWorkspace) {
      if (WORKSPACE_SOURCE_ENTRIES.has(top) || WORKSPACE_MACHINE_ENTRIES.has(top) || /^tsconfig.*\.json$/.test(name))
        return false;
      if (WORKSPACE_SOURCE_SUFFIXES.some((suffix) => name.endsWith(suffix))) return false;
    }
    if (isNative && NATIVE_SOURCE_SUFFIXES.some((suffix) => name.endsWith(suffix))) return false;
    return true;
  };
}

/** Filtered copies leave directories that held only sources; drop them. Returns whether DIR is gone. */
function removeEmptyDirectories(dir) {
  let empty = true;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!(entry.isDirectory() && removeEmptyDirectories(join(dir, entry.name)))) empty = false;
  }
  if (empty) rmdirSync(dir);
  return empty;
}

function main() {
  const [checkoutArg, destArg] = process.argv.slice(2);
  if (checkoutArg === undefined || destArg === undefined) fail('usage: runtime-tree.mjs CHECKOUT DEST');
  const checkout = realpathSync(checkoutArg);
  mkdirSync(destArg, { recursive: true });
  const dest = realpathSync(destArg);

  const entry = join(checkout, ENTRY_PACKAGE);
  const queue = [entry];
  const seenReal = new Set([entry]);
  /** Workspace links (node_modules/@leasehold/x -> ../../packages/x) to recreate. */
  const links = new Map();
  while (queue.length > 0) {
    const dir = queue.shift();
    for (const { name, optional } of runtimeDependencies(readManifest(dir))) {
      const found = resolveDependency(checkout, dir, name);
      if (found === undefined) {
        if (optional) continue;
        fail(`${relative(checkout, dir)} needs ${name}, which is not installed (run npm ci first)`);
      }
      const real = realpathSync(found);
      if (!real.startsWith(checkout + sep)) fail(`${name} resolves outside the checkout: ${real}`);
      // Relative, so that the tree can be moved (into DESTDIR, into a package).
      if (lstatSync(found).isSymbolicLink()) links.set(relative(checkout, found), relative(dirname(found), real));
      if (seenReal.has(real)) continue;
      seenReal.add(real);
      if (seenReal.size > MAX_PACKAGES) fail(`more than ${MAX_PACKAGES} packages: refusing`);
      queue.push(real);
    }
  }

  for (const real of [...seenReal].sort()) {
    const rel = relative(checkout, real);
    const isWorkspace = !rel.split(sep).includes('node_modules');
    const isNative = existsSync(join(real, 'binding.gyp'));
    cpSync(real, join(dest, rel), {
      recursive: true,
      filter: copyFilter(real, isWorkspace, isNative),
      verbatimSymlinks: true,
    });
    removeEmptyDirectories(join(dest, rel));
  }
  for (const [linkPath, target] of [...links].sort()) {
    mkdirSync(dirname(join(dest, linkPath)), { recursive: true });
    symlinkSync(target, join(dest, linkPath));
  }
  process.stdout.write(`runtime-tree: ${seenReal.size} packages into ${dest}\n`);
}

main();
