/**
 * lvs' `lock_refreshed` column (leasehold's own): for each host holding an LV's lease, the VG seqno
 * its delta lease says its active LVs of the VG were last refreshed to after a shared extend
 * (docs/volumes.md, "Extending an LV active on several hosts"). All of it is read from disk, so it
 * answers on any host, the daemon running or not:
 *
 * - each host's delta lease in the VG's lockspace carries its current event: EVENT_LV_REFRESHED
 *   (its answer, data = the seqno it refreshed to) or EVENT_LV_EXTENDED (it extended, and refreshed
 *   its own device first: data = the seqno it committed);
 * - the LV's lease names its holders: the EX owner in the leader, SH holders in the mode blocks.
 *
 * Text: `1:7,2:7,3:5` (host_id:seqno in host_id order); `2:-` for a holder whose delta lease carries
 * neither event (it has not answered an extend since it joined).
 */
import { EVENT_LV_EXTENDED, EVENT_LV_REFRESHED } from '@leasehold/client';
import type { Disk } from '@leasehold/disk';
import { formatUuid, isVgShared } from '@leasehold/lvm-format';
import {
  DELTA_LEADER_MAGIC,
  MBLOCK_SHARED,
  MODE_BLOCK_OFFSET_BYTES,
  PAXOS_LEADER_MAGIC,
  decodeLeader,
  decodeModeBlock,
} from '@leasehold/ondisk';
import { directDeviceOpener, readBytes, type VgRead, type VgScanResult } from '@leasehold/volume';
import { LvmCommandError } from '../lvm-error.js';
import { printLvmLines } from '../output.js';
import {
  lockLvLocation,
  lockLvNameOf,
  lvLeasePlace,
  SANLOCK_LOCK_TYPE,
  type LockLvLocation,
} from '../shared-layout.js';
import type { LvView } from './views.js';

/** Fields that need the refresh state read from disk. */
export const REFRESH_FIELDS: ReadonlySet<string> = new Set(['lv_lock_refreshed']);

/** One joined host of the lockspace, from its delta lease. */
interface DeltaHost {
  generation: bigint;
  /** The seqno of its last refresh answer or extend; undefined when its event is neither. */
  refreshedSeqno: bigint | undefined;
}

const texts = new WeakMap<LvView, string>();

/** The column's text for an LV ('' when not read: a local VG, the lock LV, or unreadable). */
export function refreshedText(lv: LvView): string {
  return texts.get(lv) ?? '';
}

async function withPv<T>(path: string, work: (disk: Disk) => Promise<T>): Promise<T> {
  const disk = await directDeviceOpener.open(path, { write: false });
  try {
    return await work(disk);
  } finally {
    await disk.close();
  }
}

/** The joined hosts of the lockspace (delta leases held), by host_id. */
async function deltaHosts(location: LockLvLocation): Promise<Map<number, DeltaHost>> {
  const { sectorSize, maxHosts } = location.geometry;
  const area = await withPv(location.path, (disk) => readBytes(disk, location.offsetBytes, maxHosts * sectorSize));
  const hosts = new Map<number, DeltaHost>();
  for (let hostId = 1; hostId <= maxHosts; hostId++) {
    const leader = decodeLeader(area, (hostId - 1) * sectorSize);
    if (leader.magic !== DELTA_LEADER_MAGIC || leader.timestamp === 0n) continue;
    const event = leader.writeGeneration;
    hosts.set(hostId, {
      generation: leader.ownerGeneration,
      refreshedSeqno: event === EVENT_LV_REFRESHED || event === EVENT_LV_EXTENDED ? leader.writeTimestamp : undefined,
    });
  }
  return hosts;
}

/**
 * The host_ids holding the LV's lease. A holder whose delta lease is free or of a newer generation
 * holds nothing any more (sanlock takes such a lease at once).
 */
async function holderIds(location: LockLvLocation, lv: LvView, hosts: Map<number, DeltaHost>): Promise<number[]> {
  const place = lvLeasePlace(location, lv.lv);
  const sectorSize = location.geometry.sectorSize;
  const highest = Math.max(0, ...hosts.keys());
  const sectors = 2 + Math.min(highest, location.geometry.maxHosts);
  const area = await withPv(place.path, (disk) => readBytes(disk, place.offsetBytes, sectors * sectorSize));
  const leader = decodeLeader(area, 0);
  if (leader.magic !== PAXOS_LEADER_MAGIC || leader.resourceName !== formatUuid(lv.lv.id)) return [];
  const holds = (hostId: number, generation: bigint): boolean => {
    const host = hosts.get(hostId);
    return host !== undefined && host.generation <= generation;
  };
  const ids = new Set<number>();
  const owner = Number(leader.ownerId);
  if (leader.timestamp !== 0n && owner > 0 && holds(owner, leader.ownerGeneration)) ids.add(owner);
  for (let hostId = 1; hostId + 2 <= sectors; hostId++) {
    const mode = decodeModeBlock(area, (hostId + 1) * sectorSize + MODE_BLOCK_OFFSET_BYTES);
    if ((mode.flags & MBLOCK_SHARED) !== 0 && mode.generation !== 0n && holds(hostId, mode.generation)) ids.add(hostId);
  }
  return [...ids].sort((a, b) => a - b);
}

function format(ids: number[], hosts: Map<number, DeltaHost>): string {
  return ids.map((id) => `${id}:${hosts.get(id)?.refreshedSeqno?.toString() ?? '-'}`).join(',');
}

/** Reads the refresh state of the LVs of shared VGs among `lvs` (one read of each VG's lockspace). */
export async function addRefreshState(lvs: readonly LvView[], result: VgScanResult): Promise<void> {
  const reads = new Map(result.vgs.map((read) => [read.vg, read]));
  const byVg = new Map<VgRead, LvView[]>();
  for (const lv of lvs) {
    const vg = lv.vgView.vg;
    const read = reads.get(vg);
    if (read === undefined || texts.has(lv) || lv.lv.lockArgs === undefined) continue;
    if (!isVgShared(vg) || vg.lockType !== SANLOCK_LOCK_TYPE) continue;
    const list = byVg.get(read);
    if (list === undefined) byVg.set(read, [lv]);
    else list.push(lv);
  }
  for (const [read, ofVg] of byVg) {
    try {
      const location = lockLvLocation(read);
      const lockLvName = lockLvNameOf(read.vg);
      const hosts = await deltaHosts(location);
      for (const lv of ofVg) {
        if (lv.lv.name !== lockLvName) texts.set(lv, format(await holderIds(location, lv, hosts), hosts));
      }
    } catch (error) {
      const message = error instanceof LvmCommandError ? error.lines.join(' ') : String(error);
      printLvmLines([`WARNING: VG ${read.vg.name}: lock_refreshed not read: ${message}`]);
    }
  }
}
