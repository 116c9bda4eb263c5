/**
 * The lvmlockd peer of the chaos run: the real lvmlockd + sanlock in a private mount namespace
 * (peer-namespace.ts), joined to the VG with `vgchange --lock-start`, taking an LV's lease with the
 * real `lvchange -aey` and releasing it with `lvchange -an`. lvm runs with activation disabled (no
 * device-mapper here): lvchange still takes and drops the LV's lease through lvmlockd, and the peer's
 * worker writes at the LV's extents on the PV. Recipe: /work/shared/spec/lvmlockd-real.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAndWait, PeerNamespace } from './peer-namespace.js';
import { shortCode, type PeerAnswer, type PeerLeases } from './peer-worker.js';
import type { PeerLv } from './peer-layout.js';

const LVM = '/usr/sbin/lvm';
const LVMLOCKD = '/usr/sbin/lvmlockd';
const LOCK_START_TIMEOUT_MS = 120_000;
const LV_COMMAND_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
/** lvm's warnings on every command here (activation off, the VG lock skipped): no part of why it failed. */
const ROUTINE_WARNINGS = /^\s*WARNING: (Activation disabled|skipping VG lock)\b.*$/gm;

/** A private lvm configuration: only the PV, activation off, lvmlockd on, this host's host_id. */
function writeLvmConfig(dir: string, pvPath: string, hostId: number): void {
  const etc = join(dir, 'etc');
  for (const sub of [etc, join(dir, 'lock'), join(dir, 'backup'), join(dir, 'archive')])
    mkdirSync(sub, { recursive: true });
  const accept = `"a|^${pvPath}$|", "r|.*|"`;
  writeFileSync(
    join(etc, 'lvm.conf'),
    [
      'devices {',
      '  scan = [ "/dev" ]',
      '  obtain_device_list_from_udev = 0',
      '  external_device_info_source = "none"',
      '  use_devicesfile = 0',
      '  hints = "none"',
      `  global_filter = [ ${accept} ]`,
      `  filter = [ ${accept} ]`,
      '  multipath_component_detection = 0',
      '  md_component_detection = 0',
      '}',
      'global {',
      '  activation = 0',
      '  use_lvmlockd = 1',
      `  locking_dir = "${join(dir, 'lock')}"`,
      '  event_activation = 0',
      '  use_lvmpolld = 0',
      '  notify_dbus = 0',
      '  system_id_source = "none"',
      '}',
      'activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }',
      `backup { backup = 0 backup_dir = "${join(dir, 'backup')}" archive = 0 archive_dir = "${join(dir, 'archive')}" }`,
      'log { syslog = 0 }',
      '',
    ].join('\n'),
  );
  writeFileSync(join(etc, 'lvmlocal.conf'), `local {\n  host_id = ${hostId}\n}\n`);
}

export class LvmlockdPeer implements PeerLeases {
  private lvmlockdPid: number | undefined;

  private constructor(
    private readonly ns: PeerNamespace,
    private readonly vg: string,
    /** lvchange takes the VG lock (SH) as it normally does; otherwise `--lockopt skipvg` (see start()). */
    private readonly vgLock: boolean,
  ) {}

  /**
   * Namespace, lvm configuration, sanlock, lvmlockd; then `vgchange --lock-start VG`. Without
   * `vgLock`, lvchange skips the VG lock (`--lockopt skipvg`; the LV lease is taken all the same).
   * With it (the default) every activation contends for VGLK with the leasehold hosts' commands: the
   * run that found a leasehold acquire re-balloting over a live sanlock host's carried value
   * (docs/timing.md, "The chaos run").
   */
  static async start(options: {
    dir: string;
    vgLock: boolean;
    hostId: number;
    pvPath: string;
    vg: string;
    lockLvDevice: string;
    ioTimeoutSeconds: number;
  }): Promise<LvmlockdPeer> {
    const ns = await PeerNamespace.start(options.dir);
    const peer = new LvmlockdPeer(ns, options.vg, options.vgLock);
    try {
      writeLvmConfig(options.dir, options.pvPath, options.hostId);
      await ns.linkLockLv(options.vg, options.lockLvDevice);
      await ns.startSanlock(`chaos-lvmlockd-host${options.hostId}`);
      // lvmlockd 2.03.16: the short -i is missing from its getopt string; --host-id works.
      peer.lvmlockdPid = ns.spawn(
        [LVMLOCKD, '-D', '-g', 'sanlock', '--host-id', String(options.hostId), '-o', String(options.ioTimeoutSeconds)],
        {},
        'lvmlockd.log',
      ).pid;
      await ns.waitUntil('the lvmlockd socket', () => ns.hasSocket('/run/lvm/lvmlockd.socket'));
      const started = await peer.lvm(['vgchange', '--lock-start', options.vg], LOCK_START_TIMEOUT_MS);
      if (started.status !== 0)
        throw new Error(`lvmlockd peer: vgchange --lock-start ${options.vg} failed: ${started.stderr.trim()}`);
    } catch (error) {
      await peer.stop();
      throw error;
    }
    return peer;
  }

  private lvm(args: string[], timeoutMs: number) {
    return this.ns.exec([LVM, ...args], { LVM_SYSTEM_DIR: join(this.ns.dir, 'etc') }, timeoutMs);
  }

  private async lvchange(flag: string, target: PeerLv): Promise<PeerAnswer> {
    const skip = this.vgLock ? [] : ['--lockopt', 'skipvg'];
    const result = await this.lvm(['lvchange', ...skip, flag, `${this.vg}/${target.lv}`], LV_COMMAND_TIMEOUT_MS);
    return {
      ok: result.status === 0,
      code: result.timedOut
        ? 'timed out'
        : shortCode(result.stderr.replace(ROUTINE_WARNINGS, '') || `exit ${result.status}`),
      ambiguous: result.timedOut,
    };
  }

  acquire(target: PeerLv): Promise<PeerAnswer> {
    return this.lvchange('-aey', target);
  }

  release(target: PeerLv): Promise<PeerAnswer> {
    return this.lvchange('-an', target);
  }

  /** The harness is exiting: kill the peer's processes without a clean release. */
  killNow(): void {
    this.ns.killNow();
  }

  /** Drops the LV leases and leaves the lockspace (bounded), then stops the daemons and the namespace. */
  async stop(): Promise<string[]> {
    if (this.lvmlockdPid !== undefined) {
      // activation=0: `vgchange -an` only drops LV leases; lvmlockd ignores SIGTERM while lockspaces exist.
      await this.lvm(['vgchange', '-an', this.vg], STOP_TIMEOUT_MS);
      await this.lvm(['vgchange', '--lock-stop', this.vg], STOP_TIMEOUT_MS);
      await killAndWait(this.lvmlockdPid, 'SIGTERM');
    }
    return this.ns.stop();
  }
}
