/**
 * The LV side of shared VGs, as lvmlockd does it: lvcreate gives the LV the lowest free lease slot
 * (named by its UUID, offset in lock_args); lvremove, lvresize and lvrename first take the LV's lease
 * exclusive for a moment (refused, naming the holders, while another host has the LV active) and
 * lvremove gives the slot back (`#unused`) after the commit.
 */
import { formatUuid, isVgShared, SECTOR_SIZE_BYTES, type LogicalVolume } from '@leasehold/lvm-format';
import { LOCK_LV_EXTEND_BYTES } from '@leasehold/ondisk';
import { isLeaseholdError, type LeaseholdClient } from '@leasehold/client';
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
  type LockLvLocation,
} from './shared-layout.js';
import { sharedChangeOf } from './shared-lock.js';
import { holderLines, otherHolders, VgHolderReader, type LvLeaseHolders } from './lv-holders.js';

/** Codes meaning the LV's lease is held elsewhere. */
const HELD_CODES: ReadonlySet<string> = new Set(['LEASE_HELD', 'LEASE_HELD_LOCALLY', 'SHARED_HOLDERS']);
/** Tries of "take it EX, else read who holds it": a holder may let go between the two. */
const HELD_LOOKS = 3;

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

/** What a command is about to do to an LV of a shared VG (lvm takes the LV's lease EX for each). */
export type SharedLvChange = 'remove' | 'reduce' | 'extend' | 'rename';

const CHANGE_VERB: Record<SharedLvChange, string> = {
  remove: 'remove',
  reduce: 'reduce',
  extend: 'extend',
  rename: 'rename',
};

/**
 * The refusal for a change of an LV whose lease is held, from who holds it (read from disk). An extend
 * is always allowed (the holders refresh). Otherwise another host, SH or EX, always refuses (lvm's "LV locked by other host", naming the holders). Held only
 * here: EX (active exclusively here) allows a resize, as lvm's transient EX is then a no-op; SH
 * (active shared) refuses a resize, as lvm does ("incompatible mode"); a remove or rename of an LV
 * active here needs it deactivated first (its device carries its name). Undefined: allowed.
 */
export function sharedLvRefusal(change: SharedLvChange, holders: LvLeaseHolders): LvmCommandError | undefined {
  // An extend is never refused: every host that has the LV active refreshes its mapping after the
  // commit (shared extend, shared-extend.ts), which lvmlockd cannot do.
  if (change === 'extend') return undefined;
  const name = `${holders.vgName}/${holders.lvName}`;
  const others = otherHolders(holders);
  if (others.length > 0) {
    return new LvmCommandError('LEASE_HELD', [
      `LV locked by other host: ${name}`,
      ...holderLines(holders, others),
      `Failed to lock logical volume ${name}.`,
    ]);
  }
  const own = holders.holders.find((h) => h.self);
  if (own === undefined) return undefined;
  if (change === 'reduce' && own.mode === 'EX') return undefined;
  if (change === 'reduce') {
    return new LvmCommandError('LV_ACTIVE_SHARED', [
      `Cannot ${CHANGE_VERB[change]} ${name}: it is active shared on this host (-asy), and leasehold never reduces a shared-active LV.`,
      `Deactivate it on every host (leasehold lvchange -an ${name}) first.`,
    ]);
  }
  return new LvmCommandError('LV_ACTIVE', [
    `Logical volume ${name} is active on this host (${own.mode}): deactivate it first (leasehold lvchange -an ${name}).`,
  ]);
}

/**
 * lvremove, lvreduce, lvextend and lvrename in a shared VG, before the commit (under VGLK EX): the
 * LV's lease taken EX for a moment proves it inactive everywhere; when it cannot be taken the lease
 * is read from disk and the refusal names who holds it and how (exit status 5). Returns whether it is
 * active here (held by this host only); with `activeHereAllowed` that is returned rather than refused
 * (lvremove -f deactivates it then).
 */
