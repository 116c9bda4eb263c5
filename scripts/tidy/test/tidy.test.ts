/** The tidy check finds each kind of violation in small fake trees, and only those. */
import { describe, expect, it } from 'vitest';
import type { AllowEntry } from '../allowlist.js';
import { formatFinding } from '../finding.js';
import { runTidy } from '../tidy.js';
import { fakeRepo, packageJson } from './fake-tree.js';

function findingsOf(files: Record<string, string>, allowlist: readonly AllowEntry[] = []): string[] {
  const repo = fakeRepo(files);
  try {
    return runTidy(repo.root, allowlist).findings.map(formatFinding);
  } finally {
    repo.cleanup();
  }
}

describe('tidy: the base fake tree', () => {
  it('is clean, and a file that breaks no rule adds nothing', () => {
    expect(findingsOf({})).toEqual([]);
    expect(
      findingsOf({
        'packages/lease/src/clock.ts': [
          "import type { Disk } from '@leasehold/disk';",
          "import { name } from '@leasehold/ondisk';",
          '// Date.now() and setTimeout(...) in a comment, console.log too',
          "const text = 'new Date() setInterval any console.log it.only';",
          'export const later = (clock: { setTimeout(ms: number): void }) => clock.setTimeout(1);',
          'export const anything: unknown = name;',
          'export type D = Disk;',
        ].join('\n'),
        'packages/cli/src/out.ts': "console.log('the CLI prints');\n",
        'packages/daemon/test/x.test.ts':
          "import { it } from 'vitest';\nconsole.log('tests may print');\nit('runs', () => {});\n",
      }),
    ).toEqual([]);
  });
});

describe('tidy: layers', () => {
  it('finds an import of a higher layer, of the same layer, type-only or dynamic, and of a test-only package', () => {
    expect(
      findingsOf({
        'packages/lease/src/a.ts': "import { name } from '@leasehold/daemon';\nexport const a = name;\n",
        'packages/lease/src/b.ts': "import type { X } from '@leasehold/protocol/companion';\nexport type B = X;\n",
        'packages/daemon/src/c.ts': "export const c = () => import('@leasehold/watchdog');\n",
        'packages/disk/src/d.ts': "import '@leasehold/testkit';\n",
      }),
    ).toEqual([
      'packages/daemon/src/c.ts:1: [layers] imports @leasehold/watchdog: @leasehold/watchdog is in the same layer as daemon (scripts/tidy/layers.ts)',
      'packages/disk/src/d.ts:1: [layers] imports @leasehold/testkit: @leasehold/testkit is for tests only',
      'packages/lease/src/a.ts:1: [layers] imports @leasehold/daemon: @leasehold/daemon is in a higher layer than lease (scripts/tidy/layers.ts)',
      'packages/lease/src/b.ts:1: [layers] imports @leasehold/protocol/companion: @leasehold/protocol is in the same layer as lease (scripts/tidy/layers.ts)',
    ]);
  });

  it('finds an upward dependency in package.json, an undeclared one, an unknown package and a relative import out of the package', () => {
    expect(
      findingsOf({
        'packages/client/package.json': packageJson('client', ['protocol', 'cli']),
        'packages/sim/src/a.ts': "import { name } from '@leasehold/protocol';\nexport const a = name;\n",
        'packages/sim/src/b.ts': "export * from '@leasehold/nothing';\n",
        'packages/sim/src/c.ts': "export * from '../../lease/src/index.js';\n",
      }),
    ).toEqual([
      'packages/client/package.json: [layers] depends on @leasehold/cli: @leasehold/cli is in a higher layer than client (scripts/tidy/layers.ts)',
      'packages/sim/src/a.ts:1: [layers] imports @leasehold/protocol, which packages/sim/package.json does not list in dependencies',
      'packages/sim/src/b.ts:1: [layers] imports @leasehold/nothing: no such workspace package',
      "packages/sim/src/c.ts:1: [layers] relative import '../../lease/src/index.js' leaves packages/sim: import the package by name",
    ]);
  });

  it('finds a package the layer table does not list', () => {
    expect(findingsOf({ 'packages/gadget/package.json': packageJson('gadget', []) })).toEqual([
      'packages/gadget/package.json: [layers] package gadget has no layer: add it to LAYERS in scripts/tidy/layers.ts',
    ]);
  });

  it('lets tests import any layer', () => {
    expect(
      findingsOf({
        'packages/lease/test/x.test.ts':
          "import { name } from '@leasehold/cli';\nimport '@leasehold/testkit';\nexport const x = name;\n",
      }),
    ).toEqual([]);
  });
});

