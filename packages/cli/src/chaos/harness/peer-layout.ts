/**
 * Where the chaos VG's lock LV and each worker LV are on the PV, as the peers need them: the lock
 * LV's byte range (its stand-in loop device), and per LV the PV offset of its data (where the peers
 * write records: no device-mapper to activate it on), its lease offset in lvmlock (lock_args) and
 * the lease's resource name as written on disk (the LV's UUID, as lvmlockd names it).
 */
import { lvMapping } from '@leasehold/activation';
import { DirectDisk } from '@leasehold/disk/direct';
import { decodeLeader, parseLvLockArgs, parseVgLockArgs } from '@leasehold/ondisk';
import { readVolumes } from '@leasehold/volume';

const SECTOR_BYTES = 512;

export interface PeerLv {
  lv: string;
  dataOffsetBytes: number;
  leaseOffsetBytes: number;
  resourceName: string;
}

export interface PeerLayout {
  lockLvOffsetBytes: number;
  lockLvSizeBytes: number;
  lvs: PeerLv[];
}

function firstSegmentBytes(mapping: ReturnType<typeof lvMapping>, what: string): { offset: number; size: number } {
  const first = mapping.segments[0];
  if (first === undefined) throw new Error(`${what} has no segment`);
  return { offset: first.pvOffsetSectors * SECTOR_BYTES, size: first.lengthSectors * SECTOR_BYTES };
}

export async function readPeerLayout(pvPath: string, vgName: string, lvs: readonly string[]): Promise<PeerLayout> {
  const state = await readVolumes({ devices: [pvPath] });
  const read = state.result.vgs.find((vg) => vg.name === vgName);
  if (read === undefined) throw new Error(`VG ${vgName} not found on ${pvPath}`);
  const lockLvName = parseVgLockArgs(read.vg.lockArgs ?? '').lockLvName;
  const lockLv = firstSegmentBytes(
    lvMapping(read.vg, lockLvName, () => pvPath),
    `${vgName}/${lockLvName}`,
  );
  const disk = DirectDisk.openSync(pvPath, { readOnly: true });
  try {
    return {
      lockLvOffsetBytes: lockLv.offset,
      lockLvSizeBytes: lockLv.size,
      lvs: lvs.map((lv) => {
        const model = read.vg.lvs.find((each) => each.name === lv);
        if (model?.lockArgs === undefined) throw new Error(`${vgName}/${lv} has no lock_args`);
        const leaseOffsetBytes = parseLvLockArgs(model.lockArgs).offsetBytes;
        const leader = decodeLeader(disk.readSync(lockLv.offset + leaseOffsetBytes, SECTOR_BYTES));
        return {
          lv,
          dataOffsetBytes: firstSegmentBytes(
            lvMapping(read.vg, lv, () => pvPath),
            `${vgName}/${lv}`,
          ).offset,
          leaseOffsetBytes,
          resourceName: leader.resourceName,
        };
      }),
    };
  } finally {
    disk.closeSync();
  }
}
