/** The VG checks lvm makes on read and before every write (spec 3.5, section 5), in lvm's wording. */
import { LvmFormatError } from './errors.js';
import { isVgShared, type LogicalVolume, type Segment, STRIPED_SEGMENT_TYPE, type VolumeGroup } from './model.js';
import { vgNameProblem } from './names.js';

const LV_NAME_CHARS = /^[A-Za-z0-9+_.-]{1,127}$/;
import { formatUuid, isValidRawUuid } from './uuid.js';

function bad(message: string): never {
  throw new LvmFormatError('BAD_METADATA', message);
}

/** Throws BAD_METADATA for the first problem found. */
export function validateVg(vg: VolumeGroup): void {
  const nameProblem = vgNameProblem(vg.name);
  if (nameProblem !== undefined) bad(`Invalid volume group name ${vg.name}: ${nameProblem}`);
  if (!isValidRawUuid(vg.id)) bad(`Invalid uuid for volume group ${vg.name}.`);
  if (!Number.isInteger(vg.seqno) || vg.seqno < 0 || vg.seqno > 0xffffffff)
    bad(`VG ${vg.name} seqno ${vg.seqno} is out of range.`);
  if (!Number.isInteger(vg.extentSizeSectors) || vg.extentSizeSectors <= 0)
    bad(`Extent size of VG ${vg.name} must be positive.`);
  const pvByKey = new Map<string, (typeof vg.pvs)[number]>();
  const pvIds = new Set<string>();
  for (const pv of vg.pvs) {
    if (pvByKey.has(pv.key)) bad(`Duplicate PV name ${pv.key} in VG ${vg.name}.`);
    if (pvIds.has(pv.id)) bad(`Duplicate PV id ${formatUuid(pv.id)} in VG ${vg.name}.`);
    if (!isValidRawUuid(pv.id)) bad(`Invalid uuid for physical volume ${pv.key}.`);
    if (!Number.isInteger(pv.peCount) || pv.peCount < 0) bad(`PV ${pv.key} has an invalid pe_count ${pv.peCount}.`);
    pvByKey.set(pv.key, pv);
    pvIds.add(pv.id);
  }
  const lvNames = new Set<string>();
  const lvIds = new Set<string>();
  for (const lv of vg.lvs) {
    if (lvNames.has(lv.name)) bad(`Duplicate LV name ${lv.name} found in VG ${vg.name}.`);
    if (lvIds.has(lv.id)) bad(`Duplicate LV id ${formatUuid(lv.id)} found in VG ${vg.name}.`);
    // Only the basic rules: lvm's own internal LVs (lvmlock, *_rimage_0 ...) carry reserved names.
    if (!LV_NAME_CHARS.test(lv.name) || lv.name.startsWith('-') || lv.name === '.' || lv.name === '..')
      bad(`Invalid logical volume name ${lv.name} in VG ${vg.name}.`);
    lvNames.add(lv.name);
    lvIds.add(lv.id);
  }
  if (!isVgShared(vg)) {
    for (const lv of vg.lvs)
      if (lv.lockArgs !== undefined) bad(`LV ${vg.name}/${lv.name} has lock_args ${lv.lockArgs} in a local VG.`);
  }
  // used PE ranges per PV, checked for overlaps after sorting
  const used = new Map<string, UsedRange[]>();
  for (const lv of vg.lvs) {
    let le = 0;
    lv.segments.forEach((seg, i) => {
      if (seg.startExtent !== le)
        bad(`LV ${lv.name} invalid: segment ${i + 1} should begin at LE ${le} (found ${seg.startExtent}).`);
      if (!Number.isInteger(seg.extentCount) || seg.extentCount <= 0)
        bad(`LV ${lv.name} invalid: segment ${i + 1} has no extents.`);
      le += seg.extentCount;
      if (seg.type !== STRIPED_SEGMENT_TYPE) return;
      checkAreas(lv, seg, i, pvByKey, lvNames, used);
    });
  }
  for (const [key, ranges] of used) {
    ranges.sort((a, b) => a.start - b.start);
    for (let i = 1; i < ranges.length; i++) {
      const prev = ranges[i - 1] as UsedRange;
      const cur = ranges[i] as UsedRange;
      if (cur.start < prev.start + prev.count) {
        const pv = pvByKey.get(key);
        bad(
          `Internal error: PV segments corrupted in VG ${vg.name}: extent ${cur.start} of PV ${pv === undefined ? key : formatUuid(pv.id)} is used by LV ${prev.lv} and LV ${cur.lv}.`,
        );
      }
    }
  }
}

