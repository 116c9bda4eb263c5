/**
 * The real lvm as a test oracle (spec/lvm2-ondisk.md, "Test oracle recipes"): a private
 * LVM_SYSTEM_DIR so the host's lvm.conf, devices file and backups are untouched, `--devices` on
 * every command so lvm sees only the test's loop devices, and no device-mapper. If lvm is missing the
 * helpers throw: tests that need it fail loudly.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachLoop, detachLoop } from '@leasehold/testkit';
import { runCli, type CliResult } from '../run-cli.js';

export const LVM_BINARY = '/usr/sbin/lvm';

export interface LvmLab {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Loop devices attached for this lab, in order. */
  loops: string[];
  images: string[];
  /** `lvm <command> --devices <loops> ...` */
  lvm(command: string, args: string[], options?: { devices?: string[] }): CliResult;
  /** `leasehold <command> --devices <loops> ...` */
  leasehold(command: string, args: string[], options?: { devices?: string[]; env?: NodeJS.ProcessEnv }): CliResult;
  /** Adds a sparse image of `sizeBytes` on a new loop device; returns the device. */
  addLoop(sizeBytes: number): string;
  cleanup(): void;
}

export function requireLvm(): void {
  if (!existsSync(LVM_BINARY))
    throw new Error(`the real lvm is required for this test: ${LVM_BINARY} is missing (apt-get install lvm2)`);
}

export function createLvmLab(prefix = 'lvmcmd'): LvmLab {
  requireLvm();
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const etc = join(dir, 'etc');
  mkdirSync(etc);
  // use_devicesfile 0 and --devices: lvm looks at nothing but our devices; backups off: nothing in /etc/lvm
  writeFileSync(
    join(etc, 'lvm.conf'),
    [
      'devices { use_devicesfile = 0 obtain_device_list_from_udev = 0 }',
      'backup { backup = 0 archive = 0 }',
      'activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }',
      'global { use_lvmlockd = 0 }',
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = { LVM_SYSTEM_DIR: etc, LVM_SUPPRESS_FD_WARNINGS: '1' };
  const lab: LvmLab = {
    dir,
    env,
    loops: [],
    images: [],
    lvm(command, args, options = {}) {
      const devices = options.devices ?? lab.loops;
      const result = spawnSync(LVM_BINARY, [command, '--devices', devices.join(','), ...args], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 120_000,
      });
      if (result.error) throw result.error;
      return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
    },
    leasehold(command, args, options = {}) {
      const devices = options.devices ?? lab.loops;
      return runCli([command, '--devices', devices.join(','), ...args], {
        ...env,
        LEASEHOLD_CONFIG: join(dir, 'none.conf'),
        ...options.env,
      });
    },
    addLoop(sizeBytes) {
      const image = join(dir, `disk${lab.images.length}.img`);
      writeFileSync(image, '');
      execFileSync('truncate', ['-s', String(sizeBytes), image]);
      const loop = attachLoop(image, 512);
      lab.images.push(image);
      lab.loops.push(loop);
      return loop;
    },
    cleanup() {
      for (const loop of lab.loops.splice(0)) {
        try {
          detachLoop(loop);
        } catch {
          // already detached
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  writeFileSync(join(dir, 'none.conf'), '# no devices filter: tests pass --devices\n');
  // a failing beforeAll may skip afterAll: loop devices must not outlive the test process
  process.once('exit', () => lab.cleanup());
  return lab;
}

/** lvm without device-mapper prints the LV state as unknown (XX); leasehold knows its LVs are inactive. */
export function maskActivation(text: string): string {
  return text.replace(/(-wi)-XX(----)/g, '$1---$2').replace(/([-a-zA-Z][wr-][-a-z][-m])XX([-a-z]{4})/g, '$1--$2');
}

/** lvm's stderr noise without device-mapper and with backups off. */
export function lvmNoise(stderr: string): string {
  return stderr
    .split('\n')
    .filter(
      (l) =>
        l.trim() !== '' &&
        !/Activation disabled|not zeroed|NOT backed up|device-mapper|\/dev\/mapper\/control|libdevmapper|Required device-mapper target|Failed to check for active|Check that device-mapper/.test(
          l,
        ),
    )
    .join('\n');
}
