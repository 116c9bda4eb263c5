/**
 * Install as an operator does: scripts/package-deb builds the .deb, dpkg installs it into a
 * throw-away root (with the CI machine's own nodejs and util-linux as its dependencies), and
 * scripts/install --root puts the same tree into another; the command runs from both roots'
 * /usr/sbin and loads its native addons from there, systemd-analyze accepts the units, and a purge
 * leaves nothing behind. Needs root (dpkg --root), dpkg-deb and systemd-analyze (.ci/run installs
 * systemd); the checkout must be built (`npm test` builds first).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempImage } from '@leasehold/testkit';

const CHECKOUT = fileURLToPath(new URL('../../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(CHECKOUT, 'packages/cli/package.json'), 'utf8')) as { version: string })
  .version;
const UNITS = [
  'leasehold.service',
  'leasehold-watchdog.service',
  'leasehold-lockstart.service',
  'leasehold-commands.service',
];
/** Packages only the build and the tests use: none may reach the installed tree. */
const DEV_ONLY_PACKAGES = [
  'typescript',
  'vitest',
  'fast-check',
  'tsx',
  '@types/node',
  '@leasehold/testkit',
  '@leasehold/sim',
];
/** Packages the host must have installed for the dependency check in the throw-away root. */
const HOST_DEPENDENCIES = ['nodejs', 'util-linux'];
const STEP_TIMEOUT_MS = 120_000;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[]): Run {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: STEP_TIMEOUT_MS });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function runOk(command: string, args: string[]): string {
  const result = run(command, args);
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** Every entry below DIR (skipping SKIP) as `path mode link-target-or-content-hash`. */
function describeTree(dir: string, skip: string[] = []): string[] {
  const lines: string[] = [];
  const walk = (path: string): void => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const rel = relative(dir, full);
      if (skip.includes(rel)) continue;
      const stat = lstatSync(full);
      const mode = (stat.mode & 0o7777).toString(8);
      if (stat.isSymbolicLink()) lines.push(`${rel} link ${readlinkSync(full)}`);
      else if (stat.isDirectory()) {
        lines.push(`${rel}/ ${mode}`);
        walk(full);
      } else lines.push(`${rel} ${mode} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`);
    }
  };
  walk(dir);
  return lines;
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${field} syntax
const DPKG_STATUS_FORMAT = '${Status} ${Version}';

const work = mkdtempSync(join(tmpdir(), 'leasehold-package-test-'));
const dpkgRoot = join(work, 'dpkg-root');
const installRoot = join(work, 'install-root');
let deb = '';

beforeAll(() => {
  const printed = runOk(join(CHECKOUT, 'scripts/package-deb'), ['--no-build', '--out', join(work, 'out')])
    .trim()
    .split('\n');
  deb = printed[printed.length - 1] ?? '';
  runOk(join(CHECKOUT, 'scripts/install'), ['--no-build', '--root', installRoot]);
}, 4 * STEP_TIMEOUT_MS);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('scripts/package-deb', () => {
  it('builds leasehold_<version>_<arch>.deb with the declared dependencies and /etc as conffiles', () => {
    const arch = runOk('dpkg', ['--print-architecture']).trim();
    expect(deb).toBe(join(work, 'out', `leasehold_${VERSION}_${arch}.deb`));
    const field = (name: string): string => runOk('dpkg-deb', ['-f', deb, name]).trim();
    expect(field('Package')).toBe('leasehold');
    expect(field('Version')).toBe(VERSION);
    expect(field('Architecture')).toBe(arch);
    expect(field('Depends').split(', ')).toEqual(expect.arrayContaining(['nodejs (>= 20)', 'util-linux']));
    expect(field('Recommends')).toContain('dmsetup');
    expect(field('Suggests')).toContain('sanlock');
    const control = join(work, 'control');
    runOk('dpkg-deb', ['--control', deb, control]);
    expect(readFileSync(join(control, 'conffiles'), 'utf8').trim().split('\n')).toEqual([
      '/etc/leasehold/host-id.conf.example',
      '/etc/leasehold/leasehold.conf',
    ]);
    for (const script of ['postinst', 'prerm', 'postrm']) {
      expect(readFileSync(join(control, script), 'utf8'), script).not.toMatch(
        /systemctl\s+(enable|start|restart)|deb-systemd/,
      );
    }
  });

  it('installs with dpkg into a throw-away root, runs from its /usr/sbin, and purges cleanly', () => {
    mkdirSync(join(dpkgRoot, 'var/lib/dpkg/info'), { recursive: true });
    mkdirSync(join(dpkgRoot, 'var/lib/dpkg/updates'), { recursive: true });
    // The root's dpkg database holds the host's own entries of the dependencies, so that dpkg
    // checks them for real (no --force-depends): the CI machine's packages satisfy the .deb.
    writeFileSync(join(dpkgRoot, 'var/lib/dpkg/status'), runOk('dpkg-query', ['-s', ...HOST_DEPENDENCIES]));
    for (const name of HOST_DEPENDENCIES) writeFileSync(join(dpkgRoot, `var/lib/dpkg/info/${name}.list`), '');
    const dpkg = (args: string[]): string =>
      runOk('dpkg', [`--root=${dpkgRoot}`, '--force-script-chrootless', ...args]);

    dpkg(['-i', deb]);
    expect(runOk('dpkg-query', [`--root=${dpkgRoot}`, '-W', '-f', DPKG_STATUS_FORMAT, 'leasehold'])).toBe(
      `install ok installed ${VERSION}`,
    );
    expect(runOk(join(dpkgRoot, 'usr/sbin/leasehold'), ['--version'])).toBe(`leasehold ${VERSION}\n`);
    expect(runOk(join(dpkgRoot, 'usr/bin/leasehold'), ['--version'])).toBe(`leasehold ${VERSION}\n`);
    // The package and scripts/install put down the same tree, byte for byte.
    expect(describeTree(dpkgRoot, ['var'])).toEqual(describeTree(installRoot));

    dpkg(['--purge', 'leasehold']);
    expect(describeTree(dpkgRoot, ['var'])).toEqual([]);
  });
});

