/**
 * Must show "The real lvm reads what leasehold writes": fast-check drives random command sequences
 * (pvcreate with one or two mdas, vgcreate on 1-4 PVs, lvcreate, lvextend across PVs, lvreduce,
 * lvrename, lvremove, vgextend, vgreduce) through the leasehold CLI on loop devices. After every step
 * the real vgs, lvs -a -o +lv_uuid,seg_pe_ranges and pvs print exactly what leasehold's own reports
 * print (every field: names, UUIDs, sizes, extents, segments, seqno, mda counts and free space), the
 * real vgck and pvck find nothing wrong, no lvm command warns, and the LVs are what the sequence says.
 *
 * CI runs a few short sequences (about two minutes); LVM_INTEROP_SEED / LVM_INTEROP_RUNS replay or
 * lengthen a run.
 */
import { writeSync, openSync, closeSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLvmLab, lvmNoise, maskActivation, type LvmLab } from './support/lvm-oracle.js';

const MIB = 1024 * 1024;
const DEVICE_SIZES_MIB = [96, 128, 160, 192] as const;
const VG = 'fcvg';
const EXTENT_MIB = 4;
const RUNS = Number(process.env.LVM_INTEROP_RUNS ?? 5);
const SEED = process.env.LVM_INTEROP_SEED === undefined ? undefined : Number(process.env.LVM_INTEROP_SEED);
const MAX_COMMANDS = Number(process.env.LVM_INTEROP_MAX_COMMANDS ?? 8);

interface PvState {
  device: string;
  inVg: boolean;
  peCount: number;
  allocated: number;
}

interface Model {
  pvs: Map<string, PvState>;
  /** LV name -> extents, as the sequence says they must be. */
  lvs: Map<string, number>;
  nextName: number;
}

let lab: LvmLab;

