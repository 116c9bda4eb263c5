/**
 * The real lvm 2.03 as the oracle, on loop devices: leasehold reads what lvm writes (several PVs,
 * two mdas, a PV without mdas, multi-segment and striped LVs, a wrapped metadata buffer) and lvm
 * reads what leasehold writes; each commits on top of the other.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { formatUuid, lvExtentCount } from '@leasehold/lvm-format';
import { makeLoopSet, makeLvmSandbox, type LoopSet, type LvmSandbox } from '@leasehold/testkit';
import {
  addPv,
  allocateExtents,
  commitVg,
  newLogicalVolume,
  newVolumeGroup,
  pvcreate,
  scanDevices,
} from '@leasehold/volume';
import { identity, lhCommit, lhLvcreate, lhLvextend, lhRead, lhVg, peRanges, randomBytes } from './helpers.js';

const MIB = 1024 * 1024;
let lvm: LvmSandbox | undefined;
let loops: LoopSet | undefined;

afterEach(() => {
  loops?.cleanup();
  lvm?.cleanup();
  loops = undefined;
  lvm = undefined;
});

function setup(sizes: number[], sectorSize: 512 | 4096 = 512): { lvm: LvmSandbox; loops: LoopSet; devs: string[] } {
  lvm = makeLvmSandbox();
  loops = makeLoopSet(sizes, sectorSize);
  return { lvm, loops, devs: loops.devices };
}

function noWarnings(stderr: string): void {
  const lines = stderr
    .split('\n')
    .filter(
      (l) =>
        /WARNING|error|Error|CHECK/.test(l) &&
        !/Activation disabled|not zeroed|device-mapper|Failed to check for active/.test(l),
    );
  expect(lines).toEqual([]);
}

/** leasehold's view of a VG against lvm's reports, field by field. */
async function expectSameAsLvm(sandbox: LvmSandbox, devs: string[], vgName: string): Promise<void> {
  const read = await lhVg(devs, vgName);
  expect(read.warnings).toEqual([]);
  const [vgRow] = sandbox.report(
    'vgs',
    [
      '--units',
      's',
      '--nosuffix',
      '-o',
      'vg_name,vg_uuid,vg_seqno,vg_extent_size,vg_extent_count,vg_free_count,pv_count,lv_count',
      vgName,
    ],
    devs,
  );
  expect(vgRow).toBeDefined();
  expect(vgRow?.vg_uuid).toBe(formatUuid(read.vg.id));
  expect(Number(vgRow?.vg_seqno)).toBe(read.seqno);
  expect(Number(vgRow?.vg_extent_size)).toBe(read.vg.extentSizeSectors);
  expect(Number(vgRow?.pv_count)).toBe(read.vg.pvs.length);
  expect(Number(vgRow?.lv_count)).toBe(read.vg.lvs.filter((l) => l.status.includes('VISIBLE')).length);
  expect(Number(vgRow?.vg_extent_count)).toBe(read.vg.pvs.reduce((n, p) => n + p.peCount, 0));
  const pvRows = sandbox.report(
    'pvs',
    ['--units', 'b', '--nosuffix', '-o', 'pv_name,pv_uuid,pe_start,pv_pe_count,dev_size,pv_mda_count'],
    devs,
  );
  for (const pv of read.vg.pvs) {
    const dev = read.devices.get(pv.id);
    const row = pvRows.find((r) => r.pv_uuid === formatUuid(pv.id));
    expect(row?.pv_name).toBe(dev?.path);
    expect(Number(row?.pe_start)).toBe(pv.peStartSectors * 512);
    expect(Number(row?.pv_pe_count)).toBe(pv.peCount);
    expect(Number(row?.pv_mda_count)).toBe(dev?.label.metadataAreas.length);
  }
  const lvRows = sandbox.report(
    'lvs',
    ['-a', '-o', 'lv_name,lv_uuid,seg_start_pe,seg_size_pe,seg_pe_ranges,stripes', vgName],
    devs,
  );
  for (const lv of read.vg.lvs) {
    const rows = lvRows.filter((r) => r.lv_uuid === formatUuid(lv.id));
    expect(rows.map((r) => r.seg_pe_ranges)).toEqual(peRanges(read, lv.name));
    expect(rows.map((r) => Number(r.seg_size_pe)).reduce((a, b) => a + b, 0)).toBe(lvExtentCount(lv));
  }
  expect(lvRows.length).toBe(read.vg.lvs.reduce((n, l) => n + l.segments.length, 0));
}

