/**
 * Reading VGs from a scan (spec 2.5): every mda of every PV, the highest valid seqno wins, and
 * everything that disagrees is reported in lvm's words: older copies, same seqno with different
 * text, damaged mdas, missing PVs, duplicate PVs, missing used flags, outdated PVs.
 */
import {
  cloneVolumeGroup,
  formatUuid,
  isLabelInUse,
  type PhysicalVolume,
  PV_EXT_USED,
  PV_HEADER_EXTENSION_VERSION,
  SECTOR_SIZE_BYTES,
  type VgMetadata,
  type VolumeGroup,
} from '@leasehold/lvm-format';
import { VolumeError } from './errors.js';
import type { DeviceScan, MdaState, PvDevice } from './scan.js';

/** Where the winning copy was read. */
export interface CopySource {
  path: string;
  mdaIndex: number;
  seqno: number;
  checksum: number;
  sizeBytes: number;
}

export interface VgRead {
  name: string;
  /** A private copy of the winning text's model (callers may change it and pass it to commitVg), unless read with readOnly. */
  metadata: VgMetadata;
  vg: VolumeGroup;
  seqno: number;
  source: CopySource;
  /** PV UUID (raw) -> the device carrying it. Missing PVs are absent. */
  devices: Map<string, PvDevice>;
  missingPvIds: string[];
  /** PV UUIDs seen on more than one device: the first device is used, commits refuse. */
  duplicatePvIds: string[];
  /** Devices whose label and mdas claim this VG but which the newest text no longer lists. */
  outdatedDevices: PvDevice[];
  /** Some mda of the VG is damaged, older, disagreeing, or a label lacks the used flag: the next commit repairs it. */
  needsRepair: boolean;
  warnings: string[];
}

export interface VgScanResult {
  vgs: VgRead[];
  /** PV devices in no VG. */
  orphans: PvDevice[];
  warnings: string[];
}

interface Copy {
  device: PvDevice;
  mda: MdaState;
  metadata: VgMetadata;
  checksum: number;
  sizeBytes: number;
}

function copyOf(device: PvDevice, mda: MdaState): Copy | undefined {
  if (mda.metadata === undefined || mda.header === undefined) return undefined;
  return {
    device,
    mda,
    metadata: mda.metadata,
    checksum: mda.header.committed.checksum,
    sizeBytes: mda.header.committed.sizeBytes,
  };
}

export interface ReadOptions {
  /**
   * The caller only reads the VGs (reports): their models are the scan's own, not private copies
   * (copying a VG of 1000 LVs costs a cold report several ms). Never pass a VgRead read this way to
   * a change: the model is shared with every later scan of the same text in this process.
   */
  readOnly?: boolean;
}

/** Groups the scan into VGs and orphans. */
export function readAllVgs(scan: DeviceScan, options: ReadOptions = {}): VgScanResult {
  const result: VgScanResult = { vgs: [], orphans: [], warnings: [...scan.warnings] };
  const byPvId = new Map<string, PvDevice[]>();
  for (const device of scan.pvs) {
    const list = byPvId.get(device.label.pvId) ?? [];
    list.push(device);
    byPvId.set(device.label.pvId, list);
  }
  // copies grouped by VG UUID, in scan order
  const groups = new Map<string, Copy[]>();
  for (const device of scan.pvs) {
    for (const mda of device.mdas) {
      const copy = copyOf(device, mda);
      if (copy === undefined) continue;
      const list = groups.get(copy.metadata.vg.id) ?? [];
      list.push(copy);
      groups.set(copy.metadata.vg.id, list);
    }
  }
  const claimed = new Set<PvDevice>();
  const names = new Map<string, string>();
  for (const copies of groups.values()) {
    const read = resolveVg(copies, byPvId, options.readOnly === true);
    const other = names.get(read.name);
    if (other !== undefined)
      result.warnings.push(
        `WARNING: VG name ${read.name} is used by VGs ${formatUuid(other)} and ${formatUuid(read.vg.id)}.`,
      );
    names.set(read.name, read.vg.id);
    for (const d of read.devices.values()) claimed.add(d);
    for (const d of read.outdatedDevices) claimed.add(d);
    result.vgs.push(read);
  }
  for (const device of scan.pvs) {
    if (claimed.has(device)) continue;
    result.orphans.push(device);
    for (const mda of device.mdas) for (const p of mda.problems) result.warnings.push(`WARNING: ${p}`);
    if (isLabelInUse(device.label) && !device.mdas.some((m) => m.metadata !== undefined)) {
      result.warnings.push(`WARNING: PV ${device.path} is marked in use but no VG was found using it.`);
    }
  }
  return result;
}