function must(result: { status: number; stdout: string; stderr: string }, what: string): string {
  if (result.status !== 0) throw new Error(`${what} failed (${result.status}):\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

function zeroDevice(device: string, sizeBytes: number): void {
  const fd = openSync(device, 'r+');
  try {
    const head = Buffer.alloc(2 * MIB);
    writeSync(fd, head, 0, head.length, 0);
    writeSync(fd, head, 0, head.length, sizeBytes - 2 * MIB);
  } finally {
    closeSync(fd);
  }
}

const REPORTS: Array<[string, string[]]> = [
  [
    'vgs',
    [
      '--reportformat',
      'json',
      '-o',
      '+vg_uuid,vg_seqno,vg_extent_count,vg_free_count,vg_mda_count,vg_mda_used_count,vg_mda_free,vg_mda_size,vg_lock_type,vg_lock_args',
    ],
  ],
  ['lvs', ['--reportformat', 'json', '-a', '-o', '+lv_uuid,seg_pe_ranges,seg_start_pe,seg_size_pe,devices,seg_count']],
  [
    'pvs',
    [
      '--reportformat',
      'json',
      '-o',
      '+pv_uuid,pe_start,dev_size,pv_pe_count,pv_pe_alloc_count,pv_mda_count,pv_mda_used_count,pv_mda_free',
      '--units',
      'b',
    ],
  ],
  ['lvs', ['-a', '-o', '+lv_uuid,seg_pe_ranges']],
];

interface JsonReport {
  report: Array<Record<string, Array<Record<string, string>>>>;
}

/** The real lvm and leasehold agree, lvm sees no damage, and the model's LVs are there. */
function verify(model: Model): void {
  const outputs: string[] = [];
  for (const [command, args] of REPORTS) {
    const real = lab.lvm(command, command === 'lvs' ? ['--driverloaded', 'n', ...args] : args);
    expect(real.status, `${command} ${args.join(' ')}: ${real.stderr}`).toBe(0);
    expect(lvmNoise(real.stderr), `${command} warned`).toBe('');
    const ours = lab.leasehold(command, args);
    expect(ours.stderr, `leasehold ${command}`).toBe('');
    expect(ours.status).toBe(0);
    expect(ours.stdout, `leasehold ${command} ${args.join(' ')}`).toBe(maskActivation(real.stdout));
    outputs.push(real.stdout);
  }
  const members = [...model.pvs.values()].filter((p) => p.inVg).map((p) => p.device);
  if (members.length > 0) {
    const vgck = lab.lvm('vgck', [VG]);
    expect(vgck.status, vgck.stderr).toBe(0);
    expect(lvmNoise(vgck.stderr)).toBe('');
    const pvck = lab.lvm('pvck', members);
    expect(pvck.status, pvck.stderr).toBe(0);
    expect(pvck.stdout + pvck.stderr).not.toMatch(/CHECK|WARNING|rror/);
  }
  // what the sequence says: exactly these LVs with these sizes
  const lvs = (JSON.parse(outputs[1] as string) as JsonReport).report[0]?.lv ?? [];
  const sizes = new Map<string, number>();
  for (const row of lvs)
    sizes.set(row.lv_name as string, (sizes.get(row.lv_name as string) ?? 0) + Number(row.seg_size_pe));
  expect(Object.fromEntries(sizes)).toEqual(Object.fromEntries(model.lvs));
  // per-PV allocation, for the next command's choices
  const pvs = (JSON.parse(outputs[2] as string) as JsonReport).report[0]?.pv ?? [];
  for (const row of pvs) {
    const state = model.pvs.get(row.pv_name as string);
    if (state === undefined) continue;
    state.inVg = row.vg_name === VG;
    state.peCount = Number(row.pv_pe_count);
    state.allocated = Number(row.pv_pe_alloc_count);
  }
}

function vgFree(model: Model): number {
  let free = 0;
  for (const pv of model.pvs.values()) if (pv.inVg) free += pv.peCount - pv.allocated;
  return free;
}

function pick<T>(items: readonly T[], seed: number): T | undefined {
  return items.length === 0 ? undefined : items[seed % items.length];
}

function lvNames(model: Model): string[] {
  return [...model.lvs.keys()].sort();
}

abstract class Step implements fc.Command<Model, LvmLab> {
  abstract check(m: Readonly<Model>): boolean;
  abstract apply(m: Model): void;
  abstract toString(): string;
  run(m: Model): void {
    this.apply(m);
    verify(m);
  }
}

class Lvcreate extends Step {
  constructor(
    readonly extents: number,
    readonly onPvSeed: number | undefined,
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return vgFree(m as Model) >= this.extents;
  }
  apply(m: Model): void {
    const name = `lv${m.nextName++}`;
    const args = ['-an', '-Zn', '-n', name, '-l', String(this.extents), VG];
    const fits = [...m.pvs.values()].filter((p) => p.inVg && p.peCount - p.allocated >= this.extents);
    const on = this.onPvSeed === undefined ? undefined : pick(fits, this.onPvSeed);
    must(lab.leasehold('lvcreate', on === undefined ? args : [...args, on.device]), `lvcreate ${args.join(' ')}`);
    m.lvs.set(name, this.extents);
  }
  toString(): string {
    return `lvcreate -l ${this.extents}${this.onPvSeed === undefined ? '' : ` on PV #${this.onPvSeed}`}`;
  }
}

class Lvextend extends Step {
  constructor(
    readonly lvSeed: number,
    readonly extents: number,
    readonly pvSeeds: number[],
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.lvs.size > 0 && vgFree(m as Model) >= this.extents;
  }
  apply(m: Model): void {
    const name = pick(lvNames(m), this.lvSeed) as string;
    // across PVs: name some PVs with room (in the given order) when they can hold the extension together
    const members = [...m.pvs.values()].filter((p) => p.inVg && p.peCount > p.allocated);
    const chosen = [...new Set(this.pvSeeds.map((s) => pick(members, s)).filter((p): p is PvState => p !== undefined))];
    const room = chosen.reduce((n, p) => n + p.peCount - p.allocated, 0);
    const pvArgs = room >= this.extents ? chosen.map((p) => p.device) : [];
    must(lab.leasehold('lvextend', ['-l', `+${this.extents}`, `${VG}/${name}`, ...pvArgs]), `lvextend ${name}`);
    m.lvs.set(name, (m.lvs.get(name) ?? 0) + this.extents);
  }
  toString(): string {
    return `lvextend LV #${this.lvSeed} -l +${this.extents} (PVs ${this.pvSeeds.join(',')})`;
  }
}

class Lvreduce extends Step {
  constructor(
    readonly lvSeed: number,
    readonly extents: number,
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return [...m.lvs.values()].some((size) => size > 1);
  }
  apply(m: Model): void {
    const candidates = lvNames(m).filter((n) => (m.lvs.get(n) ?? 0) > 1);
    const name = pick(candidates, this.lvSeed) as string;
    const size = m.lvs.get(name) as number;
    const by = 1 + (this.extents % (size - 1));
    must(lab.leasehold('lvreduce', ['-f', '-l', `-${by}`, `${VG}/${name}`]), `lvreduce ${name}`);
    m.lvs.set(name, size - by);
  }
  toString(): string {
    return `lvreduce LV #${this.lvSeed} by ~${this.extents}`;
  }
}