interface UsedRange {
  start: number;
  count: number;
  lv: string;
}

function checkAreas(
  lv: LogicalVolume,
  seg: Segment,
  index: number,
  pvByKey: Map<string, VolumeGroup['pvs'][number]>,
  lvNames: Set<string>,
  used: Map<string, UsedRange[]>,
): void {
  if (seg.stripes.length === 0) bad(`Zero areas not allowed for segment ${index + 1} of LV ${lv.name}.`);
  const perArea = seg.extentCount / seg.stripes.length;
  if (!Number.isInteger(perArea))
    bad(
      `LV ${lv.name} segment ${index + 1}: extent_count ${seg.extentCount} is not divisible by ${seg.stripes.length} stripes.`,
    );
  for (const area of seg.stripes) {
    const pv = pvByKey.get(area.pvKey);
    if (pv === undefined) {
      if (lvNames.has(area.pvKey)) continue; // stacked on an LV
      bad(`Couldn't find volume '${area.pvKey}' for segment 'segment${index + 1}'.`);
    }
    if (area.startPe + perArea > pv.peCount) {
      bad(
        `Segment with extent ${Math.max(area.startPe, pv.peCount)} in PV ${formatUuid(pv.id)} not found (LV ${lv.name}, PV has ${pv.peCount} extents).`,
      );
    }
    let list = used.get(pv.key);
    if (list === undefined) {
      list = [];
      used.set(pv.key, list);
    }
    list.push({ start: area.startPe, count: perArea, lv: lv.name });
  }
}

/** Whether `b` continues `a` exactly (same type, stripes on the same PVs, contiguous PEs, no tags). */
export function segmentsMergeable(a: Segment, b: Segment): boolean {
  if (a.type !== STRIPED_SEGMENT_TYPE || b.type !== STRIPED_SEGMENT_TYPE) return false;
  if (a.extra !== undefined || b.extra !== undefined || a.tags.length > 0 || b.tags.length > 0) return false;
  if (a.stripes.length !== b.stripes.length || a.stripeSizeSectors !== b.stripeSizeSectors) return false;
  if (a.startExtent + a.extentCount !== b.startExtent) return false;
  const perArea = a.extentCount / a.stripes.length;
  return a.stripes.every((area, i) => {
    const next = b.stripes[i];
    return next !== undefined && next.pvKey === area.pvKey && next.startPe === area.startPe + perArea;
  });
}

/** Merges touching compatible segments, as lvm does in memory after reading (lib/metadata/merge.c). */
export function mergeSegments(segments: Segment[]): Segment[] {
  let mergeable = false;
  for (let i = 1; i < segments.length && !mergeable; i++)
    mergeable = segmentsMergeable(segments[i - 1] as Segment, segments[i] as Segment);
  if (!mergeable) return segments;
  const out: Segment[] = [];
  for (const seg of segments) {
    const last = out[out.length - 1];
    if (last !== undefined && segmentsMergeable(last, seg)) {
      out[out.length - 1] = {
        ...last,
        extentCount: last.extentCount + seg.extentCount,
        stripes: last.stripes.map((a) => ({ ...a })),
      };
    } else {
      out.push({ ...seg, stripes: seg.stripes.map((a) => ({ ...a })) });
    }
  }
  return out;
}