describe('tidy: pure layers', () => {
  it('finds clocks, timers and fs in lease, host-core and ondisk, with their lines', () => {
    const clocky = [
      "import { readFileSync } from 'node:fs';",
      "import { readFile } from 'fs/promises';",
      'export const t = Date.now();',
      'export const p = performance.now();',
      'setTimeout(() => {}, 1);',
      'export const i = globalThis.setInterval;',
      'export const d = new Date(0);',
      'export const r = [readFileSync, readFile];',
    ].join('\n');
    const where = (path: string): string[] => [
      `${path}:1: [pure] import of 'node:fs' in a pure layer: use the injected Clock / Disk`,
      `${path}:2: [pure] import of 'fs/promises' in a pure layer: use the injected Clock / Disk`,
      `${path}:3: [pure] Date.now in a pure layer: use the injected Clock / Disk`,
      `${path}:4: [pure] performance.now in a pure layer: use the injected Clock / Disk`,
      `${path}:5: [pure] setTimeout in a pure layer: use the injected Clock / Disk`,
      `${path}:6: [pure] globalThis.setInterval in a pure layer: use the injected Clock / Disk`,
      `${path}:7: [pure] new Date() in a pure layer: use the injected Clock / Disk`,
    ];
    expect(
      findingsOf({
        'packages/lease/src/time.ts': clocky,
        'packages/host-core/package.json': packageJson('host-core', ['lease']),
        'packages/host-core/src/core.ts': clocky,
        'packages/host-core/src/index.ts': "export * from './core.js';\n",
        'packages/ondisk/src/io.ts': "export { openSync } from 'node:fs';\n",
        'packages/daemon/src/timer.ts': 'export const t = Date.now();\nsetTimeout(() => {}, 1);\n',
      }),
    ).toEqual([
      ...where('packages/host-core/src/core.ts'),
      ...where('packages/lease/src/time.ts'),
      "packages/ondisk/src/io.ts:1: [pure] import of 'node:fs' in a pure layer: use the injected Clock / Disk",
    ]);
  });
});

describe('tidy: console, focus, any', () => {
  it('finds console.log in src outside the CLI (bin too)', () => {
    expect(
      findingsOf({
        'packages/daemon/src/noisy.ts': "export function f(): void {\n  console.log('hello');\n}\n",
        'packages/watchdog/bin/run.js': "console.log('hi');\n",
      }),
    ).toEqual([
      'packages/daemon/src/noisy.ts:2: [console] console.log outside the CLI: log through pino',
      'packages/watchdog/bin/run.js:1: [console] console.log outside the CLI: log through pino',
    ]);
  });

  it('finds focused and skipped tests, in package tests and script tests', () => {
    expect(
      findingsOf({
        'packages/lease/test/a.test.ts': [
          "import { describe, it, test } from 'vitest';",
          "it.only('a', () => {});",
          "describe.skip('b', () => {});",
          "test.skipIf(true)('c', () => {});",
          "it.todo('d');",
          "describe.concurrent.only('e', () => {});",
          "it('f', (ctx) => ctx.skip());",
        ].join('\n'),
        'scripts/thing/test/b.test.ts': "import { it } from 'vitest';\nit.runIf(false)('g', () => {});\n",
      }),
    ).toEqual([
      'packages/lease/test/a.test.ts:2: [focus] it.only: tests are never focused or skipped',
      'packages/lease/test/a.test.ts:3: [focus] describe.skip: tests are never focused or skipped',
      'packages/lease/test/a.test.ts:4: [focus] test.skipIf: tests are never focused or skipped',
      'packages/lease/test/a.test.ts:5: [focus] it.todo: tests are never focused or skipped',
      'packages/lease/test/a.test.ts:6: [focus] describe.concurrent.only: tests are never focused or skipped',
      'packages/lease/test/a.test.ts:7: [focus] ctx.skip: tests are never focused or skipped',
      'scripts/thing/test/b.test.ts:2: [focus] it.runIf: tests are never focused or skipped',
    ]);
  });

  it('finds `any` in source, not in names, comments or strings', () => {
    expect(
      findingsOf({
        'packages/disk/src/loose.ts': [
          'export function f(x: any): number {',
          '  const anyValue = "any";',
          '  // any at all',
          '  return (x as any).length + (anyValue as unknown as Array<any>).length;',
          '}',
        ].join('\n'),
      }),
    ).toEqual([
      'packages/disk/src/loose.ts:1: [any] `any` type: use unknown and narrow it, or a real type',
      'packages/disk/src/loose.ts:4: [any] `any` type: use unknown and narrow it, or a real type',
      'packages/disk/src/loose.ts:4: [any] `any` type: use unknown and narrow it, or a real type',
    ]);
  });
});

