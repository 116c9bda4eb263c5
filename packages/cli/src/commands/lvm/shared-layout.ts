/**
 * Where a shared VG's leases are and what is in them, without device-mapper: the hidden `lvmlock` LV
 * is reached through the PV at its extents (one linear segment on one PV, as every vgcreate makes
 * it), so the lockspace `lvm_<vg>` is at PV offset pe_start + start PE x extent size and every
 * resource at that + its slot offset. Also the writes lvmlockd makes there: the initial image at
 * vgcreate, an LV's lease at lvcreate, `#unused` at lvremove.
 */
import {
  type LogicalVolume,
  SECTOR_SIZE_BYTES,
  type VolumeGroup,
  formatUuid,
  generateUuid,
} from '@leasehold/lvm-format';
import {
  DELTA_LEADER_MAGIC,
  FIRST_LV_SLOT,
  GL_DISABLED_RESOURCE_NAME,
  GL_RESOURCE_NAME,
  GL_SLOT,
  LOCK_LV_NAME,
  PAXOS_LEADER_MAGIC,
  UNUSED_RESOURCE_NAME,
  VG_RESOURCE_NAME,
  VG_SLOT,
  type Geometry,
  OnDiskError,
  decodeLeader,
  formatLvLockArgs,
  lockLvInitialBytes,
  lvSlotOfOffset,
  lvmLockspaceName,
  lvmlockGeometry,
  lvmlockInitialSlots,
  lvmlockResourceArea,
  parseLvLockArgs,
  parseVgLockArgs,
  slotCount,
  slotOffsetBytes,
  verifyLeader,
} from '@leasehold/ondisk';
import type { Disk } from '@leasehold/disk';
import { directDeviceOpener, readBytes, writeBytes, type VgRead } from '@leasehold/volume';
import { LvmCommandError } from './lvm-error.js';

/** lvm's lock type for sanlock VGs. */
export const SANLOCK_LOCK_TYPE = 'sanlock';

/** One linear segment of lvmlock: lvmlock bytes [lvOffsetBytes, + lengthBytes) at pvOffsetBytes of path. */
export interface LockLvPiece {
  lvOffsetBytes: number;
  lengthBytes: number;
  path: string;
  pvOffsetBytes: number;
}

/** Where one shared VG's lvmlock is, in PV bytes. */
export interface LockLvLocation {
  vgName: string;
  lockspace: string;
  /** The PV device that holds lvmlock's first segment (lockspace, GLLK, VGLK). */
  path: string;
  /** PV byte offset of lvmlock's first byte: the lockspace area. */
  offsetBytes: number;
  sizeBytes: number;
  geometry: Geometry;
  /** Every segment, in LV order (one for a lock LV that never grew). */
  pieces: LockLvPiece[];
}

function fail(code: string, lines: string[]): never {
  throw new LvmCommandError(code, lines);
}

function ondiskLines(error: unknown): string[] {
  return [error instanceof Error ? error.message : String(error)];
}

/** The VG's lock LV name from its lock_args (refusing majors this leasehold does not know). */
export function lockLvNameOf(vg: VolumeGroup): string {
  if (vg.lockType !== SANLOCK_LOCK_TYPE)
    fail('SHARED_VG_LOCK', [
      `VG ${vg.name} has lock type ${vg.lockType ?? 'none'}; leasehold handles sanlock VGs only.`,
    ]);
  try {
    return parseVgLockArgs(vg.lockArgs ?? '').lockLvName;
  } catch (error) {
    if (error instanceof OnDiskError)
      fail(error.code, [`VG ${vg.name}: ${error.message}`, `Nothing was changed in VG ${vg.name}.`]);
    throw error;
  }
}

/**
 * The lvmlock LV's place on its PVs: each segment must be linear (one stripe) and start at a multiple
 * of the lease align on its PV, and the first must hold the lockspace, GLLK and VGLK.
 */
