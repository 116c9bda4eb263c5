/** fast-check arbitraries of VG models with one linear LV spread over PVs, for the mapping's properties. */
import { fc } from '@fast-check/vitest';
import type { PhysicalVolume, Segment, VolumeGroup } from '@leasehold/lvm-format';

const UUID_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function rawUuid(seed: number): string {
  let out = '';
  for (let i = 0; i < 32; i++) out += UUID_CHARS[(seed * 31 + i * 7) % UUID_CHARS.length];
  return out;
}

export function pvOf(index: number, peStartSectors: number, peCount: number): PhysicalVolume {
  return {
    key: `pv${index}`,
    id: rawUuid(index + 1),
    status: ['ALLOCATABLE'],
    flags: [],
    tags: [],
    peStartSectors,
    peCount,
  };
}

export function vgOf(
  extentSizeSectors: number,
  pvs: PhysicalVolume[],
  segments: Segment[],
  lvName = 'lv1',
): VolumeGroup {
  return {
    name: 'vg-a',
    id: rawUuid(100),
    seqno: 3,
    status: ['RESIZEABLE', 'READ', 'WRITE'],
    flags: [],
    tags: [],
    extentSizeSectors,
    maxLv: 0,
    maxPv: 0,
    pvs,
    lvs: [
      {
        name: lvName,
        id: rawUuid(200),
        status: ['READ', 'WRITE', 'VISIBLE'],
        flags: [],
        tags: [],
        segments,
      },
    ],
  };
}

export function linear(startExtent: number, extentCount: number, pvKey: string, startPe: number): Segment {
  return { startExtent, extentCount, type: 'striped', tags: [], stripes: [{ pvKey, startPe }] };
}

/**
 * A VG whose LV takes runs from its PVs in a random order, with random gaps between runs on a PV
 * (so neighbouring runs sometimes continue each other and sometimes do not).
 */
export const vgWithLinearLv = fc
  .record({
    extentSizeSectors: fc.constantFrom(8, 64, 2048, 8192),
    pvs: fc.array(
      fc.record({ peStartSectors: fc.constantFrom(8, 384, 2048, 2056), peCount: fc.integer({ min: 1, max: 300 }) }),
      { minLength: 1, maxLength: 4 },
    ),
    runs: fc.array(
      fc.record({ pv: fc.nat(), gap: fc.integer({ min: 0, max: 3 }), length: fc.integer({ min: 1, max: 40 }) }),
      { minLength: 1, maxLength: 20 },
    ),
  })
  .map(({ extentSizeSectors, pvs, runs }) => {
    const models = pvs.map((p, i) => pvOf(i, p.peStartSectors, p.peCount));
    const cursor = models.map(() => 0);
    const segments: Segment[] = [];
    let le = 0;
    for (const run of runs) {
      const index = run.pv % models.length;
      const pv = models[index];
      const at = (cursor[index] ?? 0) + run.gap;
      if (pv === undefined || at >= pv.peCount) continue;
      const length = Math.min(run.length, pv.peCount - at);
      segments.push(linear(le, length, pv.key, at));
      cursor[index] = at + length;
      le += length;
    }
    if (segments.length === 0) segments.push(linear(0, 1, 'pv0', 0));
    return vgOf(extentSizeSectors, models, segments);
  });

export const pathOfPv = (pv: PhysicalVolume): string => `/dev/test/${pv.key}`;
