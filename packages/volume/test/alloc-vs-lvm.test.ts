/**
 * Placement: random sequences of lvcreate / lvextend / lvreduce / lvremove, some restricted to PVs
 * named on the command line, run by the real lvm on one set of loop devices and by leasehold's
 * allocator on an identical set; every LV must get the same PE ranges on the same PVs.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLoopSet, makeLvmSandbox, type LoopSet, type LvmSandbox } from '@leasehold/testkit';
import { reduceExtents } from '@leasehold/volume';
import { lhCommit, lhLvcreate, lhLvextend, lhVg, peRanges } from './helpers.js';

const MIB = 1024 * 1024;
const SIZES = [16 * MIB, 12 * MIB, 20 * MIB];
const VG = 'lhalloc';
/** Each run is ~10 lvm commands; more runs: LH_ALLOC_RUNS=200. */
const RUNS = Number(process.env.LH_ALLOC_RUNS ?? 15);

type Op =
  | { kind: 'create'; extents: number; pvs: number[]; stripes: 1 | 2 }
  | { kind: 'extend'; lv: number; extents: number; pvs: number[] }
  | { kind: 'reduce'; lv: number; extents: number }
  | { kind: 'remove'; lv: number };

const pvSubset = fc
  .subarray([0, 1, 2], { minLength: 0, maxLength: 3 })
  .chain((s) => fc.shuffledSubarray(s, { minLength: s.length, maxLength: s.length }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('create' as const),
    extents: fc.integer({ min: 1, max: 14 }),
    pvs: pvSubset,
    stripes: fc.constantFrom(1 as const, 1 as const, 2 as const),
  }),
  fc.record({
    kind: fc.constant('extend' as const),
    lv: fc.nat(5),
    extents: fc.integer({ min: 1, max: 10 }),
    pvs: pvSubset,
  }),
  fc.record({ kind: fc.constant('reduce' as const), lv: fc.nat(5), extents: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('remove' as const), lv: fc.nat(5) }),
);

let lvm: LvmSandbox;
let a: LoopSet;
let b: LoopSet;

beforeAll(() => {
  lvm = makeLvmSandbox();
  a = makeLoopSet(SIZES);
  b = makeLoopSet(SIZES);
});

afterAll(() => {
  a?.cleanup();
  b?.cleanup();
  lvm?.cleanup();
});

function fresh(set: LoopSet): void {
  const devs = set.devices;
  lvm.run('vgremove', ['-y', VG], devs);
  lvm.run('pvremove', ['-y', ...devs], devs);
  lvm.ok('pvcreate', ['-y', ...devs], devs);
  lvm.ok('vgcreate', ['-s', '1m', VG, ...devs], devs);
}

/** lvs' ranges with device paths replaced by the PV's index in its set. */
function normalise(ranges: string[], devs: readonly string[]): string[] {
  return ranges.map((r) => r.replace(/\/dev\/loop\d+/g, (m) => `pv${devs.indexOf(m)}`));
}

describe('allocation matches the real lvm', () => {
  it('random lvcreate/lvextend/lvreduce/lvremove sequences give the same PE ranges', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 3, maxLength: 9 }), async (ops) => {
        fresh(a);
        fresh(b);
        const names: string[] = [];
        let counter = 0;
        for (const op of ops) {
          if (op.kind === 'create') {
            const name = `l${counter++}`;
            const lvmPvs = op.pvs.map((i) => a.devices[i] as string);
            const lhPvs = op.pvs.map((i) => b.devices[i] as string);
            const stripeArgs = op.stripes === 2 ? ['-i2', '-I64k'] : [];
            const extents = op.stripes === 2 ? op.extents * 2 : op.extents;
            const r = lvm.run(
              'lvcreate',
              ['-an', '-Zn', ...stripeArgs, '-n', name, '-l', String(extents), VG, ...lvmPvs],
              a.devices,
            );
            let lhOk = true;
            try {
              await lhLvcreate(
                b.devices,
                VG,
                name,
                extents,
                lhPvs.length > 0 ? lhPvs : undefined,
                undefined,
                op.stripes,
              );
            } catch (error) {
              lhOk = false;
              expect((error as { code?: string }).code).toBe('INSUFFICIENT_FREE_EXTENTS');
            }
            expect(lhOk).toBe(r.status === 0);
            if (r.status === 0) names.push(name);
          } else if (op.kind === 'extend') {
            const name = names[op.lv % Math.max(names.length, 1)];
            if (name === undefined) continue;
            const read = await lhVg(b.devices, VG);
            const stripes = read.vg.lvs.find((l) => l.name === name)?.segments.at(-1)?.stripes.length ?? 1;
            const extents = op.extents * stripes;
            const r = lvm.run(
              'lvextend',
              ['-l', `+${extents}`, `${VG}/${name}`, ...op.pvs.map((i) => a.devices[i] as string)],
              a.devices,
            );
            let lhOk = true;
            try {
              const lhPvs = op.pvs.map((i) => b.devices[i] as string);
              await lhLvextend(b.devices, VG, name, extents, lhPvs.length > 0 ? lhPvs : undefined);
            } catch (error) {
              lhOk = false;
              expect((error as { code?: string }).code).toBe('INSUFFICIENT_FREE_EXTENTS');
            }
            expect(lhOk).toBe(r.status === 0);
          } else if (op.kind === 'reduce') {
            const name = names[op.lv % Math.max(names.length, 1)];
            if (name === undefined) continue;
            const read = await lhVg(b.devices, VG);
            const lv = read.vg.lvs.find((l) => l.name === name);
            if (lv === undefined) continue;
            const stripes = lv.segments.at(-1)?.stripes.length ?? 1;
            const total = lv.segments.reduce((n, s) => n + s.extentCount, 0);
            const extents = op.extents * stripes;
            if (extents >= total) continue;
            lvm.ok('lvreduce', ['-f', '-l', `-${extents}`, `${VG}/${name}`], a.devices);
            lv.segments = reduceExtents(lv.segments, extents, name);
            await lhCommit(read, `lvreduce -l -${extents} ${VG}/${name}`);
          } else {
            const name = names[op.lv % Math.max(names.length, 1)];
            if (name === undefined) continue;
            lvm.ok('lvremove', ['-f', `${VG}/${name}`], a.devices);
            const read = await lhVg(b.devices, VG);
            read.vg.lvs = read.vg.lvs.filter((l) => l.name !== name);
            await lhCommit(read, `lvremove ${VG}/${name}`);
            names.splice(names.indexOf(name), 1);
          }
          // compare every LV after every step
          const lhRead = await lhVg(b.devices, VG);
          const rows = lvm.report('lvs', ['-o', 'lv_name,seg_pe_ranges', VG], a.devices);
          for (const name of names) {
            const expected = normalise(
              rows.filter((row) => row.lv_name === name).map((row) => row.seg_pe_ranges ?? ''),
              a.devices,
            );
            expect(normalise(peRanges(lhRead, name), b.devices), `LV ${name} after ${JSON.stringify(op)}`).toEqual(
              expected,
            );
          }
        }
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
