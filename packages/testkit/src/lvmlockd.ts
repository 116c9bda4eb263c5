/**
 * Test support: the real lvmlockd (lvm2 2.03) + sanlock (3.8) as peers, on loop devices, on a
 * machine without device-mapper. Facts and the recipe this follows: ../shared/spec/lvmlockd-real.md.
 *
 * A "host" is a private mount namespace (tmpfs over /run and /dev/mapper) held open by a `sleep`,
 * running its own sanlock daemon (unprivileged, no watchdog, fixed host name) and lvmlockd
 * (`--host-id N`, io_timeout as given). Inside it every default path works unchanged
 * (/run/lvmlockd.pid, which the lvm tools check; /run/lvm/lvmlockd.socket; /run/sanlock), and
 * nothing global is touched. lvm runs with a private LVM_SYSTEM_DIR: activation off (the LV lease is
 * still taken), a filter that sees only this cluster's PV loop devices, lvmlocal.conf host_id = N.
 *
 * lvmlockd hands sanlock `/dev/mapper/<vg>-lvmlock`; without device-mapper that path is, in every
 * host, a symlink to a loop device over the PV image at the lock LV's byte range (pe_start, 256 MiB
 * or 1 GiB for 4K sectors: in a fresh VG lvmlock is the first LV).
 *
 * Everything started is recorded, and `destroy()` undoes it in order even after failures: LV locks
 * dropped and lockspaces stopped (bounded waits), daemons killed, namespaces ended, loops detached,
 * files removed. Missing tools throw: tests that need them fail loudly, never skip.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  ftruncateSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { CommandResult } from './sanlock.js';

/** lvmlock's size at vgcreate (lvmlockd 2.03.16): 256 MiB on 512-byte sectors, 1 GiB on 4K (align 8 MiB). The stand-in loop has this fixed size. */
export const LVMLOCK_LOOP_BYTES: Readonly<Record<512 | 4096, number>> = {
  512: 256 * 1024 * 1024,
  4096: 1024 * 1024 * 1024,
};
/** Hosts one cluster may run (each is two daemons and a namespace). */
export const MAX_LVMLOCKD_HOSTS = 4;
/** PV images one cluster may make. */
export const MAX_LVMLOCKD_DISKS = 8;
const TOOLS = [
  '/usr/sbin/lvmlockd',
  '/usr/sbin/sanlock',
  '/usr/sbin/lvm',
  '/usr/bin/nsenter',
  '/usr/bin/unshare',
  '/usr/sbin/losetup',
];
const START_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 300_000;
const STOP_TIMEOUT_MS = 30_000;
const POLL_MS = 100;
/** Only what the tools need: a test's own SANLOCK_RUN_DIR or LVM_* must not leak into a host. */
const BASE_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', LVM_SUPPRESS_FD_WARNINGS: '1' };

export function requireLvmlockd(): void {
  const missing = TOOLS.filter((tool) => !existsSync(tool));
  if (missing.length > 0) {
    throw new Error(
      `the real lvmlockd + sanlock are required for this test; missing ${missing.join(', ')} (apt-get install lvm2 lvm2-lockd sanlock util-linux)`,
    );
  }
}

/** Runs a command to completion without blocking the event loop. */
function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = BASE_ENV,
  timeoutMs = COMMAND_TIMEOUT_MS,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? (signal === null ? -1 : 128), stdout, stderr });
    });
  });
}