describe('scripts/install --root', () => {
  const lib = join(installRoot, 'usr/lib/leasehold');

  it('puts the command, units and config in place and runs from the root', () => {
    expect(runOk(join(installRoot, 'usr/sbin/leasehold'), ['--version'])).toBe(`leasehold ${VERSION}\n`);
    expect(readlinkSync(join(installRoot, 'usr/bin/leasehold'))).toBe('../sbin/leasehold');
    for (const unit of UNITS)
      expect(readFileSync(join(installRoot, 'usr/lib/systemd/system', unit), 'utf8')).toContain(
        'ExecStart=/usr/sbin/leasehold ',
      );
    expect(readFileSync(join(installRoot, 'etc/leasehold/leasehold.conf'), 'utf8')).toBe(
      readFileSync(join(CHECKOUT, 'leasehold.conf.example'), 'utf8'),
    );
    expect(readFileSync(join(installRoot, 'usr/share/doc/leasehold/operations.md'), 'utf8')).toContain('systemctl');
  });

  it('ships the production packages with their native addons, and no dev dependencies', () => {
    const modules = join(lib, 'node_modules');
    for (const name of DEV_ONLY_PACKAGES) expect(() => lstatSync(join(modules, name)), name).toThrow();
    expect(readdirSync(join(lib, 'packages')).sort()).toEqual([
      'activation',
      'cli',
      'client',
      'daemon',
      'disk',
      'errors',
      'host-core',
      'lease',
      'lvm-format',
      'native',
      'ondisk',
      'protocol',
      'volume',
      'watchdog',
    ]);
    expect(() => lstatSync(join(lib, 'packages/cli/src'))).toThrow();
    // The daemon's state database loads better-sqlite3's addon from the installed tree.
    const requireFromDaemon = createRequire(join(lib, 'packages/daemon/package.json'));
    expect(requireFromDaemon.resolve('better-sqlite3')).toBe(join(modules, 'better-sqlite3/lib/index.js'));
    const loaded = runOk(process.execPath, [
      '-e',
      `const Database = require(${JSON.stringify(join(modules, 'better-sqlite3'))}); console.log(new Database(':memory:').prepare('select 6 * 7 as x').get().x)`,
    ]);
    expect(loaded).toBe('42\n');
  });

  it('does direct I/O through its own native addon', () => {
    const image = makeTempImage(2 * 1024 * 1024);
    try {
      const leasehold = join(installRoot, 'usr/sbin/leasehold');
      runOk(leasehold, ['direct', 'init', '-s', `pkgtest:0:${image.path}:0`, '-o', '1']);
      expect(runOk(leasehold, ['direct', 'read-leader', '-s', `pkgtest:1:${image.path}:0`])).toMatch(
        /^space_name pkgtest$/m,
      );
    } finally {
      image.cleanup();
    }
  });

  it('keeps an existing leasehold.conf when run again (DESTDIR= this time)', () => {
    const conf = join(installRoot, 'etc/leasehold/leasehold.conf');
    writeFileSync(conf, 'io_timeout = 5\n');
    const output = runOk('env', [`DESTDIR=${installRoot}`, join(CHECKOUT, 'scripts/install'), '--no-build']);
    expect(output).toContain('keeping the existing');
    expect(readFileSync(conf, 'utf8')).toBe('io_timeout = 5\n');
    expect(output).toContain(`installed leasehold ${VERSION} into ${installRoot}`);
  });

  it('has units that systemd-analyze verify accepts', () => {
    const analyze = run('systemd-analyze', ['--version']);
    if (analyze.status !== 0)
      throw new Error('systemd-analyze is missing: apt-get install systemd (.ci/run installs it)');
    // In the installed root, so that verify checks our ExecStart paths there, with the host's units
    // added (sysinit.target and the other targets every service depends on). Last: it adds files.
    cpSync('/lib/systemd/system', join(installRoot, 'lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    const result = run('systemd-analyze', [`--root=${installRoot}`, 'verify', ...UNITS]);
    // verify exits 0 on some errors (an unknown Type= is only "ignored"): its output must be empty.
    expect({ status: result.status, output: result.stdout + result.stderr }).toEqual({ status: 0, output: '' });
  });
});
