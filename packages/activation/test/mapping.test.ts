/** lvMapping and the dm table against the metadata: fast-check properties and the refusals. */
import { fc, test } from '@fast-check/vitest';
import { formatUuid, lvExtentCount, type VolumeGroup } from '@leasehold/lvm-format';
import { describe, expect, it } from 'vitest';
import type { LvMapping } from '@leasehold/protocol';
import { ActivationError, dmLinearTable, dmName, dmUuid, lvMapping, MAX_DM_NAME_BYTES } from '../src/index.js';
import { linear, pathOfPv, pvOf, vgOf, vgWithLinearLv } from './vg-arbitrary.js';

/** Where the metadata puts logical extent `le` of lv1: the PV's path and the sector it starts at. */
function metadataPlace(vg: VolumeGroup, le: number): { path: string; sector: number } {
  const lv = vg.lvs[0];
  const seg = lv?.segments.find((s) => le >= s.startExtent && le < s.startExtent + s.extentCount);
  const area = seg?.stripes[0];
  const pv = vg.pvs.find((p) => p.key === area?.pvKey);
  if (seg === undefined || area === undefined || pv === undefined) throw new Error(`LE ${le} is not mapped`);
  return {
    path: pathOfPv(pv),
    sector: pv.peStartSectors + (area.startPe + le - seg.startExtent) * vg.extentSizeSectors,
  };
}

/** Where the mapping puts LV sector `sector`. */
function mappedPlace(mapping: LvMapping, sector: number): { path: string; sector: number } {
  const run = mapping.segments.find((s) => sector >= s.lvStartSectors && sector < s.lvStartSectors + s.lengthSectors);
  if (run === undefined) throw new Error(`sector ${sector} is not mapped`);
  return { path: run.pvPath, sector: run.pvOffsetSectors + sector - run.lvStartSectors };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof ActivationError ? error.code : `not an ActivationError: ${String(error)}`;
  }
  return undefined;
}

describe('lvMapping', () => {
  test.prop([vgWithLinearLv])('runs are contiguous from sector 0 and cover the LV', (vg) => {
    const mapping = lvMapping(vg, 'lv1', pathOfPv);
    const lv = vg.lvs[0];
    expect(mapping.sizeSectors).toBe(lvExtentCount(lv ?? { segments: [] }) * vg.extentSizeSectors);
    let next = 0;
    for (const run of mapping.segments) {
      expect(run.lvStartSectors).toBe(next);
      expect(run.lengthSectors).toBeGreaterThan(0);
      next += run.lengthSectors;
    }
    expect(next).toBe(mapping.sizeSectors);
  });

  test.prop([vgWithLinearLv])("each run lies inside its PV's data area", (vg) => {
    for (const run of lvMapping(vg, 'lv1', pathOfPv).segments) {
      const pv = vg.pvs.find((p) => pathOfPv(p) === run.pvPath);
      expect(pv).toBeDefined();
      if (pv === undefined) continue;
      expect(run.pvOffsetSectors).toBeGreaterThanOrEqual(pv.peStartSectors);
      expect(run.pvOffsetSectors + run.lengthSectors).toBeLessThanOrEqual(
        pv.peStartSectors + pv.peCount * vg.extentSizeSectors,
      );
      expect((run.pvOffsetSectors - pv.peStartSectors) % vg.extentSizeSectors).toBe(0);
    }
  });

  test.prop([vgWithLinearLv])("every extent lands where the metadata's segments put it", (vg) => {
    const mapping = lvMapping(vg, 'lv1', pathOfPv);
    const extents = mapping.sizeSectors / vg.extentSizeSectors;
    for (let le = 0; le < extents; le++) {
      const expected = metadataPlace(vg, le);
      expect(mappedPlace(mapping, le * vg.extentSizeSectors)).toEqual(expected);
      // the extent's last sector too: a run never ends inside an extent
      const last = mappedPlace(mapping, (le + 1) * vg.extentSizeSectors - 1);
      expect(last).toEqual({ path: expected.path, sector: expected.sector + vg.extentSizeSectors - 1 });
    }
  });

  test.prop([vgWithLinearLv])('runs that continue each other on one PV are merged, as lvm merges segments', (vg) => {
    const runs = lvMapping(vg, 'lv1', pathOfPv).segments;
    for (let i = 1; i < runs.length; i++) {
      const a = runs[i - 1];
      const b = runs[i];
      if (a === undefined || b === undefined) continue;
      expect(a.pvPath === b.pvPath && a.pvOffsetSectors + a.lengthSectors === b.pvOffsetSectors).toBe(false);
    }
  });

  it('carries the names and the dashed UUIDs, and takes segments in LE order whatever the text order', () => {
    const vg = vgOf(8192, [pvOf(0, 2048, 100), pvOf(1, 2048, 100)], [linear(10, 5, 'pv1', 0), linear(0, 10, 'pv0', 3)]);
    const mapping = lvMapping(vg, 'lv1', pathOfPv);
    expect(mapping).toEqual({
      vgName: 'vg-a',
      lvName: 'lv1',
      lvUuid: formatUuid(vg.lvs[0]?.id ?? ''),
      vgUuid: formatUuid(vg.id),
      sizeSectors: 15 * 8192,
      segments: [
        { lvStartSectors: 0, lengthSectors: 10 * 8192, pvPath: '/dev/test/pv0', pvOffsetSectors: 2048 + 3 * 8192 },
        { lvStartSectors: 10 * 8192, lengthSectors: 5 * 8192, pvPath: '/dev/test/pv1', pvOffsetSectors: 2048 },
      ],
    });
  });

  it('refuses what it cannot map, with stable codes', () => {
    const pvs = [pvOf(0, 2048, 10), pvOf(1, 2048, 10)];
    expect(codeOf(() => lvMapping(vgOf(8, pvs, [linear(0, 1, 'pv0', 0)]), 'nope', pathOfPv))).toBe('LV_NOT_FOUND');
    expect(codeOf(() => lvMapping(vgOf(8, pvs, [linear(0, 2, 'pv0', 9)]), 'lv1', pathOfPv))).toBe('BAD_METADATA');
    expect(codeOf(() => lvMapping(vgOf(8, pvs, [linear(1, 2, 'pv0', 0)]), 'lv1', pathOfPv))).toBe('BAD_METADATA');
    expect(codeOf(() => lvMapping(vgOf(8, pvs, [linear(0, 2, 'lvx', 0)]), 'lv1', pathOfPv))).toBe('UNSUPPORTED');
    const striped = vgOf(8, pvs, [
      {
        startExtent: 0,
        extentCount: 4,
        type: 'striped',
        tags: [],
        stripeSizeSectors: 128,
        stripes: [
          { pvKey: 'pv0', startPe: 0 },
          { pvKey: 'pv1', startPe: 0 },
        ],
      },
    ]);
    expect(codeOf(() => lvMapping(striped, 'lv1', pathOfPv))).toBe('UNSUPPORTED');
    const raid = vgOf(8, pvs, [{ ...linear(0, 2, 'pv0', 0), type: 'raid1' }]);
    expect(codeOf(() => lvMapping(raid, 'lv1', pathOfPv))).toBe('UNSUPPORTED');
  });
});

