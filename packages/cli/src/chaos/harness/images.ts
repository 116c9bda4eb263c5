/** Reading the chaos LVs' records straight off the PV after the run (no activation needed). */
import { lvMapping } from '@leasehold/activation';
import { DirectDisk } from '@leasehold/disk/direct';
import { readVolumes } from '@leasehold/volume';
import type { LvImage } from '../checker/check.js';
import { decodeSlot, RECORD_SIZE_BYTES } from '../record.js';

const SECTOR_BYTES = 512;

export async function readLvImages(
  pvPath: string,
  vgName: string,
  lvs: readonly string[],
  slotsPerLv: number,
): Promise<LvImage[]> {
  const state = await readVolumes({ devices: [pvPath] });
  const read = state.result.vgs.find((vg) => vg.name === vgName);
  if (read === undefined) throw new Error(`VG ${vgName} not found on ${pvPath}`);
  const disk = DirectDisk.openSync(pvPath, { readOnly: true });
  try {
    return lvs.map((lv) => {
      const mapping = lvMapping(read.vg, lv, () => pvPath);
      const first = mapping.segments[0];
      if (first === undefined || first.lengthSectors * SECTOR_BYTES < slotsPerLv * RECORD_SIZE_BYTES)
        throw new Error(`${vgName}/${lv}: its first segment is shorter than ${slotsPerLv} slots`);
      const bytes = disk.readSync(first.pvOffsetSectors * SECTOR_BYTES, slotsPerLv * RECORD_SIZE_BYTES);
      const slots = Array.from({ length: slotsPerLv }, (_, slot) =>
        decodeSlot(bytes.slice(slot * RECORD_SIZE_BYTES, (slot + 1) * RECORD_SIZE_BYTES)),
      );
      return { lv, slots };
    });
  } finally {
    disk.closeSync();
  }
}