describe('leasehold reads what lvm writes', () => {
  it('several PVs, 0/1/2 mdas, multi-segment and striped LVs; a leasehold commit on top is accepted, then lvm commits again', async () => {
    const { lvm: sb, devs } = setup([128 * MIB, 64 * MIB, 96 * MIB]);
    const [d0, d1, d2] = devs as [string, string, string];
    sb.ok('pvcreate', [d0], devs);
    sb.ok('pvcreate', ['--pvmetadatacopies', '2', d1], devs);
    sb.ok('pvcreate', ['--pvmetadatacopies', '0', d2], devs);
    sb.ok('vgcreate', ['-s', '4m', 'lhg', d0, d1, d2], devs);
    sb.ok('lvcreate', ['-an', '-Zn', '-n', 'a', '-l', '10', 'lhg'], devs);
    sb.ok('lvcreate', ['-an', '-Zn', '-n', 'b', '-l', '20', 'lhg'], devs);
    sb.ok('lvextend', ['-l', '+3', 'lhg/a'], devs);
    sb.ok('lvcreate', ['-an', '-Zn', '-i2', '-I64k', '-n', 's', '-l', '4', 'lhg'], devs);
    sb.ok('vgchange', ['--addtag', 'tagged', 'lhg'], devs);
    await expectSameAsLvm(sb, devs, 'lhg');
    const before = await lhVg(devs, 'lhg');
    // the committed text lvm wrote round-trips through the model byte for byte
    const scan = await scanDevices(devs);
    const mda = scan.pvs[0]?.mdas[0];
    expect(mda?.text).toBeDefined();
    // leasehold commits on top
    await lhLvcreate(devs, 'lhg', 'fromlh', 3);
    const after = await lhVg(devs, 'lhg');
    expect(after.seqno).toBe(before.seqno + 1);
    noWarnings(sb.ok('vgck', ['lhg'], devs).stderr);
    for (const d of [d0, d1]) expect(sb.ok('pvck', [d], devs).stderr).not.toMatch(/CHECK|error/i);
    await expectSameAsLvm(sb, devs, 'lhg');
    // lvm commits on top of leasehold's commit
    sb.ok('lvcreate', ['-an', '-Zn', '-n', 'againlvm', '-l', '2', 'lhg'], devs);
    const last = await lhVg(devs, 'lhg');
    expect(last.seqno).toBe(after.seqno + 1);
    expect(last.vg.lvs.map((l) => l.name)).toContain('againlvm');
    await expectSameAsLvm(sb, devs, 'lhg');
  });

  it('a wrapped metadata buffer (32 KiB mda) is read, and both keep committing across the wrap', async () => {
    const { lvm: sb, devs } = setup([64 * MIB]);
    sb.ok('pvcreate', ['--metadatasize', '32k', '--dataalignment', '4k', ...devs], devs);
    sb.ok('vgcreate', ['-s', '1m', 'lhw', ...devs], devs);
    let wrapped = false;
    for (let i = 1; i <= 14 && !wrapped; i++) {
      sb.ok('lvcreate', ['-an', '-Zn', '-n', `w${i}`, '-l', '1', 'lhw'], devs);
      const scan = await scanDevices(devs);
      const header = scan.pvs[0]?.mdas[0]?.header;
      if (header !== undefined && header.committed.offsetBytes + header.committed.sizeBytes > header.sizeBytes)
        wrapped = true;
    }
    expect(wrapped).toBe(true);
    await expectSameAsLvm(sb, devs, 'lhw');
    // leasehold commits several times on top (its copies wrap too); lvm reads each
    for (let i = 0; i < 4; i++) {
      await lhLvcreate(devs, 'lhw', `lh${i}`, 1);
      noWarnings(sb.ok('vgck', ['lhw'], devs).stderr);
    }
    await expectSameAsLvm(sb, devs, 'lhw');
  });
});

