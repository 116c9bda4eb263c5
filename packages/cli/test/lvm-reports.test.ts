/**
 * pvs, vgs and lvs against the real lvm on the same loop devices: a VG the real lvm built (two PVs,
 * one with two mdas, a multi-segment LV, a striped LV, an odd extent size) plus an orphan PV; every
 * report below must print byte for byte what lvm prints (lv_attr's state columns aside: lvm without
 * device-mapper prints XX where leasehold knows the LV is inactive).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLvmLab, lvmNoise, maskActivation, type LvmLab } from './support/lvm-oracle.js';

const MIB = 1024 * 1024;
let lab: LvmLab;

function ok(result: { status: number; stdout: string; stderr: string }, what: string): string {
  if (result.status !== 0) throw new Error(`${what} failed (${result.status}): ${result.stdout}${result.stderr}`);
  return result.stdout;
}

beforeAll(() => {
  lab = createLvmLab('lvmreports');
  const [a, b, c] = [lab.addLoop(600 * MIB), lab.addLoop(400 * MIB), lab.addLoop(64 * MIB)];
  ok(lab.lvm('pvcreate', [a as string]), 'pvcreate a');
  ok(lab.lvm('pvcreate', ['--pvmetadatacopies', '2', b as string]), 'pvcreate b');
  ok(lab.lvm('pvcreate', [c as string]), 'pvcreate c');
  ok(lab.lvm('vgcreate', ['-s', '2m', 'rep', a as string, b as string]), 'vgcreate');
  const create = (args: string[]): void =>
    void ok(lab.lvm('lvcreate', ['--driverloaded', 'n', '-an', '-Zn', ...args, 'rep']), `lvcreate ${args.join(' ')}`);
  create(['-n', 'small', '-L', '10m']);
  create(['-n', 'big', '-l', '120']);
  create(['-n', 'str', '-i', '2', '-I', '64k', '-L', '40m']);
  create(['-n', 'z-last', '-l', '3']);
  ok(lab.lvm('lvextend', ['--driverloaded', 'n', '-l', '+100', 'rep/small']), 'lvextend');
  ok(lab.lvm('lvremove', ['--driverloaded', 'n', '-y', 'rep/z-last']), 'lvremove');
  create(['-n', 'after', '-l', '5']);
  // a VG with a hidden LV, as a shared VG's lvmlock (lvm creates hidden LVs only internally: restore one)
  const d = lab.addLoop(100 * MIB);
  ok(lab.lvm('vgcreate', ['hid', d]), 'vgcreate hid');
  for (const name of ['zzz', 'lvmlock', 'aaa'])
    ok(lab.lvm('lvcreate', ['--driverloaded', 'n', '-an', '-Zn', '-n', name, '-l', '2', 'hid']), `lvcreate ${name}`);
  const file = join(lab.dir, 'hid.vg');
  ok(lab.lvm('vgcfgbackup', ['-f', file, 'hid']), 'vgcfgbackup');
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf('lvmlock {');
  const status = text.indexOf('status = ["READ", "WRITE", "VISIBLE"]', at);
  writeFileSync(
    file,
    text.slice(0, status) +
      'status = ["READ", "WRITE"]' +
      text.slice(status + 'status = ["READ", "WRITE", "VISIBLE"]'.length),
  );
  ok(lab.lvm('vgcfgrestore', ['--driverloaded', 'n', '-f', file, 'hid']), 'vgcfgrestore');
}, 120_000);

afterAll(() => lab?.cleanup());

const REPORTS: Array<[string, string[]]> = [
  ['pvs', []],
  ['vgs', []],
  ['lvs', []],
  ['lvs', ['-a', '-o', '+lv_uuid,seg_pe_ranges']],
  ['pvs', ['-o', 'pv_all']],
  ['vgs', ['-o', 'vg_all']],
  ['pvs', ['-o', 'pv_all,vg_all']],
  ['pvs', ['-o', '+pv_uuid,pe_start,pv_pe_count,pv_pe_alloc_count,pv_mda_count,pv_mda_free,dev_size', '--units', 'b']],
  [
    'vgs',
    [
      '-o',
      'vg_name,vg_uuid,vg_seqno,vg_extent_size,vg_extent_count,vg_free_count,vg_mda_count,vg_mda_free,vg_lock_type,vg_lock_args',
      '--units',
      's',
    ],
  ],
  [
    'lvs',
    [
      '-o',
      'lv_name,lv_uuid,seg_start_pe,seg_size_pe,seg_pe_ranges,stripes,stripe_size,devices,seg_count,segtype',
      '--reportformat',
      'json',
    ],
  ],
  ['lvs', ['-O', '-lv_size', '-o', 'lv_name,lv_size,lv_full_name,lv_path', '--units', 'k']],
  ['lvs', ['--noheadings', '--separator', ':', '-o', 'lv_name,vg_name,lv_size', '--units', 'm', '--nosuffix']],
  ['vgs', ['--noheadings', '-o', 'name,size,free,seqno']],
  ['pvs', ['--units', 'H', '-O', 'pv_free']],
  ['pvs', ['--units', 'R']],
  ['vgs', ['--reportformat', 'json', '-o', 'vg_all']],
  ['lvs', ['-o', 'lv_name,lv_size,seg_size,seg_start', '--units', 'h', 'rep/small', 'rep/big']],
  ['pvs', ['-o', 'pv_name,pv_size,pv_free,pv_used', '--units', 't']],
  ['lvs', ['-a', 'hid']],
  ['lvs', ['hid']],
  [
    'lvs',
    [
      '-a',
      '-O',
      '-lv_name',
      '-o',
      'lv_name,lv_attr,lv_role,lv_path,lv_dm_path,seg_pe_ranges',
      '--reportformat',
      'json',
      'hid',
    ],
  ],
  ['vgs', ['-o', '+lv_count,vg_seqno', 'hid']],
];

describe('reports agree with the real lvm', () => {
  it.each(REPORTS)('%s %s', (command, args) => {
    const extra = command === 'lvs' ? ['--driverloaded', 'n'] : [];
    const real = lab.lvm(command, [...extra, ...args]);
    expect(real.status).toBe(0);
    expect(lvmNoise(real.stderr)).toBe('');
    const ours = lab.leasehold(command, args);
    expect(ours.stderr).toBe('');
    expect(ours.status).toBe(0);
    expect(ours.stdout).toBe(maskActivation(real.stdout));
  });

  it('names that match nothing: the same messages and exit status 5, the rest still printed', () => {
    for (const [command, args] of [
      ['vgs', ['rep', 'nope']],
      ['lvs', ['rep/nope', 'rep/big']],
      ['lvs', ['nope']],
    ] as Array<[string, string[]]>) {
      const real = lab.lvm(command, command === 'lvs' ? ['--driverloaded', 'n', ...args] : args);
      const ours = lab.leasehold(command, args);
      expect(real.status).toBe(5);
      expect(ours.status).toBe(5);
      expect(ours.stdout).toBe(maskActivation(real.stdout));
      expect(ours.stderr).toBe(lvmNoise(real.stderr) + '\n');
    }
  });

  it('a field lvm does not know is refused as lvm refuses it', () => {
    const ours = lab.leasehold('lvs', ['-o', 'no_such_field']);
    expect(ours.status).toBe(5);
    expect(ours.stderr).toContain('Unrecognised field: no_such_field');
  });

  it('an unknown option is a command-line error (exit 3)', () => {
    const ours = lab.leasehold('vgs', ['--bogus']);
    const real = lab.lvm('vgs', ['--bogus']);
    expect(real.status).toBe(3);
    expect(ours.status).toBe(3);
    expect(ours.stderr).toBe(real.stderr);
  });
});
