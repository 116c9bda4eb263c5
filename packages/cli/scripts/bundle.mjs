#!/usr/bin/env node
// Builds one CommonJS bundle per command (packages/cli/bundle/<route>.cjs) from the tsc output in
// dist/, for src/bundle-runner.ts to run through vm.Script with a V8 code cache. Run after `tsc -b`
// (npm run build does both); it does nothing when the bundles are already fresh.
//   --force  rebuild even if fresh
//   --prime  then write every command's V8 code cache (to $LEASEHOLD_CODE_CACHE_DIR if set) by
//            running `leasehold <command> --help` once each: for an install whose cache directory
//            users cannot write (otherwise the first run of each command writes its own)
// It also writes bundle/_launcher.cjs (src/launch.ts), which bin/leasehold.js requires to pick and
// run the command's bundle without starting Node's ES module loader.
// Kept out of the bundles: the native addon (.node, loaded by path from its package),
// better-sqlite3 (native) and pino (it starts worker threads from its own files).
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, version as esbuildVersion } from 'esbuild';

const CLI_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(CLI_ROOT, 'dist');
const BUNDLE_DIR = join(CLI_ROOT, 'bundle');
const require = createRequire(import.meta.url);

const { COMMANDS, isGroup } = await import(pathToFileURL(join(DIST, 'command-registry.js')).href);
const { TOP_ROUTE_KEY } = await import(pathToFileURL(join(DIST, 'dispatch.js')).href);
const { BUNDLE_HASH_MARK, DEFAULT_CODE_CACHE_DIR, MANIFEST_FILE, MANIFEST_FORMAT } = await import(
  pathToFileURL(join(DIST, 'bundle-runner.js')).href
);

const EXTERNAL_PACKAGES = ['better-sqlite3', 'pino', 'pino-pretty'];

/**
 * The daemon's lane workers, each bundled into bundle/<name>.cjs. A worker started from dist/ runs
 * Node's ES module loader over ~60 modules: about 6 MB more per worker thread (and 4 MB more of
 * Node's own code paged in) than one CommonJS file. The daemon's bundle starts them from there
 * (see workerScripts), or from dist/ when the file is missing.
 */
const WORKER_BUNDLES = [
  { name: 'renewal-worker', module: join(CLI_ROOT, '..', 'daemon', 'dist', 'lanes', 'renewal-worker.js') },
  { name: 'resource-worker', module: join(CLI_ROOT, '..', 'daemon', 'dist', 'lanes', 'resource-worker.js') },
];

/** Every route with a bundle: key, the words that select it, and its module under dist/commands/. */
function routes() {
  const list = [{ key: TOP_ROUTE_KEY, words: [], module: undefined }];
  for (const spec of COMMANDS) {
    if (isGroup(spec))
      for (const sub of spec.subcommands)
        list.push({ key: `${spec.name}-${sub.name}`, words: [spec.name, sub.name], module: sub.module });
    else list.push({ key: spec.name, words: [spec.name], module: spec.module });
  }
  return list;
}

/** Runs each command's bundle once so that it writes its code cache. */
function primeCodeCaches(wanted) {
  const cli = join(CLI_ROOT, 'bin', 'leasehold.js');
  for (const route of wanted) {
    const run = spawnSync(process.execPath, [cli, ...route.words, '--help'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`leasehold ${route.words.join(' ')} --help failed: ${run.stderr}`);
  }
}

function entrySource({ module }) {
  const runCli = JSON.stringify(join(DIST, 'run-cli.js'));
  if (module === undefined) {
    return [
      `import { runCli } from ${runCli};`,
      `export function main(args) {`,
      `  return runCli(args, async (spec) => { throw new Error(\`command \${spec.name} is not in this bundle\`); });`,
      `}`,
    ].join('\n');
  }
  return [
    `import { runCli } from ${runCli};`,
    `import * as command from ${JSON.stringify(join(DIST, 'commands', `${module}.js`))};`,
    `export function main(args) {`,
    `  return runCli(args, async (spec) => {`,
    `    if (spec.module !== ${JSON.stringify(module)}) throw new Error(\`command \${spec.name} is not in this bundle\`);`,
    `    return command;`,
    `  });`,
    `}`,
  ].join('\n');
}

/** yargs' ESM entry finds its locale files through import.meta.url; its CommonJS build does not need to. */
const yargsAsCommonJs = {
  name: 'yargs-cjs',
  setup(b) {
    b.onResolve({ filter: /^yargs$/ }, () => ({ path: require.resolve('yargs/yargs') }));
  },
};

function packageOf(file) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const path = join(dir, 'package.json');
    if (existsSync(path)) return { dir, json: JSON.parse(readFileSync(path, 'utf8')) };
  }
  throw new Error(`no package.json above ${file}`);
}

