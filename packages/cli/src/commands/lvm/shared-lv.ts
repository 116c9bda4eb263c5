/**
 * The LV side of shared VGs, as lvmlockd does it: lvcreate gives the LV the lowest free lease slot
 * (named by its UUID, offset in lock_args); lvremove first takes the LV's lease exclusive for a moment
 * (refused while another host has the LV active) and gives the slot back (`#unused`) after the commit.
 */
import { formatUuid, isVgShared, SECTOR_SIZE_BYTES, type LogicalVolume } from '@leasehold/lvm-format';
import { LOCK_LV_EXTEND_BYTES } from '@leasehold/ondisk';
import { isLeaseholdError } from '@leasehold/client';
import { allocateExtents, VolumeError, type VgRead } from '@leasehold/volume';
import { LvmCommandError } from './lvm-error.js';
import {
  assignLvLease,
  freeLvLease,
  initGrownSlots,
  lockLvLocation,
  lockLvNameOf,
  lvLeasePlace,
  lvSlotsInUse,
} from './shared-layout.js';
import { sharedChangeOf } from './shared-lock.js';

/** Codes meaning the LV's lease is held elsewhere. */
const HELD_CODES: ReadonlySet<string> = new Set(['LEASE_HELD', 'LEASE_HELD_LOCALLY', 'SHARED_HOLDERS']);

function changeFor(read: VgRead): ReturnType<typeof sharedChangeOf> {
  if (!isVgShared(read.vg)) return undefined;
  const change = sharedChangeOf(read.vg.name);
  if (change === undefined)
    throw new LvmCommandError('INTERNAL', [`Internal error: shared VG ${read.vg.name} changed without its VG lock.`]);
  return change;
}

/** lvcreate in a shared VG: the new LV's lease slot and lock_args (before the commit). */
export async function assignSharedLvLease(read: VgRead, lv: LogicalVolume): Promise<void> {
  const change = changeFor(read);
  if (change === undefined) return;
  const location = lockLvLocation(read);
  const inUse = lvSlotsInUse(read.vg, location.geometry);
  const args = await assignLvLease(location, lv.id, inUse);
  if (args !== undefined) {
    lv.lockArgs = args;
    return;
  }
  // lvmlock is full: grow it as lvm does (global/sanlock_lv_extend, 256 MiB), in the same commit.
  const lockLv = read.vg.lvs.find((l) => l.name === lockLvNameOf(read.vg));
  if (lockLv === undefined) throw new LvmCommandError('SHARED_VG_LOCK', [`VG ${read.vg.name} has no lock LV.`]);
  const extents = Math.ceil(LOCK_LV_EXTEND_BYTES / (read.vg.extentSizeSectors * SECTOR_SIZE_BYTES));
  try {
    lockLv.segments = allocateExtents({ vg: read.vg, lvName: lockLv.name, existing: lockLv.segments, extents });
  } catch (error) {
    if (error instanceof VolumeError)
      throw new LvmCommandError(error.code, [
        `VG ${read.vg.name}: no free lease slot in lvmlock, and no room to extend it by ${extents} extents: ${error.message}`,
      ]);
    throw error;
  }
  const grown = lockLvLocation(read);
  await initGrownSlots(grown, location.sizeBytes);
  change.location = grown;
  const again = await assignLvLease(grown, lv.id, inUse);
  if (again === undefined)
    throw new LvmCommandError('SHARED_VG_LOCK', [
      `VG ${read.vg.name}: no free lease slot in lvmlock after extending it.`,
    ]);
  lv.lockArgs = again;
}

/** lvremove in a shared VG, before the commit: the LV must not be active (its lease held) anywhere. */
export async function checkSharedLvUnused(read: VgRead, lv: LogicalVolume): Promise<void> {
  const change = changeFor(read);
  if (change === undefined || lv.lockArgs === undefined) return;
  const location = change.location;
  try {
    const place = lvLeasePlace(location, lv);
    const lease = await change.client.acquire(
      { lockspace: location.lockspace, resource: formatUuid(lv.id), path: place.path, offsetBytes: place.offsetBytes },
      { mode: 'EX' },
    );
    await lease.release();
  } catch (error) {
    if (isLeaseholdError(error) && HELD_CODES.has(error.code)) {
      throw new LvmCommandError('LEASE_HELD', [`LV locked by other host: ${read.vg.name}/${lv.name}`, error.message]);
    }
    throw error;
  }
}

/** lvremove in a shared VG, after the commit: the slot is `#unused` again. */
export async function freeSharedLvLease(read: VgRead, lv: LogicalVolume): Promise<void> {
  const change = changeFor(read);
  if (change === undefined) return;
  await freeLvLease(change.location, lv);
}