export function lockLvLocation(read: VgRead): LockLvLocation {
  const vg = read.vg;
  const name = lockLvNameOf(vg);
  const lv = vg.lvs.find((l) => l.name === name);
  if (lv === undefined) fail('SHARED_VG_LOCK', [`VG ${vg.name} has no lock LV "${name}" (its lock_args name it).`]);
  const extentBytes = vg.extentSizeSectors * SECTOR_SIZE_BYTES;
  let geometry: Geometry | undefined;
  const pieces: LockLvPiece[] = [];
  for (const segment of lv.segments) {
    const stripe = segment.stripes[0];
    if (segment.stripes.length !== 1 || stripe === undefined || segment.type !== 'striped') {
      fail('SHARED_VG_LOCK', [
        `VG ${vg.name}: the lock LV ${name} has a segment that is not linear; leasehold reaches lvmlock only through linear segments.`,
      ]);
    }
    const pv = vg.pvs.find((p) => p.key === stripe.pvKey);
    const device = pv === undefined ? undefined : read.devices.get(pv.id);
    if (pv === undefined || device === undefined)
      fail('MISSING_PV', [`VG ${vg.name}: the PV holding the lock LV ${name} (${stripe.pvKey}) is missing.`]);
    geometry ??= lvmlockGeometry(device.sectorSize);
    const piece = {
      lvOffsetBytes: segment.startExtent * extentBytes,
      lengthBytes: segment.extentCount * extentBytes,
      path: device.path,
      pvOffsetBytes: pv.peStartSectors * SECTOR_SIZE_BYTES + stripe.startPe * extentBytes,
    };
    if (piece.pvOffsetBytes % geometry.alignBytes !== 0 || piece.lengthBytes % geometry.alignBytes !== 0) {
      fail('SHARED_VG_LOCK', [
        `VG ${vg.name}: a segment of the lock LV starts at byte ${piece.pvOffsetBytes} of ${device.path} (${piece.lengthBytes} bytes), not on the lease align ${geometry.alignBytes}; leasehold cannot reach it without device-mapper.`,
      ]);
    }
    pieces.push(piece);
  }
  const first = pieces[0];
  if (first === undefined || geometry === undefined)
    fail('SHARED_VG_LOCK', [`VG ${vg.name}: the lock LV ${name} has no segments.`]);
  if (first.lengthBytes < slotOffsetBytes(FIRST_LV_SLOT, geometry)) {
    fail('SHARED_VG_LOCK', [
      `VG ${vg.name}: the first segment of the lock LV is too short to hold the lockspace, GLLK and VGLK.`,
    ]);
  }
  let lockspace: string;
  try {
    lockspace = lvmLockspaceName(vg.name);
  } catch (error) {
    fail('NAME_TOO_LONG', ondiskLines(error));
  }
  const sizeBytes = pieces.reduce((n, p) => n + p.lengthBytes, 0);
  return {
    vgName: vg.name,
    lockspace,
    path: first.path,
    offsetBytes: first.pvOffsetBytes,
    sizeBytes,
    geometry,
    pieces,
  };
}

/** Where lvmlock byte `lvOffsetBytes` (a slot start) is: its PV and the byte offset on it. */
export function placeOf(location: LockLvLocation, lvOffsetBytes: number): { path: string; offsetBytes: number } {
  for (const piece of location.pieces) {
    if (lvOffsetBytes >= piece.lvOffsetBytes && lvOffsetBytes < piece.lvOffsetBytes + piece.lengthBytes) {
      return { path: piece.path, offsetBytes: piece.pvOffsetBytes + lvOffsetBytes - piece.lvOffsetBytes };
    }
  }
  return fail('SHARED_VG_LOCK', [
    `VG ${location.vgName}: offset ${lvOffsetBytes} is beyond the lock LV (${location.sizeBytes} bytes).`,
  ]);
}