/**
 * A workspace module's import.meta.url (the native addon's path, daemon worker scripts, the test
 * device) becomes its dist/ file's URL at run time, found from the package's main entry: the
 * bundle keeps working wherever the tree is installed.
 */
const importMetaUrl = {
  name: 'import-meta-url',
  setup(b) {
    b.onLoad({ filter: /[\\/]packages[\\/][^\\/]+[\\/]dist[\\/].*\.js$/ }, (args) => {
      let contents = readFileSync(args.path, 'utf8');
      if (!contents.includes('import.meta.url')) return undefined;
      contents = workerScripts(contents);
      const { dir, json } = packageOf(args.path);
      const call =
        dir === CLI_ROOT
          ? `__leaseholdFileUrl(null, ${JSON.stringify(relative(CLI_ROOT, args.path).split(sep).join('/'))})`
          : `__leaseholdFileUrl(${JSON.stringify(json.name)}, ${JSON.stringify(
              relative(dirname(join(dir, json.main)), args.path)
                .split(sep)
                .join('/'),
            )}, ${JSON.stringify([
              relative(BUNDLE_DIR, dirname(join(dir, json.main)))
                .split(sep)
                .join('/'),
              basename(json.main),
            ])})`;
      return { contents: contents.replaceAll('import.meta.url', call), loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/**
 * `new URL('./<worker>.js', import.meta.url)` of a bundled lane worker becomes its bundle beside
 * this one when it is there (the dist/ file otherwise): see WORKER_BUNDLES.
 */
function workerScripts(contents) {
  let out = contents;
  for (const { name } of WORKER_BUNDLES) {
    const reference = `new URL('./${name}.js', import.meta.url)`;
    out = out.replaceAll(reference, `__leaseholdWorkerUrl(${JSON.stringify(name)}, () => ${reference})`);
  }
  return out;
}

const BANNER = [
  '"use strict";',
  // `near`: where the package's main file was beside the bundles when they were built; found there,
  // it spares the module resolution of require.resolve (2-3 ms of every command's start-up).
  'var __leaseholdFileUrl = (pkg, rel, near) => {',
  '  const path = require("node:path");',
  '  const guess = near === undefined ? undefined : path.resolve(__dirname, near[0]);',
  '  const base = pkg === null ? path.resolve(__dirname, "..") : guess !== undefined && require("node:fs").existsSync(path.join(guess, near[1])) ? guess : path.dirname(require.resolve(pkg));',
  '  return require("node:url").pathToFileURL(path.resolve(base, rel)).href;',
  '};',
  'var __leaseholdWorkerUrl = (name, fromDist) => {',
  '  const file = require("node:path").join(__dirname, name + ".cjs");',
  '  return require("node:fs").existsSync(file) ? require("node:url").pathToFileURL(file) : fromDist();',
  '};',
].join('\n');

/** The launcher bundle's file name (not a route: it has no code cache and no manifest entry). */
const LAUNCHER_BUNDLE = '_launcher.cjs';

function launcherSource() {
  return `export { launch } from ${JSON.stringify(join(DIST, 'launch.js'))};`;
}

async function bundleRoute(route, outDir) {
  return bundleEntry(entrySource(route), route.key, outDir);
}

async function bundleEntry(contents, name, outDir) {
  const result = await build({
    stdin: { contents, resolveDir: DIST, sourcefile: `${name}-entry.js`, loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: join(outDir, name.endsWith('.cjs') ? name : `${name}.cjs`),
    external: [...EXTERNAL_PACKAGES, '*.node'],
    plugins: [yargsAsCommonJs, importMetaUrl],
    banner: { js: BANNER },
    metafile: true,
    absWorkingDir: CLI_ROOT,
    logLevel: 'warning',
  });
  return Object.keys(result.metafile.inputs);
}

/** tsc -b's build info of each workspace package a bundle includes (see BundleManifest.watched). */
function watchedBuildInfo(inputs) {
  const dirs = new Set([CLI_ROOT]);
  for (const input of inputs) {
    const match = /^(.*[\\/]packages[\\/][^\\/]+)[\\/]dist[\\/]/.exec(resolve(CLI_ROOT, input));
    if (match) dirs.add(match[1]);
  }
  return [...dirs].sort().map((dir) => {
    const file = join(dir, 'tsconfig.tsbuildinfo');
    return { path: relative(CLI_ROOT, file).split(sep).join('/'), mtimeMs: statSync(file).mtimeMs };
  });
}

function isFresh(wanted) {
  try {
    const manifest = JSON.parse(readFileSync(join(BUNDLE_DIR, MANIFEST_FILE), 'utf8'));
    if (manifest.format !== MANIFEST_FORMAT || manifest.bundler !== bundlerStamp()) return false;
    if (!existsSync(join(BUNDLE_DIR, LAUNCHER_BUNDLE))) return false;
    if (WORKER_BUNDLES.some(({ name }) => !existsSync(join(BUNDLE_DIR, `${name}.cjs`)))) return false;
    if (
      Object.keys(manifest.bundles).sort().join() !==
      wanted
        .map((r) => r.key)
        .sort()
        .join()
    )
      return false;
    return manifest.watched.every(({ path, mtimeMs }) => statSync(resolve(CLI_ROOT, path)).mtimeMs === mtimeMs);
  } catch {
    return false;
  }
}

/** Changes when this script or esbuild does: then the bundles are rebuilt. */
function bundlerStamp() {
  const self = readFileSync(fileURLToPath(import.meta.url));
  return `esbuild ${esbuildVersion} ${createHash('sha256').update(self).digest('hex').slice(0, 16)}`;
}

const wanted = routes();
const prime = process.argv.includes('--prime');
if (!process.argv.includes('--force') && isFresh(wanted)) {
  if (prime) primeCodeCaches(wanted);
  process.exit(0);
}

const started = Date.now();
const outDir = `${BUNDLE_DIR}.tmp-${process.pid}`;
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
try {
  const inputs = new Set();
  const bundles = {};
  for (const [route, routeInputs] of await Promise.all(
    wanted.map(async (route) => [route, await bundleRoute(route, outDir)]),
  )) {
    for (const input of routeInputs) inputs.add(input);
    const file = join(outDir, `${route.key}.cjs`);
    const code = readFileSync(file, 'utf8');
    const hash = createHash('sha256').update(code).digest('hex');
    writeFileSync(file, `${code}${BUNDLE_HASH_MARK}${hash}\n`);
    bundles[route.key] = hash;
  }
  for (const input of await bundleEntry(launcherSource(), LAUNCHER_BUNDLE, outDir)) inputs.add(input);
  for (const worker of WORKER_BUNDLES) {
    const source = `import ${JSON.stringify(worker.module)};`;
    for (const input of await bundleEntry(source, `${worker.name}.cjs`, outDir)) inputs.add(input);
  }
  const manifest = { format: MANIFEST_FORMAT, bundler: bundlerStamp(), bundles, watched: watchedBuildInfo(inputs) };
  writeFileSync(join(outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(BUNDLE_DIR, { recursive: true, force: true });
  renameSync(outDir, BUNDLE_DIR);
  // Caches of the old bundles can never match again (their names carry the bundle's hash).
  rmSync(DEFAULT_CODE_CACHE_DIR, { recursive: true, force: true });
} catch (error) {
  rmSync(outDir, { recursive: true, force: true });
  throw error;
}
console.log(
  `bundled ${wanted.length} commands into ${relative(process.cwd(), BUNDLE_DIR) || '.'} in ${Date.now() - started} ms`,
);
if (prime) primeCodeCaches(wanted);
