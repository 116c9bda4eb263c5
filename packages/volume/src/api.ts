/**
 * The volume layer in a few calls for the commands: find the devices (explicit, leasehold.conf's
 * `devices` filter, or the default scan), read every VG, check that a VG may be written, and the
 * whole-VG operations (vgremove, vgcfgbackup text, vgcfgrestore).
 */
import { formatUuid, LvmFormatError, parseVgText, printVgBackup, type VgMetadata } from '@leasehold/lvm-format';
import { type CommitResult, commitVg, footerFor, orphanPv, type WriterIdentity } from './commit.js';
import { devicesToScan, loadVolumeConfig, type VolumeConfig } from './config.js';
import { VolumeError } from './errors.js';
import { findVg, readAllVgs, type VgRead, type VgScanResult } from './read.js';
import { type DeviceOpener, type DeviceScan, type PvDevice, scanDevices } from './scan.js';

export interface VolumeOptions {
  /** Devices named on the command line (paths or globs); when given, only these are scanned. */
  devices?: readonly string[];
  /** leasehold.conf path (default /etc/leasehold/leasehold.conf; an explicit path must exist). */
  configPath?: string;
  opener?: DeviceOpener;
}

export interface VolumeState {
  config: VolumeConfig;
  scan: DeviceScan;
  result: VgScanResult;
}

/** Scans the configured devices and groups them into VGs and orphans. Never writes. */
export async function readVolumes(options: VolumeOptions = {}): Promise<VolumeState> {
  const config = loadVolumeConfig(options.configPath);
  const paths = devicesToScan(options.devices, config);
  const strict = options.devices !== undefined && options.devices.length > 0;
  const scan = await scanDevices(paths, {
    strict,
    ...(options.opener !== undefined ? { opener: options.opener } : {}),
  });
  return { config, scan, result: readAllVgs(scan) };
}

/** One VG by name (VG_NOT_FOUND with lvm's wording). */
export async function readVg(name: string, options: VolumeOptions = {}): Promise<VgRead & { state: VolumeState }> {
  const state = await readVolumes(options);
  return { ...findVg(state.result, name), state };
}

/**
 * Refuses to change a VG that lvm would refuse to change: missing PVs (partial VG), the same PV on
 * two devices, or a shared VG (its lock type needs the lockspace; the caller checks that first).
 */
export function checkWritable(read: VgRead, options: { allowShared?: boolean } = {}): void {
  if (read.duplicatePvIds.length > 0) {
    const id = read.duplicatePvIds[0] as string;
    throw new VolumeError(
      'DUPLICATE_PV',
      `Cannot update volume group ${read.name} with duplicate PV devices: PV ${formatUuid(id)} is on more than one device.`,
    );
  }
  if (read.missingPvIds.length > 0) {
    const id = read.missingPvIds[0] as string;
    const hint = read.vg.pvs.find((p) => p.id === id)?.deviceHint ?? '[unknown]';
    throw new VolumeError(
      'MISSING_PV',
      `Cannot change VG ${read.name} while PVs are missing. Consider vgreduce --removemissing. (PV ${formatUuid(id)}, last written to ${hint})`,
    );
  }
  if (options.allowShared !== true && read.vg.lockType !== undefined && read.vg.lockType !== 'none') {
    throw new VolumeError(
      'SHARED_VG',
      `Cannot access VG ${read.name} with lock type ${read.vg.lockType} that requires lvmlockd.`,
    );
  }
}

/** Writes `read.vg` (as changed by the caller) with seqno + 1 to every mda of its PVs. */
export async function commitChanges(
  read: VgRead,
  identity: WriterIdentity,
  options: { opener?: DeviceOpener; allowShared?: boolean } = {},
): Promise<CommitResult> {
  checkWritable(read, options.allowShared === undefined ? {} : { allowShared: options.allowShared });
  const result = await commitVg(read.vg, read.devices, identity, {
    seqno: read.seqno + 1,
    ...(options.opener !== undefined ? { opener: options.opener } : {}),
  });
  // Outdated PVs still claiming this VG are wiped to orphans, as lvm's next write does.
  for (const device of read.outdatedDevices)
    await orphanPv(device, options.opener !== undefined ? { opener: options.opener } : {});
  return result;
}

/** vgremove: every PV of the VG becomes an orphan (mda slots zeroed, label without the used flag). */
export async function removeVg(read: VgRead, options: { opener?: DeviceOpener } = {}): Promise<void> {
  checkWritable(read, { allowShared: true });
  for (const device of read.devices.values()) await orphanPv(device, options);
}

/** The vgcfgbackup file text of the VG as read. */
export function backupText(read: VgRead, identity: WriterIdentity): string {
  const meta: VgMetadata = { vg: read.vg, footer: footerFor(identity) };
  return printVgBackup(
    meta,
    identity.tzOffsetMinutes === undefined ? {} : { tzOffsetMinutes: identity.tzOffsetMinutes },
  );
}

/**
 * vgcfgrestore: writes the VG of a backup (or raw) file to the PVs it names, found by UUID in
 * `scan`, with the file's seqno + 1 (lvm's rule, even when the disks have a higher seqno).
 */
export async function restoreVg(
  fileText: string,
  vgName: string,
  scan: DeviceScan,
  identity: WriterIdentity,
  options: { opener?: DeviceOpener } = {},
): Promise<CommitResult> {
  let meta: VgMetadata;
  try {
    meta = parseVgText(fileText);
  } catch (error) {
    if (error instanceof LvmFormatError)
      throw new VolumeError(
        'METADATA_DAMAGED',
        `Couldn't read volume group metadata from file: ${error.message}`,
        undefined,
        { cause: error },
      );
    throw error;
  }
  if (meta.vg.name !== vgName)
    throw new VolumeError(
      'VG_NOT_FOUND',
      `Volume group ${vgName} not found in the backup file (it holds ${meta.vg.name}).`,
    );
  const devices = new Map<string, PvDevice>();
  for (const pv of meta.vg.pvs) {
    const found = scan.pvs.filter((d) => d.label.pvId === pv.id);
    if (found.length > 1)
      throw new VolumeError(
        'DUPLICATE_PV',
        `Cannot restore Volume Group ${vgName} with duplicate PV ${formatUuid(pv.id)} on ${found.map((d) => d.path).join(' and ')}.`,
      );
    const device = found[0];
    if (device === undefined)
      throw new VolumeError(
        'MISSING_PV',
        `Couldn't find device with uuid ${formatUuid(pv.id)}. Cannot restore Volume Group ${vgName} with 1 PVs marked as missing.`,
      );
    devices.set(pv.id, device);
  }
  return commitVg(meta.vg, devices, identity, {
    seqno: meta.vg.seqno + 1,
    ...(options.opener !== undefined ? { opener: options.opener } : {}),
  });
}

/** The pv keys (pv0, ...) of devices named on the command line, in that order, for allocateExtents. */
export function pvKeysForDevices(read: VgRead, paths: readonly string[]): string[] {
  return paths.map((path) => {
    for (const pv of read.vg.pvs) if (read.devices.get(pv.id)?.path === path) return pv.key;
    throw new VolumeError('PV_NOT_FOUND', `Physical Volume "${path}" not found in Volume Group "${read.name}".`, path);
  });
}