/** PV byte offset of slot `slot` of lvmlock's first segment (the lockspace, GLLK, VGLK). */
export function slotPvOffset(location: LockLvLocation, slot: number): number {
  return location.offsetBytes + slotOffsetBytes(slot, location.geometry);
}

/** The open PVs of one operation, each opened once. */
class PvSet {
  private readonly disks = new Map<string, Disk>();
  constructor(private readonly write: boolean) {}

  async get(path: string): Promise<Disk> {
    const open = this.disks.get(path);
    if (open !== undefined) return open;
    const disk = await directDeviceOpener.open(path, { write: this.write });
    this.disks.set(path, disk);
    return disk;
  }

  async close(): Promise<void> {
    for (const disk of this.disks.values()) await disk.close();
    this.disks.clear();
  }
}

async function withPvs<T>(write: boolean, work: (pvs: PvSet) => Promise<T>): Promise<T> {
  const pvs = new PvSet(write);
  try {
    return await work(pvs);
  } finally {
    await pvs.close();
  }
}

async function withPv<T>(path: string, write: boolean, work: (disk: Disk) => Promise<T>): Promise<T> {
  const disk = await directDeviceOpener.open(path, { write });
  try {
    return await work(disk);
  } finally {
    await disk.close();
  }
}

/**
 * Checks that lvmlock holds sanlock's lockspace `lvm_<vg>` with this sector size, and the VG lease
 * where lvmlockd puts it: a damaged or foreign lvmlock is refused before anything is written.
 */
export async function checkLockArea(location: LockLvLocation): Promise<void> {
  await withPv(location.path, false, async (disk) => {
    const where = (what: string): string =>
      `VG ${location.vgName}: lvmlock on ${location.path} at ${location.offsetBytes}: ${what}`;
    const sector = await readBytes(disk, location.offsetBytes, location.geometry.sectorSize);
    try {
      verifyLeader(sector, 0, {
        kind: 'delta',
        offsetBytes: location.offsetBytes,
        spaceName: location.lockspace,
        sectorSize: location.geometry.sectorSize,
      });
      const vglkAt = slotPvOffset(location, VG_SLOT);
      const vglk = await readBytes(disk, vglkAt, location.geometry.sectorSize);
      verifyLeader(vglk, 0, {
        kind: 'paxos',
        offsetBytes: vglkAt,
        spaceName: location.lockspace,
        resourceName: VG_RESOURCE_NAME,
        sectorSize: location.geometry.sectorSize,
      });
    } catch (error) {
      if (error instanceof OnDiskError)
        fail(error.code, [
          where(error.message),
          'It is not the lock area lvmlockd or leasehold made for this VG; nothing was written.',
        ]);
      throw error;
    }
  });
}

/** True when the sector at `offsetBytes` holds a sanlock lease in use (so vgcreate would overwrite one). */
async function holdsLease(disk: Disk, offsetBytes: number, sectorSize: number): Promise<boolean> {
  const leader = decodeLeader(await readBytes(disk, offsetBytes, sectorSize), 0);
  // lvmlockd's vgremove leaves the lockspace renamed `#unused`: free space, as lvm treats it.
  if (leader.magic === DELTA_LEADER_MAGIC) return leader.spaceName !== UNUSED_RESOURCE_NAME;
  return leader.magic === PAXOS_LEADER_MAGIC;
}

export interface NewLockArea {
  vgName: string;
  path: string;
  offsetBytes: number;
  sizeBytes: number;
  geometry: Geometry;
  globalLock: 'enabled' | 'disabled';
  ioTimeoutSeconds: number;
  /** Overwrite lease areas found there. */
  force: boolean;
}

