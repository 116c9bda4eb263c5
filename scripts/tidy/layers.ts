/**
 * The rules the tidy check enforces, in one place. To add a package: put its directory name in the
 * tier it belongs to (DESIGN.md "Layers"); a package may import only packages of lower tiers.
 */

/** Tiers from the bottom up. Packages in one tier may not import each other. */
export const LAYERS: readonly (readonly string[])[] = [
  ['errors'],
  ['native', 'ondisk', 'lvm-format'],
  ['disk'],
  ['lease', 'protocol'],
  ['host-core', 'activation'],
  ['sim', 'daemon', 'watchdog'],
  ['volume'],
  ['client'],
  ['cli'],
];

/** Packages only tests may use: no package's src or dependencies may name them. */
export const TEST_ONLY_PACKAGES: readonly string[] = ['testkit'];

/** The npm scope of the workspace packages. */
export const SCOPE = '@leasehold/';

/** Layers that run in the simulator: time only through a Clock, I/O only through a Disk. */
export const PURE_SOURCE_DIRS: readonly string[] = [
  'packages/ondisk/src',
  'packages/lease/src',
  'packages/host-core/src',
];

/** Packages whose src may write to the console (the CLI's output). */
export const CONSOLE_PACKAGES: readonly string[] = ['cli'];

/**
 * What a module's static runtime imports (not type-only, not `import()`) must never reach. A rule
 * for a package that does not exist yet is skipped.
 */
export interface ClosureRule {
  /** A workspace import specifier, e.g. '@leasehold/client'. */
  entry: string;
  /** Workspace packages ('@leasehold/daemon'), subpaths ('@leasehold/disk/direct') or npm packages. */
  mustNotReach: readonly string[];
  why: string;
}

export const CLOSURE_RULES: readonly ClosureRule[] = [
  {
    entry: '@leasehold/client',
    mustNotReach: ['@leasehold/daemon', 'better-sqlite3', '@leasehold/native'],
    why: 'a client program must not load the daemon, SQLite or the native addon',
  },
  {
    entry: '@leasehold/watchdog',
    mustNotReach: ['@leasehold/daemon', 'better-sqlite3'],
    why: 'the companion must not load the daemon or SQLite',
  },
  {
    entry: '@leasehold/lease',
    mustNotReach: ['@leasehold/native', '@leasehold/disk/direct'],
    why: 'the lease layer must load without the native addon',
  },
  {
    entry: '@leasehold/sim',
    mustNotReach: ['@leasehold/native', '@leasehold/disk/direct'],
    why: 'the simulator must load without the native addon',
  },
  {
    entry: '@leasehold/host-core',
    mustNotReach: ['@leasehold/native', '@leasehold/disk/direct', 'better-sqlite3', '@leasehold/daemon'],
    why: 'the host core runs in the simulator: no addon, no SQLite, no daemon',
  },
];