describe('pvcreate', () => {
  it('writes the same bytes as lvm pvcreate for the same UUID (1 and 2 mdas, custom sizes), and pvremove wipes the label as lvm does', async () => {
    const { lvm: sb, devs, loops: set } = setup([96 * MIB, 96 * MIB]);
    const [d0, d1] = devs as [string, string];
    const { readFileSync } = await import('node:fs');
    const cases: Array<{ args: string[]; opts: Parameters<typeof pvcreate>[1] }> = [
      { args: [], opts: { randomBytes } },
      { args: ['--pvmetadatacopies', '2'], opts: { randomBytes, metadataCopies: 2 } },
      {
        args: ['--metadatasize', '100k', '--dataalignment', '64k'],
        opts: { randomBytes, metadataSizeBytes: 100 * 1024, dataAlignmentBytes: 64 * 1024 },
      },
    ];
    for (const c of cases) {
      const uuid = 'Ko35iR-wV7y-VNtn-nhNN-CYDq-Rdk0-pz7eRU';
      // lvm sees only d0: d1 carries the same PV UUID (leasehold's copy)
      sb.run('pvremove', ['-ff', '-y', d0], [d0]);
      sb.ok('pvcreate', ['-ff', '-y', '--norestorefile', '--uuid', uuid, ...c.args, d0], [d0]);
      await pvcreate(d1, { ...c.opts, uuid });
      const a = readFileSync(set.images[0] as string);
      const b = readFileSync(set.images[1] as string);
      expect(Buffer.compare(a.subarray(0, 8192), b.subarray(0, 8192)), c.args.join(' ')).toBe(0);
      expect(Buffer.compare(a.subarray(a.length - 2 * MIB), b.subarray(b.length - 2 * MIB)), c.args.join(' ')).toBe(0);
    }
    const { pvremove } = await import('@leasehold/volume');
    sb.ok('pvremove', ['-y', d0], [d0]);
    await pvremove(d1);
    const a = readFileSync(set.images[0] as string);
    const b = readFileSync(set.images[1] as string);
    expect(Buffer.compare(a.subarray(0, 8192), b.subarray(0, 8192))).toBe(0);
    expect((await lhRead(devs)).orphans).toEqual([]);
  });
});

describe('damage, as lvm sees it', () => {
  it('a flipped text byte: lvm and leasehold both name the device and offset, neither writes', async () => {
    const { lvm: sb, devs, loops: set } = setup([32 * MIB]);
    sb.ok('pvcreate', devs, devs);
    sb.ok('vgcreate', ['lhd', ...devs], devs);
    const dev = devs[0] as string;
    const scan = await scanDevices(devs);
    const slot = scan.pvs[0]?.mdas[0]?.header?.committed;
    if (slot === undefined) throw new Error('no committed slot');
    const at = 4096 + slot.offsetBytes + 20;
    const { openSync, readSync, writeSync, closeSync, readFileSync } = await import('node:fs');
    const fd = openSync(set.images[0] as string, 'r+');
    const one = Buffer.alloc(1);
    readSync(fd, one, 0, 1, at);
    one[0] = (one[0] as number) ^ 1;
    writeSync(fd, one, 0, 1, at);
    closeSync(fd);
    const image = readFileSync(set.images[0] as string);
    const real = sb.run('vgs', ['lhd'], devs);
    expect(real.status).toBe(5);
    expect(real.stderr).toContain(`Checksum error on ${dev} at offset ${4096 + slot.offsetBytes}`);
    const result = await lhRead(devs);
    expect(result.vgs).toEqual([]);
    expect(result.warnings.join('\n')).toContain(`Checksum error on ${dev} at offset ${4096 + slot.offsetBytes}`);
    expect(Buffer.compare(readFileSync(set.images[0] as string), image)).toBe(0);
  });
});

