/**
 * vgremove of a shared VG, as lvmlockd allows it: only while no other host has its lockspace started
 * (they are named), and the enabled global lock is not lost with it: it moves to another shared VG
 * this host has started, or the removal is refused saying what to do. After the metadata is gone the
 * lockspace is left and its area wiped, so the PV carries no stale lease area.
 */
import type { HostInfo, LeaseholdClient } from '@leasehold/client';
import { isVgShared } from '@leasehold/lvm-format';
import { directDeviceOpener, writeBytes, type VgRead, type VgScanResult } from '@leasehold/volume';
import { LvmCommandError } from './lvm-error.js';
import { printLvmOut } from './output.js';
import { globalLockState, lockLvLocation, setGlobalLock, type LockLvLocation } from './shared-layout.js';
import { connectForVg } from './shared-lock.js';
import { activeLvsRefusal, checkSharedLvChange, sharedLvsActive } from './shared-lv.js';
import { deactivateLv } from './activation.js';
import { sharedVgsOf, startedLockspaces } from './shared-vg.js';

/** Host states that mean "still in the lockspace" (lvmlockd refuses on LIVE and unknown states). */
const PRESENT_STATES: ReadonlySet<string> = new Set(['LIVE', 'UNKNOWN', 'FAIL']);

/** Renewal interval in io_timeouts (sanlock renews every 2 x io_timeout). */
const RENEWALS_TO_WAIT = 2;
const HOST_POLL_MS = 250;

async function presentHosts(client: LeaseholdClient, lockspace: string): Promise<HostInfo[]> {
  const table = await client.hostStatus(lockspace);
  return table.hosts.filter((h) => !h.self && PRESENT_STATES.has(h.state));
}

export interface SharedRemovePlan {
  location: LockLvLocation;
  /** Where the enabled global lock goes (when this VG held it and another started VG exists). */
  moveGlobalLockTo?: LockLvLocation;
}

/** Checks before removing shared VG `read` (under its VGLK); undefined for a local VG. */
export async function planSharedVgRemove(
  read: VgRead,
  result: VgScanResult,
  options: { force?: boolean } = {},
): Promise<SharedRemovePlan | undefined> {
  if (!isVgShared(read.vg)) return undefined;
  const location = lockLvLocation(read);
  const client = await connectForVg(read.name, 'remove');
  try {
    const started = await startedLockspaces(client);
    if (started.get(location.lockspace) !== 'joined') {
      throw new LvmCommandError('NO_LOCKSPACE', [
        `VG ${read.name} lockspace is not started on this host: leasehold lockstart ${read.name}`,
        `Volume group "${read.name}" not removed`,
      ]);
    }
    // LVs active on another host first (named, nothing done); those active only here wait for the
    // other checks, then -f deactivates them as lvm's vgremove -f does.
    const activeHere = await sharedLvsActive(read, client, location);
    // A host that just left shows as gone only after our next renewal reads its lease: look again
    // for one renewal interval before refusing.
    const ioTimeoutSeconds =
      (await client.status()).lockspaces.find((ls) => ls.lockspace === location.lockspace)?.ioTimeoutSeconds ?? 10;
    const deadline = Date.now() + (RENEWALS_TO_WAIT * ioTimeoutSeconds + 1) * 1000;
    let others = await presentHosts(client, location.lockspace);
    while (others.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, HOST_POLL_MS));
      others = await presentHosts(client, location.lockspace);
    }
    if (others.length > 0) {
      const named = others.map((h) => `host_id ${h.hostId} (${h.hostName}, ${h.state})`).join(', ');
      throw new LvmCommandError('LOCKSPACE_IN_USE', [
        `Lockspace for "${read.name}" not stopped on other hosts: ${named}.`,
        `Run leasehold lockstop ${read.name} (or vgchange --lock-stop ${read.name}) there first.`,
        `Volume group "${read.name}" not removed`,
      ]);
    }
    if (activeHere.length > 0 && options.force !== true)
      throw activeLvsRefusal(
        read,
        'LV_ACTIVE',
        activeHere.map((a) => a.lines),
      );
    const plan = await globalLockPlan(read, result, location, started);
    // Every check passed: -f deactivates the LVs active here; each lease must then be free.
    for (const { lv } of activeHere) {
      await deactivateLv(client, read, lv.name);
      await checkSharedLvChange(read, lv, 'remove');
    }
    return plan;
  } finally {
    client.close();
  }
}

/** Where the enabled global lock goes when VG `read` holds it (refused when nowhere here). */
async function globalLockPlan(
  read: VgRead,
  result: VgScanResult,
  location: LockLvLocation,
  started: Map<string, string>,
): Promise<SharedRemovePlan> {
  if ((await globalLockState(location)) !== 'enabled') return { location };
  const candidates = sharedVgsOf(result).filter((s) => s.read.name !== read.name);
  if (candidates.length === 0) return { location };
  const target = candidates.find((s) => started.get(s.location.lockspace) === 'joined');
  if (target === undefined) {
    const names = candidates.map((c) => c.read.name).join(', ');
    throw new LvmCommandError('GLOBAL_LOCK', [
      `VG ${read.name} holds the global lock and no other shared VG is started on this host to take it (shared VGs: ${names}).`,
      `Start one first (leasehold lockstart ${candidates[0]?.read.name ?? 'VG'}), or enable the global lock elsewhere (leasehold gl-enable VG) and disable it here (leasehold gl-disable ${read.name}).`,
      `Volume group "${read.name}" not removed`,
    ]);
  }
  return { location, moveGlobalLockTo: target.location };
}

/** After the VG is removed and its VGLK released: move the GL, leave the lockspace, wipe its area. */
export async function finishSharedVgRemove(plan: SharedRemovePlan): Promise<void> {
  const { location } = plan;
  if (plan.moveGlobalLockTo !== undefined) {
    await setGlobalLock(plan.moveGlobalLockTo, 'enabled');
    printLvmOut([
      `VG ${location.vgName} held the sanlock global lock; it is now enabled in VG ${plan.moveGlobalLockTo.vgName}.`,
    ]);
  }
  const client = await connectForVg(location.vgName, 'lock stop');
  try {
    await client.lockstop(location.lockspace, { wait: true });
  } finally {
    client.close();
  }
  // The lockspace area goes (lvmlockd renames it to #unused): a later vgcreate finds no lease there.
  const disk = await directDeviceOpener.open(location.path, { write: true });
  try {
    await writeBytes(disk, location.offsetBytes, new Uint8Array(location.geometry.alignBytes));
  } finally {
    await disk.close();
  }
}
