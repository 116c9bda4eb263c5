/**
 * lvextend (and lvresize growing) of an LV in a shared VG, after the commit (docs/volumes.md,
 * "Extending an LV active on several hosts"), which lvmlockd cannot do while the LV is active shared:
 *
 *   1. still under VGLK EX: when the LV is active on this host, its device follows the new metadata
 *      (the `refresh` op, as lvchange --refresh);
 *   2. after VGLK is released: EVENT_LV_EXTENDED (data = the VG seqno after the commit) to every other
 *      host of the VG's lockspace, through this host's delta lease. Each host's daemon with LVs of the
 *      VG active refreshes them by itself and answers with EVENT_LV_REFRESHED (lvs' lock_refreshed).
 *
 * The commit stands whatever happens here: a failure is a warning saying what to run by hand.
 */
import { EVENT_LV_EXTENDED, type LeaseholdClient } from '@leasehold/client';
import type { VgRead } from '@leasehold/volume';
import { refreshLv } from './activation.js';
import { LvmCommandError } from './lvm-error.js';
import { printLvmLines } from './output.js';
import { connectForVg } from './shared-lock.js';

/** What the other hosts are told once VGLK is released. */
export interface ExtendAnnouncement {
  vgName: string;
  lvName: string;
  lockspace: string;
  /** The VG seqno after the commit. */
  seqno: number;
}

function reason(error: unknown): string {
  if (error instanceof LvmCommandError) return error.lines.join(' ');
  return error instanceof Error ? error.message : String(error);
}

/** Step 1: `read` holds the committed metadata (its seqno the committed one). */
export async function refreshHereAfterExtend(client: LeaseholdClient, read: VgRead, lvName: string): Promise<void> {
  try {
    await refreshLv(client, read, lvName);
  } catch (error) {
    printLvmLines([
      `WARNING: ${read.vg.name}/${lvName} is active on this host and its device was not resized: ${reason(error)}`,
      `Run: leasehold lvchange --refresh ${read.vg.name}/${lvName}`,
    ]);
  }
}

/** Step 2: returns the host_ids told. */
export async function announceExtend(announcement: ExtendAnnouncement): Promise<number[]> {
  const { vgName, lvName, lockspace, seqno } = announcement;
  let told: number[] = [];
  let client: LeaseholdClient | undefined;
  try {
    client = await connectForVg(vgName, 'extend');
    const { hosts } = await client.hostStatus(lockspace);
    // Every host with a delta lease here may have LVs of the VG active (sanlock's ALL_HOSTS).
    const others = hosts.filter((h) => !h.self && h.state !== 'FREE').map((h) => h.hostId);
    for (const hostId of others) {
      // One current event per sender: the same event aimed at each host in turn, replacing an older one.
      await client.setEvent(lockspace, hostId, EVENT_LV_EXTENDED, BigInt(seqno), { replace: true });
      told = [...told, hostId];
    }
  } catch (error) {
    printLvmLines([
      `WARNING: the other hosts of VG ${vgName} were not told to refresh ${vgName}/${lvName}: ${reason(error)}`,
      `Run on each host where it is active: leasehold lvchange --refresh ${vgName}/${lvName}`,
    ]);
  } finally {
    client?.close();
  }
  return told;
}
