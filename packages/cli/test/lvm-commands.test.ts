/**
 * The changing commands say what lvm says: the same operations run by the real lvm on one set of
 * loop devices and by leasehold on an identical set print the same lines on stdout and exit the
 * same way (device names aside). vgcfgbackup writes lvm's file, each tool restores the other's
 * backup, and vgck --updatemetadata repairs a damaged mda so that lvm no longer warns.
 */
import { closeSync, fsyncSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLvmLab, lvmNoise, type LvmLab } from './support/lvm-oracle.js';

const MIB = 1024 * 1024;
let lab: LvmLab;
let lvmSet: string[];
let ourSet: string[];

beforeAll(() => {
  lab = createLvmLab('lvmcmds');
  lvmSet = [lab.addLoop(200 * MIB), lab.addLoop(120 * MIB), lab.addLoop(100 * MIB)];
  ourSet = [lab.addLoop(200 * MIB), lab.addLoop(120 * MIB), lab.addLoop(100 * MIB)];
});
afterAll(() => lab?.cleanup());

/**
 * Devices written as D0, D1 ...: longest paths first (/dev/loop13 before /dev/loop1); runs of spaces
 * folded, because report columns are padded to the device names, which differ in length between
 * the two sets.
 */
function unmap(set: string[], text: string): string {
  return [...set.entries()]
    .sort(([, a], [, b]) => b.length - a.length)
    .reduce((t, [i, d]) => t.replaceAll(d, `D${i}`), text)
    .replace(/ {2,}/g, ' ');
}

/** Runs one step with lvm on lvmSet and with leasehold on ourSet; devices are written as D0, D1 ... */
function both(command: string, args: string[]): void {
  const map = (set: string[]): string[] =>
    args.map((a) => a.replace(/^D(\d)$/, (_m, i: string) => set[Number(i)] as string));
  const lvmArgs =
    command.startsWith('lv') || command === 'vgremove' || command === 'vgreduce'
      ? ['--driverloaded', 'n', ...map(lvmSet)]
      : map(lvmSet);
  const real = lab.lvm(command, lvmArgs, { devices: lvmSet });
  const ours = lab.leasehold(command, map(ourSet), { devices: ourSet });
  const what = `${command} ${args.join(' ')}`;
  expect(ours.status, `${what}: ${ours.stderr}`).toBe(real.status);
  expect(unmap(ourSet, ours.stdout), what).toBe(unmap(lvmSet, real.stdout));
  if (real.status !== 0) expect(unmap(ourSet, ours.stderr), what).toBe(unmap(lvmSet, lvmNoise(real.stderr)) + '\n');
}

describe('the changing commands print what lvm prints', () => {
  it('pvcreate, vgcreate, lvcreate, lvextend, lvreduce, lvresize, lvrename, vgextend, vgreduce, vgrename, lvremove, vgremove, pvremove', () => {
    both('pvcreate', ['D0', 'D1']);
    both('pvcreate', ['--pvmetadatacopies', '2', 'D2']);
    both('vgcreate', ['-s', '2m', 'msgvg', 'D0', 'D1']);
    both('lvcreate', ['-an', '-Zn', '-n', 'one', '-L', '9m', 'msgvg']);
    both('lvcreate', ['-an', '-Zn', '-n', 'two', '-l', '40%FREE', 'msgvg']);
    both('lvcreate', ['-an', '-Zn', '-n', 'one', '-l', '1', 'msgvg']);
    both('lvcreate', ['-an', '-Zn', '-n', 'huge', '-l', '100000', 'msgvg']);
    both('lvextend', ['-L', '+101m', 'msgvg/one']);
    both('lvextend', ['-l', '+10', 'msgvg/two', 'D1']);
    both('lvreduce', ['-f', '-l', '-3', 'msgvg/one']);
    both('lvresize', ['-L', '64m', 'msgvg/one']);
    both('lvextend', ['-L', '64m', 'msgvg/one']);
    both('lvcreate', ['-an', '-Zn', '-n', 'str', '-i', '2', '-I', '64k', '-L', '30m', 'msgvg']);
    both('lvextend', ['-l', '+6', 'msgvg/str']);
    // the same requests placed the same extents (the real lvm reads both sets)
    const layout = (set: string[]): string =>
      unmap(
        set,
        lab.lvm(
          'lvs',
          ['--driverloaded', 'n', '-o', 'lv_name,lv_size,seg_pe_ranges,devices,stripes,stripe_size', 'msgvg'],
          { devices: set },
        ).stdout,
      );
    expect(layout(ourSet)).toBe(layout(lvmSet));
    both('lvremove', ['-f', 'msgvg/str']);
    both('lvrename', ['msgvg', 'two', 'three']);
    both('lvrename', ['msgvg/three', 'msgvg/one']);
    both('vgextend', ['msgvg', 'D2']);
    both('vgreduce', ['msgvg', 'D2']);
    both('vgreduce', ['msgvg', 'D0']);
    both('vgrename', ['msgvg', 'msgvg2']);
    both('vgs', ['nosuchvg']);
    both('lvremove', ['-f', 'msgvg2/one']);
    both('lvremove', ['-f', 'msgvg2/nosuch']);
    both('vgremove', ['-f', 'msgvg2']);
    both('pvremove', ['D0', 'D1', 'D2']);
    both('pvremove', ['D0']);
  });
});

