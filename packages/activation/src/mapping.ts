/**
 * An LV's sectors as runs on PVs, from the VG metadata: what a dm linear table or a loop device maps.
 * Each host computes it from its own copy of the metadata and its own PV paths.
 */
import {
  formatUuid,
  lvExtentCount,
  STRIPED_SEGMENT_TYPE,
  type PhysicalVolume,
  type VolumeGroup,
} from '@leasehold/lvm-format';
import type { LvMapping, LvSegmentMap } from '@leasehold/protocol';
import { ActivationError } from './errors.js';

/** The most runs one mapping may have (a dm table line each; the mapping travels in one request). */
export const MAX_MAPPING_SEGMENTS = 10_000;

/** This host's path of a PV of the VG (by its key, UUID or device hint, as the caller resolves them). */
export type PvPathOf = (pv: PhysicalVolume) => string;

export function lvMapping(vg: VolumeGroup, lvName: string, pvPathOf: PvPathOf): LvMapping {
  const lv = vg.lvs.find((l) => l.name === lvName);
  if (lv === undefined) throw new ActivationError('LV_NOT_FOUND', `LV ${vg.name}/${lvName} not found`);
  const extentSectors = vg.extentSizeSectors;
  const pvByKey = new Map(vg.pvs.map((pv) => [pv.key, pv]));
  const segments: LvSegmentMap[] = [];
  const ordered = [...lv.segments].sort((a, b) => a.startExtent - b.startExtent);
  let nextExtent = 0;
  for (const seg of ordered) {
    const where = `LV ${vg.name}/${lvName} segment at LE ${seg.startExtent}`;
    if (seg.type !== STRIPED_SEGMENT_TYPE || seg.stripes.length !== 1)
      throw new ActivationError(
        'UNSUPPORTED',
        `${where} is ${seg.type === STRIPED_SEGMENT_TYPE ? `striped over ${seg.stripes.length} PVs` : `of type ${seg.type}`}: only linear LVs can be activated`,
      );
    if (seg.startExtent !== nextExtent)
      throw new ActivationError('BAD_METADATA', `${where}: expected to begin at LE ${nextExtent}`);
    const [area] = seg.stripes;
    const pv = area === undefined ? undefined : pvByKey.get(area.pvKey);
    if (area === undefined || pv === undefined)
      throw new ActivationError(
        'UNSUPPORTED',
        `${where} lies on ${area?.pvKey ?? 'nothing'}, which is not a PV of the VG`,
      );
    if (area.startPe < 0 || seg.extentCount <= 0 || area.startPe + seg.extentCount > pv.peCount)
      throw new ActivationError(
        'BAD_METADATA',
        `${where}: PEs ${area.startPe}-${area.startPe + seg.extentCount - 1} are outside ${pv.key} (${pv.peCount} PEs)`,
      );
    const run: LvSegmentMap = {
      lvStartSectors: seg.startExtent * extentSectors,
      lengthSectors: seg.extentCount * extentSectors,
      pvPath: pvPathOf(pv),
      pvOffsetSectors: pv.peStartSectors + area.startPe * extentSectors,
    };
    nextExtent = seg.startExtent + seg.extentCount;
    const last = segments.at(-1);
    // lvm merges segments that continue each other on the same PV; so does the mapping (one loop device, one table line).
    if (
      last !== undefined &&
      last.pvPath === run.pvPath &&
      last.pvOffsetSectors + last.lengthSectors === run.pvOffsetSectors
    ) {
      last.lengthSectors += run.lengthSectors;
      continue;
    }
    if (segments.length >= MAX_MAPPING_SEGMENTS)
      throw new ActivationError(
        'UNSUPPORTED',
        `LV ${vg.name}/${lvName} has more than ${MAX_MAPPING_SEGMENTS} segments: too many to activate`,
      );
    segments.push(run);
  }
  return {
    vgName: vg.name,
    lvName,
    lvUuid: formatUuid(lv.id),
    vgUuid: formatUuid(vg.id),
    sizeSectors: lvExtentCount(lv) * extentSectors,
    segments,
  };
}
