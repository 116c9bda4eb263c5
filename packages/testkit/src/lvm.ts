/**
 * Test support: the real lvm2 (Debian package lvm2, 2.03) as an oracle, on loop devices over image
 * files, with a private LVM_SYSTEM_DIR (lvm.conf, backup, locking dir) and `--devices` on every
 * command so no other device on the host is seen (spec/lvm2-ondisk.md "Test oracle recipes").
 * Device-mapper is not needed: LV commands run with `--driverloaded n` and `-an -Zn`.
 * If lvm is missing these helpers throw: tests that need it fail loudly, never skip.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandResult } from './sanlock.js';
import { attachLoop, detachLoop } from './files.js';

export const LVM_BINARY = '/usr/sbin/lvm';

export function requireLvm(): void {
  if (!existsSync(LVM_BINARY))
    throw new Error(`the real lvm is required for this test: ${LVM_BINARY} is missing (apt-get install lvm2)`);
  if (!existsSync('/usr/sbin/losetup') && !existsSync('/sbin/losetup'))
    throw new Error('losetup (util-linux) is required for the real-lvm tests');
}

/** Commands that need `--driverloaded n` so they do not talk to device-mapper. */
const DM_COMMANDS = new Set([
  'lvcreate',
  'lvextend',
  'lvreduce',
  'lvresize',
  'lvremove',
  'lvrename',
  'lvs',
  'lvchange',
  'vgremove',
  'vgcfgrestore',
  'vgchange',
  'vgreduce',
  'vgextend',
]);

export interface LvmSandbox {
  /** The private directory (LVM_SYSTEM_DIR is `${dir}/etc`, lvm's locking_dir `${dir}/lock`). */
  readonly dir: string;
  readonly lockingDir: string;
  readonly env: NodeJS.ProcessEnv;
  /** Runs `lvm <command> --devices <devices> <args>`; never throws on a non-zero exit. */
  run(command: string, args: string[], devices: readonly string[]): CommandResult;
  /** Like run, but throws with lvm's stderr unless it exits 0. */
  ok(command: string, args: string[], devices: readonly string[]): CommandResult;
  /** A report command with `--reportformat json`: the rows of its first report. */
  report(command: 'pvs' | 'vgs' | 'lvs', args: string[], devices: readonly string[]): Array<Record<string, string>>;
  cleanup(): void;
}

export function makeLvmSandbox(): LvmSandbox {
  requireLvm();
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-lvm-'));
  const lockingDir = join(dir, 'lock');
  for (const sub of ['etc', 'backup', 'archive', 'lock']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(
    join(dir, 'etc', 'lvm.conf'),
    [
      'devices { use_devicesfile = 0  obtain_device_list_from_udev = 0 }',
      `backup { backup = 0  backup_dir = "${dir}/backup"  archive = 0  archive_dir = "${dir}/archive" }`,
      'activation { udev_sync = 0  udev_rules = 0  monitoring = 0 }',
      `global { use_lvmlockd = 0  locking_dir = "${lockingDir}" }`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, LVM_SYSTEM_DIR: join(dir, 'etc'), LVM_SUPPRESS_FD_WARNINGS: '1' };
  const run = (command: string, args: string[], devices: readonly string[]): CommandResult => {
    const extra = DM_COMMANDS.has(command) ? ['--driverloaded', 'n'] : [];
    const result = spawnSync(LVM_BINARY, [command, '--devices', devices.join(','), ...extra, ...args], {
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (result.error) throw result.error;
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  };
  const ok = (command: string, args: string[], devices: readonly string[]): CommandResult => {
    const r = run(command, args, devices);
    if (r.status !== 0) throw new Error(`lvm ${command} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
    return r;
  };
  return {
    dir,
    lockingDir,
    env,
    run,
    ok,
    report(command, args, devices) {
      const r = ok(command, ['--reportformat', 'json', ...args], devices);
      const parsed = JSON.parse(r.stdout) as { report: Array<Record<string, Array<Record<string, string>>>> };
      const first = parsed.report[0] ?? {};
      const key = command === 'pvs' ? 'pv' : command === 'vgs' ? 'vg' : 'lv';
      return first[key] ?? [];
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Image files attached to loop devices (512- or 4096-byte sectors), detached and deleted by cleanup(). */
export interface LoopSet {
  readonly dir: string;
  readonly images: string[];
  readonly devices: string[];
  cleanup(): void;
}

export function makeLoopSet(sizesBytes: readonly number[], sectorSize: 512 | 4096 = 512): LoopSet {
  requireLvm();
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-loops-'));
  const images: string[] = [];
  const devices: string[] = [];
  try {
    sizesBytes.forEach((size, i) => {
      const path = join(dir, `pv${i}.img`);
      const fd = openSync(path, 'w');
      ftruncateSync(fd, size);
      closeSync(fd);
      images.push(path);
      devices.push(attachLoop(path, sectorSize));
    });
  } catch (error) {
    for (const d of devices) detachLoop(d);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    images,
    devices,
    cleanup() {
      for (const d of devices) {
        try {
          detachLoop(d);
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