describe('dm names and tables', () => {
  it("mangles names as lvm does: '-' doubled in each part, parts joined by '-'", () => {
    expect(dmName('vg', 'lv')).toBe('vg-lv');
    expect(dmName('my-vg', 'data-1')).toBe('my--vg-data--1');
    expect(dmName('a--b', '-c')).toBe('a----b---c');
    expect(dmName('vg_0.x+', 'lv_1')).toBe('vg_0.x+-lv_1');
    expect(codeOf(() => dmName('v'.repeat(64), 'l'.repeat(63)))).toBe('BAD_NAME');
    expect(dmName('v'.repeat(63), 'l'.repeat(63))).toHaveLength(MAX_DM_NAME_BYTES);
  });

  // lvm names never start with '-', which is what makes the mangled name split back unambiguously.
  const lvmName = fc.stringMatching(/^[a-z][a-z-]{0,19}$/);
  test.prop([lvmName, lvmName])(
    'the mangled name splits back into the two names at its first single dash',
    (vg, lv) => {
      const name = dmName(vg, lv);
      // Unmangle as libdevmapper's dm_split_lvm_name does: '--' is a dash, the first lone '-' separates.
      let i = 0;
      let first = '';
      while (i < name.length && !(name[i] === '-' && name[i + 1] !== '-')) {
        first += name[i] === '-' ? '-' : (name[i] ?? '');
        i += name[i] === '-' ? 2 : 1;
      }
      expect(first).toBe(vg);
      expect(name.slice(i + 1).replaceAll('--', '-')).toBe(lv);
    },
  );

  it("uses lvm's dm UUID: LVM- then the VG's and the LV's UUIDs without dashes", () => {
    const vg = vgOf(8, [pvOf(0, 2048, 10)], [linear(0, 1, 'pv0', 0)]);
    const mapping = lvMapping(vg, 'lv1', pathOfPv);
    expect(dmUuid(mapping)).toBe(`LVM-${vg.id}${vg.lvs[0]?.id}`);
    const { vgUuid: _dropped, ...withoutVg } = mapping;
    expect(dmUuid(withoutVg)).toBeNull();
  });

  test.prop([vgWithLinearLv])('the table has one linear line per run and reads back as the metadata says', (vg) => {
    const mapping = lvMapping(vg, 'lv1', pathOfPv);
    const table = dmLinearTable(mapping, (path) => `7:${path.slice(-1)}`);
    const lines = table.trimEnd().split('\n');
    expect(table.endsWith('\n')).toBe(true);
    expect(lines).toHaveLength(mapping.segments.length);
    let next = 0;
    for (const line of lines) {
      const [start, length, target, device, offset, ...rest] = line.split(' ');
      expect(rest).toEqual([]);
      expect(target).toBe('linear');
      expect(Number(start)).toBe(next);
      const expected = metadataPlace(vg, Number(start) / vg.extentSizeSectors);
      expect(device).toBe(`7:${expected.path.slice(-1)}`);
      expect(Number(offset)).toBe(expected.sector);
      next += Number(length);
    }
    expect(next).toBe(mapping.sizeSectors);
  });
});