export async function checkSharedLvChange(
  read: VgRead,
  lv: LogicalVolume,
  change: SharedLvChange,
  options: { activeHereAllowed?: boolean } = {},
): Promise<'inactive' | 'active-here'> {
  const vgChange = changeFor(read);
  if (vgChange === undefined || lv.lockArgs === undefined) return 'inactive';
  const location = vgChange.location;
  const place = lvLeasePlace(location, lv);
  let lastMessage = '';
  for (let attempt = 0; attempt < HELD_LOOKS; attempt++) {
    try {
      const lease = await vgChange.client.acquire(
        {
          lockspace: location.lockspace,
          resource: formatUuid(lv.id),
          path: place.path,
          offsetBytes: place.offsetBytes,
        },
        { mode: 'EX' },
      );
      await lease.release();
      return 'inactive';
    } catch (error) {
      if (!(isLeaseholdError(error) && HELD_CODES.has(error.code))) throw error;
      lastMessage = error.message;
    }
    const holders = await new VgHolderReader(read, vgChange.client, location).holdersOf(lv);
    if (holders.holders.length === 0) continue; // let go meanwhile: take it again
    if (options.activeHereAllowed === true && otherHolders(holders).length === 0) return 'active-here';
    const refusal = sharedLvRefusal(change, holders);
    if (refusal !== undefined) throw refusal;
    return 'active-here';
  }
  throw new LvmCommandError('LEASE_HELD', [`LV locked by other host: ${read.vg.name}/${lv.name}`, lastMessage]);
}

/** At most this many LVs are named in one vgremove refusal; the rest are counted. */
const MAX_NAMED_ACTIVE_LVS = 8;

/**
 * vgremove of a shared VG (under VGLK EX): refused while any of its LVs is active on another host,
 * naming each such LV and its holders as lvremove would. Returns the LVs active only here, with the
 * lines that name them, for the caller to deactivate (vgremove -f, as lvm's) or refuse. A holder whose
 * host is DEAD does not count: its lease may be taken (lvmlockd's vgremove ignores DEAD hosts too).
 */
export async function sharedLvsActive(
  read: VgRead,
  client: LeaseholdClient,
  location: LockLvLocation,
): Promise<Array<{ lv: LogicalVolume; lines: string[] }>> {
  const reader = new VgHolderReader(read, client, location);
  const elsewhere: string[][] = [];
  const here: Array<{ lv: LogicalVolume; lines: string[] }> = [];
  for (const lv of read.vg.lvs) {
    if (lv.name === lockLvNameOf(read.vg) || lv.lockArgs === undefined) continue;
    const holders = await reader.holdersOf(lv);
    const live = { ...holders, holders: holders.holders.filter((h) => h.state !== 'DEAD') };
    const refusal = sharedLvRefusal('remove', live);
    if (refusal === undefined) continue;
    const lines = refusal.lines.filter((l) => !l.startsWith('Failed to lock'));
    if (refusal.code === 'LEASE_HELD') elsewhere.push(lines);
    else here.push({ lv, lines });
  }
  if (elsewhere.length > 0) throw activeLvsRefusal(read, 'LEASE_HELD', elsewhere);
  return here;
}

/** vgremove's refusal naming the active LVs (at most MAX_NAMED_ACTIVE_LVS, the rest counted). */
export function activeLvsRefusal(read: VgRead, code: string, found: readonly string[][]): LvmCommandError {
  const lines = found.slice(0, MAX_NAMED_ACTIVE_LVS).flat();
  if (found.length > MAX_NAMED_ACTIVE_LVS)
    lines.push(`... and ${found.length - MAX_NAMED_ACTIVE_LVS} more active LVs.`);
  return new LvmCommandError(code, [...lines, `Volume group "${read.name}" not removed`]);
}

/** lvremove in a shared VG, before the commit: the LV must not be active (its lease held) anywhere. */
export async function checkSharedLvUnused(read: VgRead, lv: LogicalVolume): Promise<void> {
  await checkSharedLvChange(read, lv, 'remove');
}

/** lvremove in a shared VG, after the commit: the slot is `#unused` again. */
export async function freeSharedLvLease(read: VgRead, lv: LogicalVolume): Promise<void> {
  const change = changeFor(read);
  if (change === undefined) return;
  await freeLvLease(change.location, lv);
}
