/** Small fake repositories for the tidy check's tests: a clean base that files can be added to. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Package directory -> the workspace packages it depends on (a clean, correctly layered base). */
const BASE_PACKAGES: Record<string, string[]> = {
  native: [],
  ondisk: [],
  disk: ['native', 'ondisk'],
  lease: ['ondisk', 'disk'],
  protocol: ['ondisk'],
  sim: ['ondisk', 'disk', 'lease'],
  daemon: ['native', 'ondisk', 'disk', 'lease', 'protocol'],
  watchdog: ['native', 'lease', 'protocol'],
  client: ['protocol'],
  cli: ['ondisk', 'disk', 'lease', 'native', 'client', 'daemon', 'watchdog'],
  testkit: [],
};

export function packageJson(dir: string, dependencies: readonly string[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    name: `@leasehold/${dir}`,
    type: 'module',
    exports: {
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
      './direct': { types: './dist/direct.d.ts', default: './dist/direct.js' },
    },
    dependencies: Object.fromEntries(
      dependencies.map((name) => [name.includes('/') ? name : `@leasehold/${name}`, '0.1.0']),
    ),
    ...extra,
  });
}

export interface FakeRepo {
  root: string;
  cleanup(): void;
}

/** The base tree plus `files` (repository-relative path -> content; they replace base files). */
export function fakeRepo(
  files: Record<string, string> = {},
  packages: Record<string, string[]> = BASE_PACKAGES,
): FakeRepo {
  const root = mkdtempSync(join(tmpdir(), 'leasehold-tidy-'));
  const all: Record<string, string> = {};
  for (const [dir, dependencies] of Object.entries(packages)) {
    all[`packages/${dir}/package.json`] = packageJson(dir, dependencies);
    all[`packages/${dir}/src/index.ts`] = `export const name = '${dir}';\n`;
  }
  Object.assign(all, files);
  for (const [path, content] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
