/** Building and changing the VG model for the commands: a new VG, PVs joining and leaving, new LVs. */
import {
  assertLvName,
  assertVgName,
  DEFAULT_EXTENT_SIZE_SECTORS,
  generateUuid,
  type LogicalVolume,
  peCountFor,
  type PhysicalVolume,
  type RandomBytes,
  SECTOR_SIZE_BYTES,
  tailMdaBytes,
  type VolumeGroup,
} from '@leasehold/lvm-format';
import { VolumeError } from './errors.js';
import type { PvDevice } from './scan.js';

/** The PV entry a device gets in a VG with `extentSizeSectors` (pe_start from the label, mda2 excluded). */
export function pvEntryFor(device: PvDevice, key: string, extentSizeSectors: number): PhysicalVolume {
  const label = device.label;
  const peStartBytes = label.dataAreas[0]?.offsetBytes ?? 0;
  const tail = tailMdaBytes(label.metadataAreas, device.sizeBytes, peStartBytes);
  return {
    key,
    id: label.pvId,
    deviceHint: device.path,
    status: ['ALLOCATABLE'],
    flags: [],
    tags: [],
    devSizeSectors: Math.floor(device.sizeBytes / SECTOR_SIZE_BYTES),
    peStartSectors: peStartBytes / SECTOR_SIZE_BYTES,
    peCount: peCountFor(device.sizeBytes, peStartBytes, tail, extentSizeSectors),
  };
}

/** A key not used by any PV of `vg` (pv0, pv1, ...). */
export function nextPvKey(vg: Pick<VolumeGroup, 'pvs'>): string {
  const used = new Set(vg.pvs.map((p) => p.key));
  for (let i = 0; ; i++) if (!used.has(`pv${i}`)) return `pv${i}`;
}

export interface NewVgOptions {
  name: string;
  devices: PvDevice[];
  randomBytes: RandomBytes;
  extentSizeSectors?: number;
  maxLv?: number;
  maxPv?: number;
}

/** The model vgcreate writes with seqno 1 (before lock_type is set for shared VGs). */
export function newVolumeGroup(options: NewVgOptions): VolumeGroup {
  try {
    assertVgName(options.name);
  } catch (error) {
    throw new VolumeError('BAD_NAME', (error as Error).message, undefined, { cause: error });
  }
  const extentSizeSectors = options.extentSizeSectors ?? DEFAULT_EXTENT_SIZE_SECTORS;
  const vg: VolumeGroup = {
    name: options.name,
    id: generateUuid(options.randomBytes),
    seqno: 1,
    format: 'lvm2',
    status: ['RESIZEABLE', 'READ', 'WRITE'],
    flags: [],
    tags: [],
    extentSizeSectors,
    maxLv: options.maxLv ?? 0,
    maxPv: options.maxPv ?? 0,
    metadataCopies: 0,
    pvs: [],
    lvs: [],
  };
  for (const device of options.devices) addPv(vg, device);
  return vg;
}

/** vgextend: the device joins `vg` as the next pv key. */
export function addPv(vg: VolumeGroup, device: PvDevice): PhysicalVolume {
  if (vg.pvs.some((p) => p.id === device.label.pvId))
    throw new VolumeError(
      'PV_IN_USE',
      `Physical volume '${device.path}' is already in volume group '${vg.name}'`,
      device.path,
    );
  const entry = pvEntryFor(device, nextPvKey(vg), vg.extentSizeSectors);
  if (entry.peCount === 0)
    throw new VolumeError(
      'DEVICE_TOO_SMALL',
      `Physical volume ${device.path} is too small for one extent of ${vg.extentSizeSectors * SECTOR_SIZE_BYTES} bytes.`,
      device.path,
    );
  vg.pvs.push(entry);
  return entry;
}

/** vgreduce: removes an unused PV; PV_IN_USE when an LV has extents on it. */
export function removePv(vg: VolumeGroup, pvId: string, devicePath: string): void {
  const pv = vg.pvs.find((p) => p.id === pvId);
  if (pv === undefined)
    throw new VolumeError(
      'PV_NOT_FOUND',
      `Physical volume "${devicePath}" not found in volume group "${vg.name}".`,
      devicePath,
    );
  const user = vg.lvs.find((lv) => lv.segments.some((s) => s.stripes.some((a) => a.pvKey === pv.key)));
  if (user !== undefined)
    throw new VolumeError(
      'PV_IN_USE',
      `Physical volume "${devicePath}" still in use (by LV ${user.name}).`,
      devicePath,
    );
  if (vg.pvs.length === 1)
    throw new VolumeError(
      'BAD_ARGUMENT',
      `Can't remove final physical volume "${devicePath}" from volume group "${vg.name}"`,
      devicePath,
    );
  vg.pvs = vg.pvs.filter((p) => p !== pv);
}

export interface NewLvOptions {
  name: string;
  randomBytes: RandomBytes;
  hostName: string;
  nowSeconds: number;
  visible?: boolean;
}

/** A new LV without segments (allocateExtents fills them); the VG's WRITE_LOCKED mapping happens at print time. */
export function newLogicalVolume(vg: VolumeGroup, options: NewLvOptions): LogicalVolume {
  try {
    assertLvName(options.name);
  } catch (error) {
    throw new VolumeError('BAD_NAME', (error as Error).message, undefined, { cause: error });
  }
  if (vg.lvs.some((lv) => lv.name === options.name))
    throw new VolumeError('LV_EXISTS', `Logical Volume "${options.name}" already exists in volume group "${vg.name}"`);
  return {
    name: options.name,
    id: generateUuid(options.randomBytes),
    status: options.visible === false ? ['READ', 'WRITE'] : ['READ', 'WRITE', 'VISIBLE'],
    flags: [],
    tags: [],
    creationTime: options.nowSeconds,
    creationHost: options.hostName,
    segments: [],
  };
}
