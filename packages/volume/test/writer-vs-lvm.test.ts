/**
 * The writer against lvm's reader: random VG models (hidden and visible LVs, linear and striped
 * segments split across PVs, tags, odd but valid names, descriptions with quotes and backslashes)
 * are committed by leasehold; the real lvm must accept each (vgck) and report the same VG, LVs,
 * UUIDs, tags and PE ranges.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatUuid,
  type LogicalVolume,
  mergeSegments,
  type Segment,
  UUID_ALPHABET,
  type VolumeGroup,
} from '@leasehold/lvm-format';
import { makeLoopSet, makeLvmSandbox, type LoopSet, type LvmSandbox } from '@leasehold/testkit';
import { commitVg, newVolumeGroup, pvcreate, pvEntryFor, type PvDevice, scanDevices } from '@leasehold/volume';
import { randomBytes } from './helpers.js';

const MIB = 1024 * 1024;
const RUNS = Number(process.env.LH_WRITER_RUNS ?? 12);
let lvm: LvmSandbox;
let loops: LoopSet;
let pvs: PvDevice[];

beforeAll(async () => {
  lvm = makeLvmSandbox();
  loops = makeLoopSet([64 * MIB, 48 * MIB]);
  for (const d of loops.devices) await pvcreate(d, { randomBytes });
  pvs = (await scanDevices(loops.devices)).pvs;
});

afterAll(() => {
  loops?.cleanup();
  lvm?.cleanup();
});

const uuidArb = fc
  .array(fc.constantFrom(...UUID_ALPHABET.slice(0, 62).split('')), { minLength: 32, maxLength: 32 })
  .map((c) => c.join(''));
const nameArb = fc
  .stringMatching(/^[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,20}$/)
  .filter(
    (n) =>
      n !== '.' && n !== '..' && !/^(pvmove|snapshot)/.test(n) && !/_(c|t|r|m|v|w|p)[a-z]/.test(n) && n !== 'lvmlock',
  );
const tagArb = fc.stringMatching(/^[A-Za-z0-9_+.-]{1,8}$/);
const lvArb = fc.record({
  name: nameArb,
  id: uuidArb,
  hidden: fc.boolean(),
  tags: fc.uniqueArray(tagArb, { maxLength: 3 }),
  pieces: fc.array(fc.record({ extents: fc.integer({ min: 1, max: 5 }), striped: fc.boolean(), pv: fc.nat(1) }), {
    minLength: 1,
    maxLength: 3,
  }),
});
const vgArb = fc.record({
  name: nameArb,
  tags: fc.uniqueArray(tagArb, { maxLength: 3 }),
  lvs: fc.uniqueArray(lvArb, { maxLength: 6, selector: (l) => l.name }),
  description: fc.string({ maxLength: 40 }).filter((s) => !/[\0\n]/.test(s)),
});

interface LvSpec {
  name: string;
  id: string;
  hidden: boolean;
  tags: string[];
  pieces: Array<{ extents: number; striped: boolean; pv: number }>;
}

interface VgSpec {
  name: string;
  tags: string[];
  lvs: LvSpec[];
  description: string;
}

/** Lays the random LVs out on the two PVs, PE after PE. */
function buildVg(s: VgSpec): VolumeGroup {
  const vg = newVolumeGroup({ name: s.name, devices: [], randomBytes, extentSizeSectors: 2048 });
  vg.tags = s.tags;
  vg.pvs = pvs.map((d, i) => pvEntryFor(d, `pv${i}`, 2048));
  const next = [0, 0];
  for (const l of s.lvs) {
    const segments: Segment[] = [];
    let le = 0;
    for (const p of l.pieces) {
      if (p.striped) {
        const stripes = [0, 1].map((i) => {
          const startPe = next[i] as number;
          next[i] = startPe + p.extents;
          return { pvKey: `pv${i}`, startPe };
        });
        segments.push({
          startExtent: le,
          extentCount: p.extents * 2,
          type: 'striped',
          tags: [],
          stripeSizeSectors: 128,
          stripes,
        });
        le += p.extents * 2;
      } else {
        const start = next[p.pv] as number;
        next[p.pv] = start + p.extents;
        segments.push({
          startExtent: le,
          extentCount: p.extents,
          type: 'striped',
          tags: [],
          stripes: [{ pvKey: `pv${p.pv}`, startPe: start }],
        });
        le += p.extents;
      }
    }
    const lv: LogicalVolume = {
      name: l.name,
      id: l.id,
      status: l.hidden ? ['READ', 'WRITE'] : ['READ', 'WRITE', 'VISIBLE'],
      flags: [],
      tags: l.tags,
      creationTime: 1_800_000_000,
      creationHost: 'h"x\\y',
      segments,
    };
    vg.lvs.push(lv);
  }
  vg.lvs.sort((a, b) => Number(b.status.includes('VISIBLE')) - Number(a.status.includes('VISIBLE')));
  return vg;
}

describe("lvm's reader accepts leasehold's writer", () => {
  it('random VGs are accepted by vgck and reported field by field', async () => {
    let seqno = 1;
    await fc.assert(
      fc.asyncProperty(vgArb, async (spec) => {
        const devs = loops.devices;
        const vg = buildVg(spec);
        seqno += 1;
        await commitVg(
          vg,
          new Map(pvs.map((d) => [d.label.pvId, d])),
          { description: spec.description, hostName: 'host', unameText: 'Linux "q" \\', nowSeconds: 1_800_000_000 },
          { seqno },
        );
        const check = lvm.run('vgck', [vg.name], devs);
        expect(check.status, check.stderr).toBe(0);
        const sortTags = (r: Record<string, string>, k: string): Record<string, string> => ({
          ...r,
          [k]: (r[k] ?? '')
            .split(',')
            .filter((t) => t !== '')
            .sort()
            .join(','),
        });
        const [rawRow] = lvm.report('vgs', ['-o', 'vg_name,vg_uuid,vg_seqno,vg_tags,lv_count', vg.name], devs);
        const row = rawRow === undefined ? undefined : sortTags(rawRow, 'vg_tags');
        expect(row).toEqual({
          vg_name: vg.name,
          vg_uuid: formatUuid(vg.id),
          vg_seqno: String(seqno),
          vg_tags: [...vg.tags].sort().join(','),
          lv_count: String(vg.lvs.filter((l) => l.status.includes('VISIBLE')).length),
        });
        const rows = lvm
          .report('lvs', ['-a', '-o', 'lv_name,lv_uuid,lv_tags,seg_pe_ranges', vg.name], devs)
          .map((r) => sortTags(r, 'lv_tags'));
        // lvm (and leasehold's reader) merge segments that continue each other
        const expected = vg.lvs.flatMap((lv) =>
          mergeSegments(lv.segments).map((seg) => ({
            lv_name: lv.status.includes('VISIBLE') ? lv.name : `[${lv.name}]`,
            lv_uuid: formatUuid(lv.id),
            lv_tags: [...lv.tags].sort().join(','),
            seg_pe_ranges: seg.stripes
              .map(
                (a) =>
                  `${devs[Number(a.pvKey.slice(2))]}:${a.startPe}-${a.startPe + seg.extentCount / seg.stripes.length - 1}`,
              )
              .join(' '),
          })),
        );
        const key = (r: Record<string, string>): string => `${r.lv_uuid} ${r.seg_pe_ranges}`;
        expect(rows.map(key).sort()).toEqual(expected.map(key).sort());
        expect(rows.sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
          expected.sort((a, b) => key(a).localeCompare(key(b))),
        );
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