function resolveVg(copies: Copy[], byPvId: Map<string, PvDevice[]>, readOnly: boolean): VgRead {
  let best = copies[0] as Copy;
  for (const c of copies) if (c.metadata.vg.seqno > best.metadata.vg.seqno) best = c;
  const name = best.metadata.vg.name;
  const warnings: string[] = [];
  let needsRepair = false;
  let inconsistent = false;
  const mismatched = new Set<MdaState>();
  for (const c of copies) {
    if (c === best) continue;
    if (c.metadata.vg.seqno < best.metadata.vg.seqno) {
      warnings.push(
        `WARNING: ignoring metadata seqno ${c.metadata.vg.seqno} on ${c.device.path} for seqno ${best.metadata.vg.seqno} on ${best.device.path} for VG ${name}.`,
      );
      inconsistent = true;
    } else if (c.checksum !== best.checksum || c.sizeBytes !== best.sizeBytes) {
      if (c.device !== best.device) {
        warnings.push(
          `WARNING: scan of VG ${name} from ${c.device.path} mda${c.mda.index + 1} found mda_checksum ${hex(c.checksum)} mda_size ${c.sizeBytes} vs ${hex(best.checksum)} ${best.sizeBytes}`,
        );
        warnings.push(
          `WARNING: scan of VG ${name} from ${c.device.path} mda${c.mda.index + 1} found mismatch with other metadata`,
        );
        mismatched.add(c.mda);
        inconsistent = true;
      }
    }
  }
  if (inconsistent) {
    warnings.push(
      `WARNING: Inconsistent metadata found for VG ${name}.`,
      `See vgck --updatemetadata to correct inconsistency.`,
    );
    needsRepair = true;
  }
  const metadata: VgMetadata = readOnly
    ? best.metadata
    : { vg: cloneVolumeGroup(best.metadata.vg), footer: { ...best.metadata.footer } };
  const vg = metadata.vg;
  const devices = new Map<string, PvDevice>();
  const missingPvIds: string[] = [];
  const duplicatePvIds: string[] = [];
  let sizeWarned = false;
  for (const pv of vg.pvs) {
    const found = byPvId.get(pv.id) ?? [];
    const first = found[0];
    if (first === undefined) {
      missingPvIds.push(pv.id);
      warnings.push(`WARNING: Couldn't find device with uuid ${formatUuid(pv.id)}.`);
      warnings.push(
        `WARNING: VG ${name} is missing PV ${formatUuid(pv.id)} (last written to ${pv.deviceHint ?? '[unknown]'}).`,
      );
      continue;
    }
    if (found.length > 1) {
      duplicatePvIds.push(pv.id);
      warnings.push(
        `WARNING: Found duplicate PV ${formatUuid(pv.id)}: using ${first.path} not ${found
          .slice(1)
          .map((d) => d.path)
          .join(', ')}.`,
      );
    }
    devices.set(pv.id, first);
    if (
      pv.devSizeSectors !== undefined &&
      pv.devSizeSectors !== Math.floor(first.sizeBytes / SECTOR_SIZE_BYTES) &&
      !sizeWarned
    ) {
      warnings.push(`WARNING: One or more devices used as PVs in VG ${name} have changed sizes.`);
      sizeWarned = true;
    }
    for (const mda of first.mdas) {
      if (mda.problems.length > 0) {
        for (const p of mda.problems) warnings.push(`WARNING: ${p}`);
        needsRepair = true;
      }
    }
    if (first.label.extensionVersion < PV_HEADER_EXTENSION_VERSION) {
      warnings.push(`WARNING: PV ${first.path} in VG ${name} is using an old PV header, modify the VG to update.`);
      needsRepair = true;
    } else if ((first.label.extensionFlags & PV_EXT_USED) === 0) {
      warnings.push(`WARNING: PV ${first.path} in VG ${name} is missing the used flag in PV header.`);
      needsRepair = true;
    }
  }
  const inVg = new Set(vg.pvs.map((p: PhysicalVolume) => p.id));
  const outdated: PvDevice[] = [];
  for (const c of copies) {
    if (!inVg.has(c.device.label.pvId) && !outdated.includes(c.device)) {
      outdated.push(c.device);
      warnings.push(
        `WARNING: outdated PV ${c.device.path} seqno ${c.metadata.vg.seqno} has been removed in current VG ${name} seqno ${vg.seqno}.`,
      );
      needsRepair = true;
    }
  }
  return {
    name,
    metadata,
    vg,
    seqno: vg.seqno,
    source: {
      path: best.device.path,
      mdaIndex: best.mda.index,
      seqno: vg.seqno,
      checksum: best.checksum,
      sizeBytes: best.sizeBytes,
    },
    devices,
    missingPvIds,
    duplicatePvIds,
    outdatedDevices: outdated,
    needsRepair,
    warnings,
  };
}

/** The VG called `name`; VG_NOT_FOUND with lvm's wording otherwise. */
export function findVg(result: VgScanResult, name: string): VgRead {
  const read = result.vgs.find((r) => r.name === name);
  if (read === undefined) throw new VolumeError('VG_NOT_FOUND', `Volume group "${name}" not found`);
  return read;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