/** Writes lvmlock's initial image as lvmlockd does at vgcreate (lockspace, GL, VGLK, #unused to the end). */
export async function initLockArea(area: NewLockArea): Promise<void> {
  await withPv(area.path, true, async (disk) => {
    if (!area.force && (await holdsLease(disk, area.offsetBytes, area.geometry.sectorSize))) {
      fail('AREA_NOT_EMPTY', [
        `${area.path} holds a sanlock lease area at ${area.offsetBytes} (another VG's lvmlock?); use -ff to overwrite it.`,
      ]);
    }
    for (const slot of lvmlockInitialSlots({
      vgName: area.vgName,
      geometry: area.geometry,
      lockLvBytes: area.sizeBytes,
      globalLock: area.globalLock,
      ioTimeoutSeconds: area.ioTimeoutSeconds,
    })) {
      await writeBytes(disk, area.offsetBytes + slot.offsetBytes, slot.bytes);
    }
  });
}

/** The hidden lvmlock LV of a new shared VG: lvmlockd's size for the sector size, at PE 0 of the first PV. */
export function newLockLv(
  vg: VolumeGroup,
  geometry: Geometry,
  random: (n: number) => Uint8Array,
  hostName: string,
  nowSeconds: number,
): LogicalVolume {
  const extentBytes = vg.extentSizeSectors * SECTOR_SIZE_BYTES;
  const extents = Math.ceil(lockLvInitialBytes(geometry) / extentBytes);
  const pv = vg.pvs[0];
  if (pv === undefined || pv.peCount < extents) {
    fail('INSUFFICIENT_FREE_EXTENTS', [
      `Volume group "${vg.name}" has insufficient free space on its first PV for the lock LV: ${extents} extents required.`,
    ]);
  }
  return {
    name: LOCK_LV_NAME,
    id: generateUuid(random),
    status: ['READ', 'WRITE'],
    flags: [],
    tags: [],
    creationTime: nowSeconds,
    creationHost: hostName,
    segments: [
      { startExtent: 0, extentCount: extents, type: 'striped', tags: [], stripes: [{ pvKey: pv.key, startPe: 0 }] },
    ],
  };
}

/** What one slot holds (its resource name; `#unused` for never-written space, as lvmlockd treats it). */
async function slotName(pvs: PvSet, location: LockLvLocation, slot: number): Promise<string> {
  const place = placeOf(location, slotOffsetBytes(slot, location.geometry));
  const leader = decodeLeader(
    await readBytes(await pvs.get(place.path), place.offsetBytes, location.geometry.sectorSize),
    0,
  );
  if (leader.magic !== PAXOS_LEADER_MAGIC) return UNUSED_RESOURCE_NAME;
  return leader.resourceName;
}

/**
 * The LV slots the VG's metadata gives to its LVs (from their lock_args): in use whatever the disk
 * says, so lvcreate neither reads them nor hands one out twice.
 */
export function lvSlotsInUse(vg: VolumeGroup, geometry: Geometry): Set<number> {
  const used = new Set<number>();
  for (const lv of vg.lvs) {
    if (lv.lockArgs === undefined) continue;
    try {
      used.add(lvSlotOfOffset(parseLvLockArgs(lv.lockArgs).offsetBytes, geometry));
    } catch (error) {
      // an LV whose lock_args name no slot holds none (lvremove reports it)
      if (!(error instanceof OnDiskError)) throw error;
    }
  }
  return used;
}

/**
 * lvcreate: the lowest free LV slot gets a lease named by the LV UUID; returns the lock_args
 * (`1.0.0:<offset in lvmlock>`), or undefined when lvmlock is full. As lvmlockd, the first slot
 * whose lease is `#unused` on disk wins; slots in `inUse` (the VG's LVs have them) are not read, so a
 * VG of N LVs costs one read here instead of N. Refused when a slot read already holds the UUID.
 */
