/**
 * The launcher as users run it (bin/leasehold.js): a command runs from its bundle with a V8 code
 * cache that is written once and then accepted, survives a damaged or unwritable cache, falls back
 * to dist/ when the bundles are older than tsc's output, and runs the linked command for a link
 * named like one. Output is the same in every mode.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempImage, type TempImage } from '@leasehold/testkit';
import { COMMANDS } from '../src/command-registry.js';
import { CLI_PATH, runCli, type CliResult } from './run-cli.js';

const CLI_ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUNDLER = join(CLI_ROOT, 'scripts', 'bundle.mjs');
const MANIFEST = join(CLI_ROOT, 'bundle', 'manifest.json');
const CLI_BUILD_INFO = join(CLI_ROOT, 'tsconfig.tsbuildinfo');

let image: TempImage;
let dir: string;

function dumpHash(): string {
  const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { bundles: Record<string, string> };
  const hash = manifest.bundles['direct-dump'];
  if (hash === undefined) throw new Error('no direct-dump bundle in the manifest');
  return hash;
}

function dump(env: NodeJS.ProcessEnv): CliResult {
  return runCli(['direct', 'dump', image.path], env);
}

function freshCacheDir(name: string): string {
  return join(dir, name);
}

beforeAll(() => {
  // No-op when the bundles are fresh (npm test built them); builds them after a bare tsc -b.
  const built = spawnSync(process.execPath, [BUNDLER], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`bundling failed: ${built.stderr}`);
  dir = mkdtempSync(join(tmpdir(), 'leasehold-bundle-cli-'));
  image = makeTempImage(4 * 1024 * 1024);
  const init = runCli(['direct', 'init', '-s', `bc:0:${image.path}:0`, '-o', '1']);
  expect(init.status, init.stderr).toBe(0);
  const resource = runCli(['direct', 'init', '-r', `bc:r1:${image.path}:1048576`]);
  expect(resource.status, resource.stderr).toBe(0);
});

afterAll(() => {
  image?.cleanup();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('bundles and the code cache', () => {
  it('writes the code cache on the first run, accepts it on the next, same output as dist/', () => {
    const cacheDir = freshCacheDir('first');
    const env = { LEASEHOLD_CODE_CACHE_DIR: cacheDir };
    const first = dump(env);
    expect(first.status, first.stderr).toBe(0);
    const cacheFile = join(cacheDir, `direct-dump.${dumpHash().slice(0, 16)}.v8cache`);
    expect(readdirSync(cacheDir)).toEqual([`direct-dump.${dumpHash().slice(0, 16)}.v8cache`]);
    const written = statSync(cacheFile);
    expect(written.size).toBeGreaterThan(1024);

    const second = dump(env);
    expect(second).toEqual(first);
    // Accepted: a rejected cache would have been written again.
    expect(statSync(cacheFile).mtimeMs).toBe(written.mtimeMs);

    const fromDist = dump({ LEASEHOLD_NO_BUNDLE: '1', LEASEHOLD_CODE_CACHE_DIR: freshCacheDir('dist') });
    expect(fromDist).toEqual(first);
    expect(existsSync(freshCacheDir('dist'))).toBe(false);
    expect(first.stdout).toMatch(/ bc +r1 /);
  });

  it('replaces a damaged cache and never fails for an unwritable one', () => {
    const reference = dump({ LEASEHOLD_CODE_CACHE_DIR: freshCacheDir('reference') });
    const cacheDir = freshCacheDir('damaged');
    const first = dump({ LEASEHOLD_CODE_CACHE_DIR: cacheDir });
    const cacheFile = join(cacheDir, readdirSync(cacheDir)[0] ?? 'missing');
    const garbage = Buffer.alloc(4096, 0x5a);
    writeFileSync(cacheFile, garbage);
    const damaged = dump({ LEASEHOLD_CODE_CACHE_DIR: cacheDir });
    expect(damaged).toEqual(first);
    expect(readFileSync(cacheFile).equals(garbage)).toBe(false);

    // /dev/null is not a directory: neither the read nor the write can succeed.
    expect(dump({ LEASEHOLD_CODE_CACHE_DIR: '/dev/null/leasehold-cache' })).toEqual(reference);
  });

  it('falls back to dist/ when tsc rebuilt a package after the bundles were made', () => {
    const cacheDir = freshCacheDir('stale');
    const before = statSync(CLI_BUILD_INFO);
    const reference = dump({ LEASEHOLD_NO_BUNDLE: '1' });
    try {
      utimesSync(CLI_BUILD_INFO, before.atime, new Date(before.mtimeMs + 1000));
      const stale = dump({ LEASEHOLD_CODE_CACHE_DIR: cacheDir });
      expect(stale).toEqual(reference);
      expect(existsSync(cacheDir)).toBe(false);
    } finally {
      utimesSync(CLI_BUILD_INFO, before.atime, before.mtime);
    }
  });
});

describe('the top level', () => {
  it('--help lists every registered command, bundled and from dist/', () => {
    for (const env of [{}, { LEASEHOLD_NO_BUNDLE: '1' }]) {
      const help = runCli(['--help'], env);
      expect(help.status).toBe(0);
      for (const spec of COMMANDS) expect(help.stdout).toMatch(new RegExp(`leasehold ${spec.name}\\b`));
    }
  });

  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(CLI_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(runCli(['--version']).stdout.trim()).toBe(`leasehold ${version}`);
    expect(runCli(['--version'], { LEASEHOLD_NO_BUNDLE: '1' }).stdout.trim()).toBe(`leasehold ${version}`);
  });
});

describe('argv[0] dispatch', () => {
  it('a link named like a command runs it: through the link itself and through exec -a', () => {
    const expected = runCli(['direct', 'dump', image.path]);
    const link = join(dir, 'direct');
    symlinkSync(CLI_PATH, link);
    const viaLink = spawnSync(link, ['dump', image.path], { encoding: 'utf8' });
    expect({ status: viaLink.status, stdout: viaLink.stdout, stderr: viaLink.stderr }).toEqual(expected);
    const viaArgv0 = spawnSync(process.execPath, [CLI_PATH, 'dump', image.path], { encoding: 'utf8', argv0: 'direct' });
    expect({ status: viaArgv0.status, stdout: viaArgv0.stdout, stderr: viaArgv0.stderr }).toEqual(expected);
  });
});
