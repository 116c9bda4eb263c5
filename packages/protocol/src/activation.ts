/**
 * Activation as it travels between the lvm-named commands and the daemon: which LV, how its sectors
 * map onto PVs (each host computes this from its own VG metadata and its own PV paths), and what
 * device the daemon made for it. Sizes and offsets are in 512-byte sectors, as lvm and dm count.
 */
import type { LeaseMode, ResourceLocation } from './messages.js';

/** dm: device-mapper linear tables through dmsetup; loop: one loop device over the PV; none: the lease only. */
export type ActivationBackendName = 'dm' | 'loop' | 'none';
export const ACTIVATION_BACKENDS: readonly ActivationBackendName[] = ['dm', 'loop', 'none'];

/** One run of the LV's sectors on one PV. */
export interface LvSegmentMap {
  /** First sector of the run within the LV. */
  lvStartSectors: number;
  lengthSectors: number;
  /** This host's path of the PV. */
  pvPath: string;
  /** Where the run starts on the PV: pe_start + first extent x extent size. */
  pvOffsetSectors: number;
}

/** An LV's whole mapping: segments in LV order, contiguous, covering sizeSectors. */
export interface LvMapping {
  vgName: string;
  lvName: string;
  /** The LV's UUID as lvm prints it (with dashes): the LV lease's resource name in lvmlockd's layout. */
  lvUuid: string;
  /** The VG's UUID as lvm prints it: with lvUuid, the dm backend names the device LVM-<vgid><lvid> as lvm does. */
  vgUuid?: string;
  sizeSectors: number;
  segments: LvSegmentMap[];
}

/** What a backend made for an active LV. */
export interface ActiveDevice {
  backend: ActivationBackendName;
  /** /dev/loopN, /dev/mapper/<vg>-<lv>; null for the none backend. */
  devicePath: string | null;
  /** <device_dir>/<vg>/<lv>, a symlink to devicePath; null for none. */
  linkPath: string | null;
  /** The block device's number, to find its openers in /proc; null for none. */
  major: number | null;
  minor: number | null;
  sizeSectors: number;
  /**
   * loop: the file the device maps (as the kernel resolved the PV's path) and from which byte, so a
   * device number reused after a reboot is never taken for this LV's. Absent for dm and none.
   */
  backingFile?: string;
  offsetBytes?: number;
}

/** One activation the daemon holds (the `activations` op, status, lvs). */
export interface ActivationInfo extends ResourceLocation {
  vgName: string;
  lvName: string;
  mode: LeaseMode;
  device: ActiveDevice;
  /** Wall-clock ISO time of the activation. */
  activatedAt: string;
  /** The VG seqno of the metadata this host's mapping was last built from (refresh). */
  mappingSeqno: number | null;
  /** How it came to be held: by an activate request, or adopted after a daemon restart. */
  origin: 'activated' | 'adopted';
  /** Set once the VG's lockspace was lost: the lease is no longer ours, and this says what was done. */
  loss?: ActivationLoss;
}

/** What the daemon did to an active LV whose lockspace lost its lease (status shows it). */
export interface ActivationLoss {
  /** Wall-clock ISO time the loss was seen. */
  at: string;
  /**
   * stopping: its users are being stopped (kill action) before the device goes; deactivated: done,
   * the companion may let the lockspace go; failed: the device could not be removed (the watchdog
   * resets the host before another host may take the LV).
   */
  phase: 'stopping' | 'deactivated' | 'failed';
  /** Processes found with the device open, sent the kill action. */
  killedPids: number[];
  message: string;
}

/**
 * Shared extend (docs/volumes.md, "Extending an LV active on several hosts"): delta-lease events
 * (sanlock's set_event) in a VG's lockspace. They spell "LHEX" and "LHRF" so that they cannot be
 * mistaken for another application's events in the same lockspace.
 *
 * EVENT_LV_EXTENDED: sent by lvextend/lvresize to every other host of the lockspace after the commit;
 * data = the VG seqno after it. A host with LVs of that VG active refreshes them.
 */
export const EVENT_LV_EXTENDED = 0x4c48_4558n;
/**
 * EVENT_LV_REFRESHED: a host's answer once its active LVs of the VG follow the metadata; data = the
 * VG seqno it refreshed to. It stays in that host's delta lease (lvs' lock_refreshed reads it there).
 */
export const EVENT_LV_REFRESHED = 0x4c48_5246n;
