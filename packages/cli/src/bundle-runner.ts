/**
 * Runs one command's bundle (bundle/<key>.cjs, built by scripts/bundle.mjs) through vm.Script with
 * a V8 code cache, so a run neither resolves ~160 ES modules nor compiles what it ran last time.
 * Anything missing, stale or unreadable means "not run" and the caller falls back to dist/; a code
 * cache that is missing, rejected (another Node/V8) or unwritable only costs the compile.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

/** packages/cli/: bundle/ and dist/ sit side by side in it. */
const CLI_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BUNDLE_DIR = join(CLI_ROOT, 'bundle');
/** Where an installed tree (one without src/: scripts/install, the .deb) keeps its code caches. */
export const INSTALLED_CODE_CACHE_DIR = '/var/cache/leasehold/code-cache';
/**
 * Where code caches go unless LEASEHOLD_CODE_CACHE_DIR says otherwise: beside the bundles in a
 * checkout; under /var/cache for an install, whose files belong to the package manager and must
 * not change when a command runs.
 */
export const DEFAULT_CODE_CACHE_DIR = existsSync(join(CLI_ROOT, 'src'))
  ? join(CLI_ROOT, 'bundle-cache')
  : INSTALLED_CODE_CACHE_DIR;
export const MANIFEST_FILE = 'manifest.json';
/** Bumped when the manifest's shape changes; an older manifest means "no bundles". */
export const MANIFEST_FORMAT = 1;
/**
 * The bundler ends each bundle with this mark and the sha256 of what precedes it. The code cache
 * is named by the hash read from the very text being run, so a bundle rebuilt while a run reads
 * the old manifest can never meet a cache made from other code.
 */
export const BUNDLE_HASH_MARK = '\n//# leasehold-bundle-sha256=';
const SHA256_HEX_CHARS = 64;

/** Written by the bundler beside the bundles. */
export interface BundleManifest {
  format: number;
  /** Route key (dispatch.routeKey) -> sha256 of bundle/<key>.cjs (as its BUNDLE_HASH_MARK line says). */
  bundles: Record<string, string>;
  /**
   * tsc -b's build info of every workspace package in the bundles, relative to packages/cli/, with
   * its mtime when bundled: a different mtime means dist/ was rebuilt since, so the bundles are
   * stale. Absent files (an install without build info) are not checked.
   */
  watched: { path: string; mtimeMs: number }[];
}

function readManifest(): BundleManifest | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(BUNDLE_DIR, MANIFEST_FILE), 'utf8')) as BundleManifest;
    return manifest.format === MANIFEST_FORMAT ? manifest : undefined;
  } catch {
    return undefined;
  }
}

function isStale(manifest: BundleManifest): boolean {
  for (const { path, mtimeMs } of manifest.watched) {
    const stat = statSync(resolve(CLI_ROOT, path), { throwIfNoEntry: false });
    if (stat !== undefined && stat.mtimeMs !== mtimeMs) return true;
  }
  return false;
}

function codeCacheDir(): string {
  return process.env.LEASEHOLD_CODE_CACHE_DIR || DEFAULT_CODE_CACHE_DIR;
}

/** The bundle's hash is in the name: V8 checks only the source length, not its content. */
export function codeCachePath(key: string, bundleSha256: string, dir: string = codeCacheDir()): string {
  return join(dir, `${key}.${bundleSha256.slice(0, 16)}.v8cache`);
}

function readOptional(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Best effort: a read-only install or a full disk leaves the next run compiling again. */
function saveCodeCache(script: vm.Script, path: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(temp, script.createCachedData());
    renameSync(temp, path);
  } catch {
    try {
      unlinkSync(temp);
    } catch {
      // nothing was written
    }
  }
}

export type BundleMain = (args: string[]) => Promise<void>;
type ModuleWrapper = (
  exports: object,
  require: NodeJS.Require,
  module: { exports: object },
  filename: string,
  dirname: string,
) => void;

/** The bundle as a CommonJS module body, as Node wraps one. */
function wrap(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
}

/**
 * Runs the bundle for route key `key` with `args` and resolves true, or resolves false at once
 * (nothing run, nothing printed) when there is no fresh bundle for it.
 */
function bundleHash(source: string): string | undefined {
  const at = source.lastIndexOf(BUNDLE_HASH_MARK);
  if (at < 0) return undefined;
  const hash = source.slice(at + BUNDLE_HASH_MARK.length, at + BUNDLE_HASH_MARK.length + SHA256_HEX_CHARS);
  return /^[0-9a-f]{64}$/.test(hash) ? hash : undefined;
}

/** A bundle read and compiled, not yet run: what a command worker keeps ready (command-server/worker.ts). */
export interface LoadedBundle {
  readonly key: string;
  readonly file: string;
  readonly script: vm.Script;
  /** Where its code cache goes when the compile did not use one (made at exit, see runLoadedBundle). */
  readonly saveCacheTo: string | undefined;
}

/** Reads and compiles the bundle for route key `key`; undefined when there is no fresh bundle for it. */
export function loadBundle(key: string): LoadedBundle | undefined {
  const manifest = readManifest();
  if (manifest === undefined || manifest.bundles[key] === undefined || isStale(manifest)) return undefined;
  const file = join(BUNDLE_DIR, `${key}.cjs`);
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const sha256 = bundleHash(source);
  if (sha256 === undefined) return undefined;
  const cachePath = codeCachePath(key, sha256);
  const cachedData = readOptional(cachePath);
  const script = new vm.Script(wrap(source), {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const saveCacheTo = cachedData === undefined || script.cachedDataRejected === true ? cachePath : undefined;
  return { key, file, script, saveCacheTo };
}

/** Has the bundle's code cache written at exit when its compile did not use one (see runLoadedBundle). */
export function saveCodeCacheAtExit(loaded: LoadedBundle): void {
  const { script, saveCacheTo } = loaded;
  // Made at exit, so it holds the functions this run compiled, not only the top level.
  if (saveCacheTo !== undefined) process.once('exit', () => saveCodeCache(script, saveCacheTo));
}

/** Runs a loaded bundle's top level (its modules' initialisation); its main, or undefined if it has none. */
export function instantiateBundle(loaded: LoadedBundle): BundleMain | undefined {
  const { file, script } = loaded;
  const module = { exports: {} as { main?: BundleMain } };
  const wrapper = script.runInThisContext() as ModuleWrapper;
  wrapper(module.exports, createRequire(file), module, file, BUNDLE_DIR);
  const main = module.exports.main;
  return typeof main === 'function' ? main : undefined;
}

/** Runs a loaded bundle's command with `args`; resolves false (nothing run) if it has no main. */
export async function runLoadedBundle(loaded: LoadedBundle, args: string[]): Promise<boolean> {
  saveCodeCacheAtExit(loaded);
  const main = instantiateBundle(loaded);
  if (main === undefined) return false;
  await main(args);
  return true;
}

export async function runBundle(key: string, args: string[]): Promise<boolean> {
  const loaded = loadBundle(key);
  return loaded === undefined ? false : runLoadedBundle(loaded, args);
}
