/** Allocation on random VGs (pure, fast-check): never overlapping, always in range, and it fails only when lvm would. */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { lvExtentCount, type Segment, validateVg, type VolumeGroup } from '@leasehold/lvm-format';
import { allocateExtents, freeRanges, reduceExtents, VolumeError } from '@leasehold/volume';

const uuid = (i: number): string => `u${String(i).padStart(31, '0')}`;

/** A VG with 1-4 PVs and LVs placed by a random series of allocations, extensions and reductions. */
const scenario = fc.record({
  pvSizes: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }),
  unallocatable: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  ops: fc.array(
    fc.record({
      lv: fc.nat(4),
      extents: fc.integer({ min: 1, max: 30 }),
      stripes: fc.constantFrom(1, 1, 1, 2, 3),
      pvs: fc.subarray([0, 1, 2, 3]),
      reduce: fc.integer({ min: 0, max: 5 }),
    }),
    { maxLength: 12 },
  ),
});

function vgOf(pvSizes: number[], unallocatable: boolean[]): VolumeGroup {
  return {
    name: 'vg',
    id: uuid(0),
    seqno: 1,
    status: ['RESIZEABLE', 'READ', 'WRITE'],
    flags: [],
    tags: [],
    extentSizeSectors: 8192,
    maxLv: 0,
    maxPv: 0,
    pvs: pvSizes.map((n, i) => ({
      key: `pv${i}`,
      id: uuid(100 + i),
      status: unallocatable[i] === true && i > 0 ? [] : ['ALLOCATABLE'],
      flags: [],
      tags: [],
      peStartSectors: 2048,
      peCount: n,
    })),
    lvs: [],
  };
}

describe('allocateExtents', () => {
  test.prop([scenario], { numRuns: 300 })(
    'keeps every PE in range and used once, LEs contiguous, and fails only without room',
    ({ pvSizes, unallocatable, ops }) => {
      const vg = vgOf(pvSizes, unallocatable);
      for (const op of ops) {
        const name = `lv${op.lv}`;
        let lv = vg.lvs.find((l) => l.name === name);
        const pvKeys = op.pvs.filter((i) => i < vg.pvs.length).map((i) => `pv${i}`);
        const allowed = (pvKeys.length > 0 ? pvKeys : vg.pvs.map((p) => p.key)).filter((k) =>
          vg.pvs.find((p) => p.key === k)?.status.includes('ALLOCATABLE'),
        );
        const freeAllowed = allowed.reduce(
          (n, k) => n + (freeRanges(vg).get(k) ?? []).reduce((m, [, c]) => m + c, 0),
          0,
        );
        if (
          lv !== undefined &&
          op.reduce > 0 &&
          op.reduce < lvExtentCount(lv) &&
          lv.segments.every((s) => s.stripes.length === 1)
        ) {
          lv.segments = reduceExtents(lv.segments, op.reduce, name);
        }
        const stripes = lv?.segments.at(-1)?.stripes.length ?? op.stripes;
        const extents = op.extents * stripes;
        let segments: Segment[] | undefined;
        try {
          segments = allocateExtents({
            vg,
            lvName: name,
            existing: lv?.segments ?? [],
            extents,
            stripes,
            stripeSizeSectors: 128,
            ...(pvKeys.length > 0 ? { pvKeys } : {}),
          });
        } catch (error) {
          expect(error).toBeInstanceOf(VolumeError);
          expect((error as VolumeError).code).toBe('INSUFFICIENT_FREE_EXTENTS');
          // linear allocation can use any free extent on the allowed PVs: it only fails without room
          if (stripes === 1) expect(freeAllowed).toBeLessThan(extents);
          continue;
        }
        const before = lv === undefined ? 0 : lvExtentCount(lv);
        if (lv === undefined) {
          lv = { name, id: uuid(10 + op.lv), status: ['READ', 'WRITE', 'VISIBLE'], flags: [], tags: [], segments };
          vg.lvs.push(lv);
        } else lv.segments = segments;
        expect(lvExtentCount(lv)).toBe(before + extents);
        for (const seg of segments.slice(-1)) for (const area of seg.stripes) expect(allowed).toContain(area.pvKey);
        // in range, no PE twice, LEs from 0 without gaps: lvm's own read checks
        expect(() => validateVg(vg)).not.toThrow();
      }
    },
  );
});
