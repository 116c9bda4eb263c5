import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import sibling packages from source, so they never depend on a stale build.
const PACKAGES = [
  'native',
  'testkit',
  'errors',
  'ondisk',
  'lvm-format',
  'disk',
  'lease',
  'host-core',
  'activation',
  'sim',
  'protocol',
  'daemon',
  'client',
  'watchdog',
  'volume',
  'cli',
];
/** Subpath exports (`@leasehold/<package>/<subpath>`) and the source file each maps to. */
const SUBPATHS: Record<string, string> = {
  'disk/direct': 'disk/src/direct.ts',
  'protocol/companion': 'protocol/src/companion.ts',
  'protocol/socket-file': 'protocol/src/socket-file.ts',
  'daemon/config-file': 'daemon/src/config/kv-file.ts',
  'protocol/log-format': 'protocol/src/log-format.ts',
};

const source = (path: string): string => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      ...PACKAGES.map((name) => ({
        find: new RegExp(`^@leasehold/${name}$`),
        replacement: source(`${name}/src/index.ts`),
      })),
      ...Object.entries(SUBPATHS).map(([subpath, file]) => ({
        find: new RegExp(`^@leasehold/${subpath}$`),
        replacement: source(file),
      })),
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'scripts/**/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time even on a 2-core machine (vitest's default there is one): most files wait
    // on real processes, sleeps and devices, not the CPU, and CI must stay under its time limit.
    maxWorkers: 2,
  },
});