function runSync(file: string, args: string[]): CommandResult {
  const result = spawnSync(file, args, { env: BASE_ENV, encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(what: string, condition: () => boolean, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(POLL_MS);
  }
}

async function killAndWait(pid: number, signal: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
  if (!alive(pid)) return true;
  try {
    process.kill(pid, signal);
  } catch {
    return true;
  }
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) await delay(POLL_MS);
  return !alive(pid);
}

export interface LvmDisk {
  name: string;
  imagePath: string;
  /** The loop device's logical sector size. */
  sectorSize: 512 | 4096;
  /** The PV: a loop device over the image. */
  device: string;
}

export interface SharedVg {
  name: string;
  disk: LvmDisk;
  /** PV byte offset of the first extent (lvmlock starts there in a fresh VG). */
  peStartBytes: number;
  /** The loop device standing in for /dev/mapper/<vg>-lvmlock. */
  lockLvDevice: string;
}

/** One host: a mount namespace with its own sanlock and lvmlockd. */
export class LvmlockdHost {
  /** Pids this host started: the namespace holder, sanlock, lvmlockd. */
  readonly pids: { holder: number; sanlock?: number; lvmlockd?: number };

  constructor(
    readonly hostId: number,
    readonly dir: string,
    holderPid: number,
  ) {
    this.pids = { holder: holderPid };
  }

  get configDir(): string {
    return join(this.dir, 'etc');
  }

  /** Runs `file args` inside this host's namespace with its lvm configuration. */
  exec(file: string, args: string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<CommandResult> {
    return run(
      '/usr/bin/nsenter',
      ['-t', String(this.pids.holder), '-m', '--', file, ...args],
      { ...BASE_ENV, LVM_SYSTEM_DIR: this.configDir },
      timeoutMs,
    );
  }

  /** An lvm command (`lvm <args>`: vgcreate, vgchange, lvcreate, lvs ...) in this host. */
  lvm(args: string[], timeoutMs?: number): Promise<CommandResult> {
    return this.exec('/usr/sbin/lvm', args, timeoutMs);
  }

  /** The same, throwing with the output unless it exits 0. */
  async lvmOk(args: string[]): Promise<string> {
    const result = await this.lvm(args);
    if (result.status !== 0)
      throw new Error(
        `host ${this.hostId}: lvm ${args.join(' ')} failed (${result.status}): ${result.stdout}${result.stderr}\n${this.logTail()}`,
      );
    return result.stdout;
  }

  /** `vgchange --lock-start VG` (lvmlockd joins lvm_<vg> with host_id N). */
  lockStart(vg: string): Promise<string> {
    return this.lvmOk(['vgchange', '--lock-start', vg]);
  }

  /** The end of this host's daemon logs, for failure messages. */
  logTail(lines = 30): string {
    const tail = (file: string): string => {
      try {
        return readFileSync(join(this.dir, file), 'utf8').split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    };
    return `--- host ${this.hostId} lvmlockd.log ---\n${tail('lvmlockd.log')}\n--- host ${this.hostId} sanlock.log ---\n${tail('sanlock.log')}`;
  }

  /** Makes /dev/mapper/<vg>-lvmlock in this host point at the VG's lock LV loop. */
  async linkVg(vg: SharedVg): Promise<void> {
    const mapperName = `${vg.name.replaceAll('-', '--')}-lvmlock`;
    const result = await this.exec('/bin/ln', ['-sfn', vg.lockLvDevice, `/dev/mapper/${mapperName}`]);
    if (result.status !== 0) throw new Error(`host ${this.hostId}: linking ${mapperName} failed: ${result.stderr}`);
  }

  writeConfig(disks: readonly LvmDisk[]): void {
    mkdirSync(this.configDir, { recursive: true });
    for (const sub of ['lock', 'backup', 'archive']) mkdirSync(join(this.dir, sub), { recursive: true });
    const accept = disks.map((disk) => `"a|^${disk.device}$|", `).join('');
    writeFileSync(
      join(this.configDir, 'lvm.conf'),
      [
        'devices {',
        '  scan = [ "/dev" ]',
        '  obtain_device_list_from_udev = 0',
        '  external_device_info_source = "none"',
        '  use_devicesfile = 0',
        '  hints = "none"',
        `  global_filter = [ ${accept}"r|.*|" ]`,
        `  filter = [ ${accept}"r|.*|" ]`,
        '  multipath_component_detection = 0',
        '  md_component_detection = 0',
        '}',
        'global {',
        '  activation = 0',
        '  use_lvmlockd = 1',
        `  locking_dir = "${join(this.dir, 'lock')}"`,
        '  event_activation = 0',
        '  use_lvmpolld = 0',
        '  notify_dbus = 0',
        '  system_id_source = "none"',
        '}',
        'activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }',
        `backup { backup = 1 backup_dir = "${join(this.dir, 'backup')}" archive = 0 archive_dir = "${join(this.dir, 'archive')}" }`,
        'log { syslog = 0 }',
        '',
      ].join('\n'),
    );
    writeFileSync(join(this.configDir, 'lvmlocal.conf'), `local {\n  host_id = ${this.hostId}\n}\n`);
  }

  /** Starts sanlock then lvmlockd inside the namespace, and waits for their sockets. */
  async startDaemons(ioTimeoutSeconds: number): Promise<void> {
    const inNs = (args: string[], log: string, env: NodeJS.ProcessEnv): number => {
      const fd = openSync(join(this.dir, log), 'a');
      try {
        const child = spawn('/usr/bin/nsenter', ['-t', String(this.pids.holder), '-m', '--', ...args], {
          env,
          stdio: ['ignore', fd, fd],
          detached: true,
        });
        child.unref();
        if (child.pid === undefined) throw new Error(`host ${this.hostId}: could not start ${args[0]}`);
        return child.pid;
      } finally {
        closeSync(fd);
      }
    };
    const socketUp = (path: string) => () =>
      runSync('/usr/bin/nsenter', ['-t', String(this.pids.holder), '-m', '--', '/usr/bin/test', '-S', path]).status ===
      0;
    // No CAP_SYS_RESOURCE here: without SANLOCK_PRIVILEGED=0 sanlock exits ("cannot set the limits for
    // memlock"). A fixed -e name makes a restart a fast reacquire. -w 0: no watchdog device.
    this.pids.sanlock = inNs(
      [
        '/usr/sbin/sanlock',
        'daemon',
        '-D',
        '-w',
        '0',
        '-l',
        '0',
        '-U',
        'root',
        '-G',
        'root',
        '-L',
        '-1',
        '-S',
        '-1',
        '-e',
        `lvmlockd-host${this.hostId}`,
      ],
      'sanlock.log',
      { ...BASE_ENV, SANLOCK_PRIVILEGED: '0' },
    );
    await waitUntil(`host ${this.hostId} sanlock socket`, socketUp('/run/sanlock/sanlock.sock'));
    // lvmlockd 2.03.16: the short -i is missing from its getopt string; --host-id works.
    this.pids.lvmlockd = inNs(
      ['/usr/sbin/lvmlockd', '-D', '-g', 'sanlock', '--host-id', String(this.hostId), '-o', String(ioTimeoutSeconds)],
      'lvmlockd.log',
      BASE_ENV,
    );
    await waitUntil(`host ${this.hostId} lvmlockd socket`, socketUp('/run/lvm/lvmlockd.socket'));
    // nsenter execs the daemon (no fork for a mount namespace): these pids are the daemons' own.
  }

  /** Drops LV locks and lockspaces (bounded), then stops lvmlockd, sanlock and the namespace. */
  async stop(): Promise<void> {
    const errors: string[] = [];
    if (this.pids.lvmlockd !== undefined && alive(this.pids.lvmlockd)) {
      // activation=0: "-an" only drops LV leases; lvmlockd ignores SIGTERM while lockspaces exist.
      await this.lvm(['vgchange', '-an'], STOP_TIMEOUT_MS).catch(() => undefined);
      await this.lvm(['vgchange', '--lock-stop'], STOP_TIMEOUT_MS).catch(() => undefined);
      if (
        !(await killAndWait(this.pids.lvmlockd, 'SIGTERM', 3000)) &&
        !(await killAndWait(this.pids.lvmlockd, 'SIGKILL', 3000))
      )
        errors.push('lvmlockd would not die');
    }
    if (this.pids.sanlock !== undefined && alive(this.pids.sanlock)) {
      await this.exec('/usr/sbin/sanlock', ['client', 'shutdown', '-f', '1'], 10_000).catch(() => undefined);
      if (
        !(await killAndWait(this.pids.sanlock, 'SIGTERM', 5000)) &&
        !(await killAndWait(this.pids.sanlock, 'SIGKILL', 3000))
      )
        errors.push('sanlock would not die');
    }
    // The holder is the last process in the namespace: its tmpfs mounts go with it.
    if (!(await killAndWait(this.pids.holder, 'SIGKILL', 3000))) errors.push('namespace holder would not die');
    if (errors.length > 0) throw new Error(`host ${this.hostId}: ${errors.join('; ')}`);
  }
}

export interface LvmlockdClusterOptions {
  /** sanlock io_timeout lvmlockd uses (`-o`); 1 keeps lock-start near 4-6 s. */
  ioTimeoutSeconds?: number;
}

/** One or more lvmlockd hosts sharing loop-device PVs. */
export class LvmlockdCluster {
  readonly hosts: LvmlockdHost[] = [];
  readonly disks: LvmDisk[] = [];
  readonly vgs: SharedVg[] = [];
  private readonly loops: string[] = [];
  private destroyed = false;
  /** Last resort if the test process exits without destroy(): kill what we started, free the loops. */
  private readonly onExit = (): void => this.destroyNow();

  private constructor(
    readonly dir: string,
    readonly ioTimeoutSeconds: number,
  ) {
    process.once('exit', this.onExit);
  }

  static create(options: LvmlockdClusterOptions = {}): LvmlockdCluster {
    requireLvmlockd();
    return new LvmlockdCluster(mkdtempSync(join(tmpdir(), 'lvmlockd-peer-')), options.ioTimeoutSeconds ?? 1);
  }

  /** Loop devices this cluster attached and has not detached. */
  get attachedLoops(): readonly string[] {
    return this.loops;
  }

  /** A sparse image and a loop device over it (the PV), with 512-byte (default) or 4K sectors. */
  addDisk(name: string, sizeBytes: number, sectorSize: 512 | 4096 = 512): LvmDisk {
    if (this.disks.length >= MAX_LVMLOCKD_DISKS) throw new Error(`at most ${MAX_LVMLOCKD_DISKS} disks per cluster`);
    const imagePath = join(this.dir, `${name}.img`);
    const fd = openSync(imagePath, 'w');
    ftruncateSync(fd, sizeBytes);
    closeSync(fd);
    const device = this.attach(['-f', '--show', '--sector-size', String(sectorSize), imagePath]);
    const disk = { name, imagePath, sectorSize, device };
    this.disks.push(disk);
    for (const host of this.hosts) host.writeConfig(this.disks);
    return disk;
  }

  /** Starts host `hostId`: namespace, sanlock, lvmlockd, and the lvmlock links of every VG so far. */
  async startHost(hostId: number): Promise<LvmlockdHost> {
    if (this.hosts.length >= MAX_LVMLOCKD_HOSTS) throw new Error(`at most ${MAX_LVMLOCKD_HOSTS} hosts per cluster`);
    const dir = join(this.dir, `h${hostId}`);
    mkdirSync(dir, { recursive: true });
    // `mount -n`: a plain mount would make libmount create /run/mount globally first.
    const script = [
      'mount -n -t tmpfs -o mode=755 lvmlockd-peer-run /run',
      'mkdir -p /run/lvm /run/sanlock /run/lock/lvm',
      'mount -n -t tmpfs -o mode=755 lvmlockd-peer-mapper /dev/mapper',
      'exec sleep infinity',
    ].join(' && ');
    const holder = spawn('/usr/bin/unshare', ['-m', '--propagation', 'private', '--', '/bin/sh', '-c', script], {
      env: BASE_ENV,
      stdio: 'ignore',
      detached: true,
    });
    holder.unref();
    if (holder.pid === undefined) throw new Error(`host ${hostId}: unshare did not start`);
    const host = new LvmlockdHost(hostId, dir, holder.pid);
    this.hosts.push(host);
    const holderPid = holder.pid;
    // The holder execs sleep only once its private mounts are in place.
    await waitUntil(`host ${hostId} namespace`, () => {
      try {
        return readFileSync(`/proc/${holderPid}/comm`, 'utf8').trim() === 'sleep';
      } catch {
        return false;
      }
    });
    host.writeConfig(this.disks);
    await host.startDaemons(this.ioTimeoutSeconds);
    for (const vg of this.vgs) await host.linkVg(vg);
    return host;
  }

  /**
   * `vgcreate --shared VG PV` on `host`: the PV is made first without lvmlockd (there is no global
   * lock before the first shared VG), and the lvmlock stand-in loop is linked in every host.
   */
  async vgcreateShared(host: LvmlockdHost, vgName: string, disk: LvmDisk, extraArgs: string[] = []): Promise<SharedVg> {
    await host.lvmOk(['pvcreate', '-q', '--config', 'global { use_lvmlockd = 0 }', disk.device]);
    const peStart = (
      await host.lvmOk(['pvs', '--noheadings', '--nosuffix', '--units', 'b', '-o', 'pe_start', disk.device])
    ).trim();
    const peStartBytes = Number(peStart);
    if (!Number.isSafeInteger(peStartBytes) || peStartBytes <= 0)
      throw new Error(`pvs printed no pe_start for ${disk.device}: ${JSON.stringify(peStart)}`);
    // lvmlockd takes the sector size from this device (sysfs), so it must match the PV's.
    const lockLvDevice = this.attach([
      '-f',
      '--show',
      '--sector-size',
      String(disk.sectorSize),
      '--offset',
      String(peStartBytes),
      '--sizelimit',
      String(LVMLOCK_LOOP_BYTES[disk.sectorSize]),
      disk.imagePath,
    ]);
    const vg: SharedVg = { name: vgName, disk, peStartBytes, lockLvDevice };
    this.vgs.push(vg);
    for (const each of this.hosts) await each.linkVg(vg);
    await host.lvmOk(['vgcreate', '--shared', ...extraArgs, vgName, disk.device]);
    return vg;
  }

  /**
   * A shared VG made by someone else (leasehold's vgcreate --shared) on `disk`: the lvmlock stand-in
   * loop at `peStartBytes` is attached and linked in every host, as vgcreateShared does for its own.
   */
  async adoptVg(vgName: string, disk: LvmDisk, peStartBytes: number): Promise<SharedVg> {
    const lockLvDevice = this.attach([
      '-f',
      '--show',
      '--sector-size',
      String(disk.sectorSize),
      '--offset',
      String(peStartBytes),
      '--sizelimit',
      String(LVMLOCK_LOOP_BYTES[disk.sectorSize]),
      disk.imagePath,
    ]);
    const vg: SharedVg = { name: vgName, disk, peStartBytes, lockLvDevice };
    this.vgs.push(vg);
    for (const each of this.hosts) await each.linkVg(vg);
    return vg;
  }

  /** Undoes everything (safe to call twice, and after any failure). Throws at the end if something resisted. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    process.removeListener('exit', this.onExit);
    const errors: string[] = [];
    for (const host of [...this.hosts].reverse()) {
      await host.stop().catch((error: unknown) => errors.push(String(error)));
    }
    for (const loop of [...this.loops].reverse()) {
      const result = runSync('/usr/sbin/losetup', ['-d', loop]);
      if (result.status !== 0) errors.push(`losetup -d ${loop}: ${result.stderr.trim()}`);
      else this.loops.splice(this.loops.indexOf(loop), 1);
    }
    rmSync(this.dir, { recursive: true, force: true });
    if (errors.length > 0) throw new Error(`lvmlockd cluster teardown: ${errors.join('; ')}`);
  }

  /** Synchronous, no clean lock release: SIGKILL everything started, detach the loops. */
  private destroyNow(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const host of this.hosts) {
      for (const pid of [host.pids.lvmlockd, host.pids.sanlock, host.pids.holder]) {
        if (pid === undefined) continue;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const loop of [...this.loops].reverse()) spawnSync('/usr/sbin/losetup', ['-d', loop], { env: BASE_ENV });
    rmSync(this.dir, { recursive: true, force: true });
  }

  private attach(args: string[]): string {
    const result = runSync('/usr/sbin/losetup', args);
    if (result.status !== 0) throw new Error(`losetup ${args.join(' ')} failed: ${result.stderr}`);
    const device = result.stdout.trim();
    this.loops.push(device);
    return device;
  }
}