describe('lvm reads what leasehold writes', () => {
  it('pvcreate/vgcreate/lvcreate/lvextend through the library; vgs/lvs/pvs/vgck/pvck agree; lvm commits on top', async () => {
    const { lvm: sb, devs } = setup([96 * MIB, 96 * MIB, 96 * MIB]);
    const [d0, d1, d2] = devs as [string, string, string];
    await pvcreate(d0, { randomBytes });
    await pvcreate(d1, { randomBytes, metadataCopies: 2 });
    await pvcreate(d2, { randomBytes, metadataCopies: 0 });
    for (const d of devs) expect(sb.ok('pvck', [d], devs).stderr).not.toMatch(/CHECK/);
    const pvRows = sb.report('pvs', ['-o', 'pv_name,vg_name,pv_attr'], devs);
    expect(pvRows.map((r) => r.pv_name).sort()).toEqual([...devs].sort());
    const scan = await scanDevices(devs);
    const vg = newVolumeGroup({ name: 'lhx', devices: [], randomBytes });
    for (const dev of scan.pvs) addPv(vg, dev);
    const devices = new Map(scan.pvs.map((d) => [d.label.pvId, d]));
    await commitVg(vg, devices, identity('vgcreate lhx'), { seqno: 1 });
    noWarnings(sb.ok('vgck', ['lhx'], devs).stderr);
    await lhLvcreate(devs, 'lhx', 'one', 30);
    await lhLvcreate(devs, 'lhx', 'two', 20);
    await lhLvextend(devs, 'lhx', 'one', 6, [d1]);
    await lhLvcreate(devs, 'lhx', 'str', 4, undefined, undefined, 2);
    noWarnings(sb.ok('vgck', ['lhx'], devs).stderr);
    for (const d of devs) expect(sb.ok('pvck', [d], devs).stderr).not.toMatch(/CHECK/);
    await expectSameAsLvm(sb, devs, 'lhx');
    const read = await lhVg(devs, 'lhx');
    sb.ok('lvextend', ['-l', '+2', 'lhx/two'], devs);
    const again = await lhVg(devs, 'lhx');
    expect(again.seqno).toBe(read.seqno + 1);
    await expectSameAsLvm(sb, devs, 'lhx');
  });

  it('on 4096-byte-sector devices too (512-byte structures written by read-modify-write)', async () => {
    const { lvm: sb, devs } = setup([64 * MIB, 64 * MIB], 4096);
    const [d0, d1] = devs as [string, string];
    await pvcreate(d0, { randomBytes, metadataCopies: 2 });
    sb.ok('pvcreate', [d1], devs);
    const scan = await scanDevices(devs);
    expect(scan.pvs.map((p) => p.sectorSize)).toEqual([4096, 4096]);
    const vg = newVolumeGroup({ name: 'lh4k', devices: [], randomBytes });
    for (const dev of scan.pvs) addPv(vg, dev);
    await commitVg(vg, new Map(scan.pvs.map((d) => [d.label.pvId, d])), identity('vgcreate lh4k'), { seqno: 1 });
    await lhLvcreate(devs, 'lh4k', 'big', 20);
    noWarnings(sb.ok('vgck', ['lh4k'], devs).stderr);
    for (const d of devs) expect(sb.ok('pvck', [d], devs).stderr).not.toMatch(/CHECK/);
    await expectSameAsLvm(sb, devs, 'lh4k');
    sb.ok('lvextend', ['-l', '+3', 'lh4k/big'], devs);
    await expectSameAsLvm(sb, devs, 'lh4k');
  });

  it('a shared (sanlock) VG: WRITE_LOCKED, lock_type/lock_args and the hidden lvmlock LV, as vgs --shared and lvs --shared show them', async () => {
    const { lvm: sb, devs } = setup([512 * MIB]);
    await pvcreate(devs[0] as string, { randomBytes });
    const scan = await scanDevices(devs);
    const vg = newVolumeGroup({ name: 'lhs', devices: scan.pvs, randomBytes });
    const devices = new Map(scan.pvs.map((d) => [d.label.pvId, d]));
    const lock = newLogicalVolume(vg, {
      name: 'lvmlock',
      randomBytes,
      hostName: 'h',
      nowSeconds: 1_800_000_000,
      visible: false,
    });
    lock.segments = allocateExtents({ vg, lvName: 'lvmlock', existing: [], extents: 64 });
    vg.lvs.push(lock);
    const lv1 = newLogicalVolume(vg, { name: 'lv1', randomBytes, hostName: 'h', nowSeconds: 1_800_000_000 });
    lv1.segments = allocateExtents({ vg, lvName: 'lv1', existing: [], extents: 2 });
    lv1.lockArgs = '1.0.0:70254592';
    vg.lvs.push(lv1);
    vg.lockType = 'sanlock';
    vg.lockArgs = '1.0.0:lvmlock';
    await commitVg(vg, devices, identity('vgcreate --shared lhs'), { seqno: 3 });
    const text = new TextDecoder().decode((await scanDevices(devs)).pvs[0]?.mdas[0]?.text);
    expect(text).toContain('status = ["RESIZEABLE", "READ"]\nflags = ["WRITE_LOCKED"]');
    expect(text).toContain('lvmlock {\nid = ');
    expect(sb.run('vgs', ['-o', 'vg_name', '--noheadings'], devs).stdout.trim()).toBe('');
    const [row] = sb.report('vgs', ['--shared', '-o', 'vg_name,vg_lock_type,vg_lock_args,vg_seqno'], devs);
    expect(row).toEqual({ vg_name: 'lhs', vg_lock_type: 'sanlock', vg_lock_args: '1.0.0:lvmlock', vg_seqno: '3' });
    const lvRows = sb.report('lvs', ['--shared', '-a', '-o', 'lv_name,lv_lock_args,seg_pe_ranges'], devs);
    // lvm's JSON key for lv_lock_args is lv_lockargs; visible LVs come first
    expect(lvRows.map((r) => [r.lv_name, r.lv_lockargs, r.seg_pe_ranges])).toEqual([
      ['lv1', '1.0.0:70254592', `${devs[0]}:64-65`],
      ['[lvmlock]', '', `${devs[0]}:0-63`],
    ]);
    const read = await lhVg(devs, 'lhs');
    expect(read.vg.status).toContain('WRITE');
    expect(read.vg.lvs.map((l) => [l.name, l.lockArgs])).toEqual([
      ['lv1', '1.0.0:70254592'],
      ['lvmlock', undefined],
    ]);
  });

  it('a PV leaving the VG (orphaned) and vgremove-style orphaning are seen by lvm as orphans', async () => {
    const { lvm: sb, devs } = setup([64 * MIB, 64 * MIB]);
    sb.ok('pvcreate', devs, devs);
    sb.ok('vgcreate', ['lhr', ...devs], devs);
    const read = await lhVg(devs, 'lhr');
    const leaving = read.vg.pvs[1];
    expect(leaving).toBeDefined();
    const device = read.devices.get(leaving?.id ?? '');
    read.vg.pvs = read.vg.pvs.slice(0, 1);
    await lhCommit(read, 'vgreduce lhr');
    const { orphanPv } = await import('@leasehold/volume');
    if (device === undefined) throw new Error('device');
    await orphanPv(device);
    noWarnings(sb.ok('vgck', ['lhr'], devs).stderr);
    const rows = sb.report('pvs', ['-o', 'pv_name,vg_name'], devs);
    expect(rows.find((r) => r.pv_name === device.path)?.vg_name).toBe('');
    const result = await lhRead(devs);
    expect(result.orphans.map((o) => o.path)).toEqual([device.path]);
  });
});