describe('vgcfgbackup, vgcfgrestore and vgck --updatemetadata', () => {
  it("vgcfgbackup writes the file lvm writes; each tool restores the other's backup (seqno = file + 1)", () => {
    const set = [lab.addLoop(100 * MIB), lab.addLoop(100 * MIB)];
    expect(lab.leasehold('vgcreate', ['bakvg', ...set], { devices: set }).status).toBe(0);
    expect(lab.leasehold('lvcreate', ['-an', '-Zn', '-n', 'keep', '-l', '7', 'bakvg'], { devices: set }).status).toBe(
      0,
    );
    const ourFile = join(lab.dir, 'ours.vg');
    const lvmFile = join(lab.dir, 'lvm.vg');
    const ours = lab.leasehold('vgcfgbackup', ['-f', ourFile, 'bakvg'], { devices: set });
    expect(ours.stdout).toBe('  Volume group "bakvg" successfully backed up.\n');
    expect(lab.lvm('vgcfgbackup', ['-f', lvmFile, 'bakvg'], { devices: set }).status).toBe(0);
    const strip = (text: string): string =>
      text
        .replace(/^# Generated by .*\n/, '')
        .replace(/\d{10}\t# .*/g, 'TIME')
        .replace(/^description = .*\n/m, '');
    expect(strip(readFileSync(ourFile, 'utf8'))).toBe(strip(readFileSync(lvmFile, 'utf8')));

    expect(lab.leasehold('lvcreate', ['-an', '-Zn', '-n', 'gone', '-l', '3', 'bakvg'], { devices: set }).status).toBe(
      0,
    );
    const restored = lab.leasehold('vgcfgrestore', ['-f', lvmFile, 'bakvg'], { devices: set });
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toBe('  Restored volume group bakvg.\n');
    const seqno = (): string =>
      lab.lvm('vgs', ['--noheadings', '-o', 'vg_seqno,lv_count', 'bakvg'], { devices: set }).stdout.trim();
    const [fileSeqno] = /seqno = (\d+)/.exec(readFileSync(lvmFile, 'utf8'))?.slice(1) ?? [];
    expect(seqno().split(/\s+/)).toEqual([String(Number(fileSeqno) + 1), '1']);

    expect(lab.leasehold('lvcreate', ['-an', '-Zn', '-n', 'gone', '-l', '3', 'bakvg'], { devices: set }).status).toBe(
      0,
    );
    const real = lab.lvm('vgcfgrestore', ['--driverloaded', 'n', '-f', ourFile, 'bakvg'], { devices: set });
    expect(real.status, real.stderr).toBe(0);
    expect(seqno().split(/\s+/)).toEqual([String(Number(fileSeqno) + 1), '1']);
    expect(lab.leasehold('vgremove', ['-f', 'bakvg'], { devices: set }).status).toBe(0);
  });

  it('vgck reports a damaged mda, --updatemetadata repairs it, and lvm then sees no problem', () => {
    const device = lab.addLoop(100 * MIB);
    expect(
      lab.leasehold('pvcreate', ['-ff', '-y', '--pvmetadatacopies', '2', device], { devices: [device] }).status,
    ).toBe(0);
    expect(lab.leasehold('vgcreate', ['ckvg', device], { devices: [device] }).status).toBe(0);
    const handle = openSync(device, 'r+');
    try {
      const byte = Buffer.alloc(1);
      const at = 4096 + 48;
      readSync(handle, byte, 0, 1, at);
      byte[0] = (byte[0] as number) ^ 1;
      writeSync(handle, byte, 0, 1, at);
      fsyncSync(handle);
    } finally {
      closeSync(handle);
    }
    const check = lab.leasehold('vgck', ['ckvg'], { devices: [device] });
    expect(check.status).toBe(0);
    expect(check.stderr).toMatch(new RegExp(`wrong checksum [0-9a-f]+ in mda header on ${device} at 4096`));
    expect(lab.lvm('vgck', ['ckvg'], { devices: [device] }).stderr).toContain('bad metadata header');
    const repair = lab.leasehold('vgck', ['--updatemetadata', 'ckvg'], { devices: [device] });
    expect(repair.status, repair.stderr).toBe(0);
    const after = lab.lvm('vgck', ['ckvg'], { devices: [device] });
    expect(after.status).toBe(0);
    expect(lvmNoise(after.stderr)).toBe('');
    expect(lab.leasehold('vgck', ['ckvg'], { devices: [device] }).stderr).toBe('');
  });

  it('a VG restored onto blank devices: pvcreate --uuid --restorefile, then vgcfgrestore (lvm reads it)', () => {
    const source = lab.addLoop(100 * MIB);
    expect(lab.lvm('pvcreate', ['--metadatasize', '2m', source], { devices: [source] }).status).toBe(0);
    expect(lab.lvm('vgcreate', ['rstvg', source], { devices: [source] }).status).toBe(0);
    expect(
      lab.lvm('lvcreate', ['--driverloaded', 'n', '-an', '-Zn', '-n', 'data', '-l', '5', 'rstvg'], {
        devices: [source],
      }).status,
    ).toBe(0);
    const file = join(lab.dir, 'rst.vg');
    expect(lab.lvm('vgcfgbackup', ['-f', file, 'rstvg'], { devices: [source] }).status).toBe(0);
    const uuid = lab.lvm('pvs', ['--noheadings', '-o', 'pv_uuid', source], { devices: [source] }).stdout.trim();
    const blank = lab.addLoop(100 * MIB);
    const pv = lab.leasehold('pvcreate', ['-u', uuid, '--restorefile', file, blank], { devices: [blank] });
    expect(pv.status, pv.stderr).toBe(0);
    const restore = lab.leasehold('vgcfgrestore', ['-f', file, 'rstvg'], { devices: [blank] });
    expect(restore.status, restore.stderr).toBe(0);
    const real = lab.lvm('lvs', ['--driverloaded', 'n', '--noheadings', '-o', 'vg_name,lv_name,seg_pe_ranges'], {
      devices: [blank],
    });
    expect(real.status, real.stderr).toBe(0);
    expect(lvmNoise(real.stderr)).toBe('');
    expect(real.stdout.trim().split(/\s+/)).toEqual(['rstvg', 'data', `${blank}:0-4`]);
    // pe_start came from the file (a 2 MiB mda puts it at 3 MiB), not from pvcreate's default
    const pvs = lab.lvm('pvs', ['--noheadings', '-o', 'pe_start', '--units', 'm', blank], { devices: [blank] });
    expect(pvs.stdout.trim()).toBe('3.00m');
  });
});