class Lvrename extends Step {
  constructor(readonly lvSeed: number) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.lvs.size > 0;
  }
  apply(m: Model): void {
    const name = pick(lvNames(m), this.lvSeed) as string;
    const renamed = `r${m.nextName++}`;
    must(lab.leasehold('lvrename', [VG, name, renamed]), `lvrename ${name}`);
    m.lvs.set(renamed, m.lvs.get(name) as number);
    m.lvs.delete(name);
  }
  toString(): string {
    return `lvrename LV #${this.lvSeed}`;
  }
}

class Lvremove extends Step {
  constructor(readonly lvSeed: number) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.lvs.size > 0;
  }
  apply(m: Model): void {
    const name = pick(lvNames(m), this.lvSeed) as string;
    must(lab.leasehold('lvremove', ['-f', `${VG}/${name}`]), `lvremove ${name}`);
    m.lvs.delete(name);
  }
  toString(): string {
    return `lvremove LV #${this.lvSeed}`;
  }
}

class Vgextend extends Step {
  constructor(
    readonly pvSeed: number,
    readonly mdas: 1 | 2,
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return [...m.pvs.values()].some((p) => !p.inVg);
  }
  apply(m: Model): void {
    const free = [...m.pvs.values()].filter((p) => !p.inVg);
    const pv = pick(free, this.pvSeed) as PvState;
    must(lab.leasehold('vgextend', ['--pvmetadatacopies', String(this.mdas), VG, pv.device]), `vgextend ${pv.device}`);
  }
  toString(): string {
    return `vgextend PV #${this.pvSeed} (${this.mdas} mdas)`;
  }
}

class Vgreduce extends Step {
  constructor(readonly pvSeed: number) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    const members = [...m.pvs.values()].filter((p) => p.inVg);
    return members.length > 1 && members.some((p) => p.allocated === 0);
  }
  apply(m: Model): void {
    const unused = [...m.pvs.values()].filter((p) => p.inVg && p.allocated === 0);
    const pv = pick(unused, this.pvSeed) as PvState;
    must(lab.leasehold('vgreduce', [VG, pv.device]), `vgreduce ${pv.device}`);
  }
  toString(): string {
    return `vgreduce PV #${this.pvSeed}`;
  }
}

const seed = fc.nat({ max: 1000 });
const steps = [
  fc
    .record({ extents: fc.integer({ min: 1, max: 30 }), on: fc.option(seed, { nil: undefined }) })
    .map(({ extents, on }) => new Lvcreate(extents, on)),
  fc
    .tuple(seed, fc.integer({ min: 1, max: 40 }), fc.array(seed, { maxLength: 3 }))
    .map(([l, e, p]) => new Lvextend(l, e, p)),
  fc.tuple(seed, seed).map(([l, e]) => new Lvreduce(l, e)),
  seed.map((l) => new Lvrename(l)),
  seed.map((l) => new Lvremove(l)),
  fc.tuple(seed, fc.constantFrom(1 as const, 2 as const)).map(([p, m]) => new Vgextend(p, m)),
  seed.map((p) => new Vgreduce(p)),
];

const setup = fc.record({
  /** mdas of the PVs vgcreate starts with (1-4 PVs). */
  mdas: fc.array(fc.constantFrom(1 as const, 2 as const), { minLength: 1, maxLength: 4 }),
  /** pvcreate first (true) or let vgcreate initialize the devices. */
  explicitPvcreate: fc.boolean(),
});

beforeAll(() => {
  lab = createLvmLab('lvminterop');
  for (const size of DEVICE_SIZES_MIB) lab.addLoop(size * MIB);
}, 60_000);

afterAll(() => lab?.cleanup());

describe('the real lvm reads what leasehold writes', () => {
  it('random command sequences through the leasehold CLI, checked by the real lvm after every step', () => {
    fc.assert(
      fc.property(setup, fc.commands(steps, { maxCommands: MAX_COMMANDS }), ({ mdas, explicitPvcreate }, commands) => {
        for (const [i, device] of lab.loops.entries()) zeroDevice(device, (DEVICE_SIZES_MIB[i] as number) * MIB);
        const model: Model = { pvs: new Map(), lvs: new Map(), nextName: 0 };
        for (const device of lab.loops) model.pvs.set(device, { device, inVg: false, peCount: 0, allocated: 0 });
        const first = lab.loops.slice(0, mdas.length);
        // one pvcreate per mda count (vgcreate --pvmetadatacopies applies to all it initializes)
        first.forEach((device, i) => {
          if (explicitPvcreate || mdas[i] === 2)
            must(lab.leasehold('pvcreate', ['--pvmetadatacopies', String(mdas[i]), device]), `pvcreate ${device}`);
        });
        must(lab.leasehold('vgcreate', ['-s', `${EXTENT_MIB}m`, VG, ...first]), 'vgcreate');
        verify(model);
        fc.modelRun(() => ({ model, real: lab }), commands);
      }),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: true },
    );
  }, 600_000);
});