describe('tidy: what packages load', () => {
  it('follows static runtime imports through packages and subpaths, and names the chain', () => {
    expect(
      findingsOf({
        'packages/client/src/index.ts': "export * from './wire.js';\n",
        'packages/client/src/wire.ts': "export { name } from '@leasehold/protocol';\n",
        'packages/protocol/package.json': packageJson('protocol', ['ondisk', 'better-sqlite3']),
        'packages/protocol/src/index.ts': "import Database from 'better-sqlite3';\nexport const db = Database;\n",
        'packages/lease/src/index.ts': "export { DirectDisk } from '@leasehold/disk/direct';\n",
        'packages/disk/src/direct.ts': "export { name as DirectDisk } from '@leasehold/native';\n",
      }),
    ).toEqual([
      'packages/protocol/src/index.ts:1: [closure] @leasehold/client reaches better-sqlite3 (a client program must not load the daemon, SQLite or the native addon): packages/client/src/index.ts -> packages/client/src/wire.ts -> packages/protocol/src/index.ts -> better-sqlite3',
      'packages/disk/src/direct.ts:1: [closure] @leasehold/lease reaches @leasehold/native (the lease layer must load without the native addon): packages/lease/src/index.ts -> packages/disk/src/direct.ts -> packages/native/src/index.ts',
      'packages/lease/src/index.ts:1: [closure] @leasehold/lease reaches @leasehold/disk/direct (the lease layer must load without the native addon): packages/lease/src/index.ts -> packages/disk/src/direct.ts',
    ]);
  });

  it('does not follow type-only or dynamic imports', () => {
    expect(
      findingsOf({
        'packages/watchdog/src/index.ts':
          "import type { name } from '@leasehold/native';\nexport const load = () => import('better-sqlite3');\nexport type N = typeof name;\n",
        'packages/client/src/index.ts':
          "import { type name } from '@leasehold/protocol';\nexport type N = typeof name;\n",
        'packages/protocol/package.json': packageJson('protocol', ['ondisk', 'native']),
        'packages/protocol/src/index.ts':
          "export const name = 'protocol';\nexport const later = () => import('@leasehold/native');\n",
      }),
    ).toEqual([]);
  });

  it('reports a rule whose package exists but whose entry point has no src file', () => {
    expect(
      findingsOf({
        'packages/client/package.json': packageJson('client', ['protocol'], {
          exports: { '.': { default: './dist/main.js' } },
        }),
      }),
    ).toEqual(['scripts/tidy/layers.ts: [closure] cannot resolve @leasehold/client to a src file']);
  });
});

describe('tidy: allowlist', () => {
  it('an entry hides the finding it names; an entry that matches nothing is a finding', () => {
    const files = { 'packages/daemon/src/noisy.ts': "console.log('x');\n" };
    const entry: AllowEntry = { check: 'console', path: 'packages/daemon/src/noisy.ts', reason: 'test' };
    const stale: AllowEntry = { check: 'console', path: 'packages/daemon/src/quiet.ts', reason: 'test' };
    expect(findingsOf(files, [entry])).toEqual([]);
    expect(findingsOf(files, [entry, stale])).toEqual([
      'scripts/tidy/allowlist.ts: [allowlist] entry for [console] packages/daemon/src/quiet.ts matches nothing: remove it',
    ]);
  });
});
