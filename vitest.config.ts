import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import sibling packages from source, so they never depend on a stale build.
const PACKAGES = ['native', 'testkit', 'ondisk', 'disk', 'lease', 'host-core', 'sim', 'daemon', 'client', 'watchdog', 'cli'];

export default defineConfig({
  resolve: {
    alias: PACKAGES.map((name) => ({
      find: new RegExp(`^@leasehold/${name}$`),
      replacement: fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url)),
    })),
  },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