export async function assignLvLease(
  location: LockLvLocation,
  lvId: string,
  inUse: ReadonlySet<number> = new Set(),
): Promise<string | undefined> {
  const uuid = formatUuid(lvId);
  return withPvs(true, async (pvs) => {
    const slots = slotCount(location.sizeBytes, location.geometry);
    let free: number | undefined;
    for (let slot = FIRST_LV_SLOT; slot < slots && free === undefined; slot++) {
      if (inUse.has(slot)) continue;
      const name = await slotName(pvs, location, slot);
      if (name === uuid)
        fail('DAMAGED', [`VG ${location.vgName}: a lease for LV ${uuid} already exists in lvmlock (slot ${slot}).`]);
      if (name === UNUSED_RESOURCE_NAME) free = slot;
    }
    if (free === undefined) return undefined;
    const offsetInLockLv = slotOffsetBytes(free, location.geometry);
    const place = placeOf(location, offsetInLockLv);
    await writeBytes(
      await pvs.get(place.path),
      place.offsetBytes,
      lvmlockResourceArea(location.vgName, uuid, location.geometry),
    );
    return formatLvLockArgs(offsetInLockLv);
  });
}

/** After lvmlock grew: `#unused` into every slot from `fromBytes` (its old size) to its end. */
export async function initGrownSlots(location: LockLvLocation, fromBytes: number): Promise<void> {
  const unused = lvmlockResourceArea(location.vgName, UNUSED_RESOURCE_NAME, location.geometry);
  await withPvs(true, async (pvs) => {
    for (
      let slot = slotCount(fromBytes, location.geometry);
      slot < slotCount(location.sizeBytes, location.geometry);
      slot++
    ) {
      const place = placeOf(location, slotOffsetBytes(slot, location.geometry));
      await writeBytes(await pvs.get(place.path), place.offsetBytes, unused);
    }
  });
}

/** Where an LV's lease is (PV and offset), from its lock_args. */
export function lvLeasePlace(location: LockLvLocation, lv: LogicalVolume): { path: string; offsetBytes: number } {
  try {
    const { offsetBytes } = parseLvLockArgs(lv.lockArgs ?? '');
    lvSlotOfOffset(offsetBytes, location.geometry, location.sizeBytes);
    return placeOf(location, offsetBytes);
  } catch (error) {
    if (error instanceof OnDiskError) fail(error.code, [`LV ${location.vgName}/${lv.name}: ${error.message}`]);
    throw error;
  }
}

/** lvremove: the LV's slot becomes `#unused` again (only if it still holds this LV's lease). */
export async function freeLvLease(location: LockLvLocation, lv: LogicalVolume): Promise<void> {
  if (lv.lockArgs === undefined) return;
  const at = lvLeasePlace(location, lv);
  await withPv(at.path, true, async (disk) => {
    const leader = decodeLeader(await readBytes(disk, at.offsetBytes, location.geometry.sectorSize), 0);
    if (leader.magic === PAXOS_LEADER_MAGIC && leader.resourceName !== formatUuid(lv.id)) return;
    await writeBytes(
      disk,
      at.offsetBytes,
      lvmlockResourceArea(location.vgName, UNUSED_RESOURCE_NAME, location.geometry),
    );
  });
}

/** The name in the GL slot: enabled (`GLLK`), disabled, or something else. */
export async function globalLockState(location: LockLvLocation): Promise<'enabled' | 'disabled' | 'other'> {
  return withPvs(false, async (pvs) => {
    const name = await slotName(pvs, location, GL_SLOT);
    return name === GL_RESOURCE_NAME ? 'enabled' : name === GL_DISABLED_RESOURCE_NAME ? 'disabled' : 'other';
  });
}

/** lvmlockctl --gl-enable / --gl-disable: rewrites the GL slot with the other name. */
export async function setGlobalLock(location: LockLvLocation, state: 'enabled' | 'disabled'): Promise<void> {
  await withPv(location.path, true, async (disk) => {
    const name = state === 'enabled' ? GL_RESOURCE_NAME : GL_DISABLED_RESOURCE_NAME;
    await writeBytes(
      disk,
      slotPvOffset(location, GL_SLOT),
      lvmlockResourceArea(location.vgName, name, location.geometry),
    );
  });
}

export { lockLvInitialBytes, lvmlockGeometry };
