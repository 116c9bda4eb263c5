/**
 * The local lock excludes the real lvm (same flock files), and the whole-VG operations agree with
 * lvm: vgcfgbackup text that lvm restores, vgcfgrestore of lvm's own backup (file seqno + 1), and
 * vgremove leaving orphans lvm accepts.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LVM_BINARY, makeLoopSet, makeLvmSandbox, type LoopSet, type LvmSandbox } from '@leasehold/testkit';
import { backupText, readVolumes, removeVg, restoreVg, takeFileLock, vgLockName } from '@leasehold/volume';
import { identity, lhLvcreate, lhRead, lhVg } from './helpers.js';

const MIB = 1024 * 1024;
let lvm: LvmSandbox | undefined;
let loops: LoopSet | undefined;

afterEach(() => {
  loops?.cleanup();
  lvm?.cleanup();
  loops = undefined;
  lvm = undefined;
});

describe('local lock', () => {
  it("while leasehold holds V_<vg>, lvm's lvcreate waits; it finishes once the lock is released", async () => {
    lvm = makeLvmSandbox();
    loops = makeLoopSet([32 * MIB]);
    const devs = loops.devices;
    const sb = lvm;
    sb.ok('pvcreate', devs, devs);
    sb.ok('vgcreate', ['lhl', ...devs], devs);
    const lock = await takeFileLock(vgLockName('lhl'), { lockingDir: sb.lockingDir });
    const child = spawn(
      LVM_BINARY,
      ['lvcreate', '--devices', devs.join(','), '--driverloaded', 'n', '-an', '-Zn', '-n', 'waited', '-l', '1', 'lhl'],
      { env: sb.env, stdio: 'ignore' },
    );
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    const early = await Promise.race([exited, new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), 2500))]);
    expect(early).toBe('waiting');
    expect((await lhVg(devs, 'lhl')).vg.lvs).toEqual([]);
    lock.release();
    expect(await exited).toBe(0);
    expect((await lhVg(devs, 'lhl')).vg.lvs.map((l) => l.name)).toEqual(['waited']);
  });

  it('two leasehold holders of one VG lock exclude each other; different VGs do not', async () => {
    lvm = makeLvmSandbox();
    const dir = lvm.lockingDir;
    const first = await takeFileLock(vgLockName('a'), { lockingDir: dir });
    await expect(takeFileLock(vgLockName('a'), { lockingDir: dir, waitSeconds: 0.3 })).rejects.toMatchObject({
      code: 'LOCK_TIMEOUT',
    });
    const other = await takeFileLock(vgLockName('b'), { lockingDir: dir, waitSeconds: 0.3 });
    other.release();
    first.release();
    const again = await takeFileLock(vgLockName('a'), { lockingDir: dir, waitSeconds: 0.3 });
    again.release();
  });
});

describe('backup, restore and remove', () => {
  it("leasehold's vgcfgbackup file is restored by lvm; lvm's backup is restored by leasehold with file seqno + 1", async () => {
    lvm = makeLvmSandbox();
    loops = makeLoopSet([48 * MIB, 48 * MIB]);
    const devs = loops.devices;
    const sb = lvm;
    sb.ok('pvcreate', devs, devs);
    sb.ok('vgcreate', ['lhb', ...devs], devs);
    await lhLvcreate(devs, 'lhb', 'keep', 4);
    const read = await lhVg(devs, 'lhb');
    const ours = join(sb.dir, 'lh-backup.vg');
    writeFileSync(ours, backupText(read, identity('vgcfgbackup -f lh-backup.vg lhb')));
    // lvm's own backup of the same state agrees on the VG
    const theirs = join(sb.dir, 'lvm-backup.vg');
    sb.ok('vgcfgbackup', ['-f', theirs, 'lhb'], devs);
    const seqAtBackup = read.seqno;
    await lhLvcreate(devs, 'lhb', 'later', 2);
    await lhLvcreate(devs, 'lhb', 'later2', 2);
    // lvm restores leasehold's file: seqno file + 1, the later LVs gone
    sb.ok('vgcfgrestore', ['-f', ours, 'lhb'], devs);
    const afterLvm = await lhVg(devs, 'lhb');
    expect(afterLvm.seqno).toBe(seqAtBackup + 1);
    expect(afterLvm.vg.lvs.map((l) => l.name)).toEqual(['keep']);
    // leasehold restores lvm's file the same way
    await lhLvcreate(devs, 'lhb', 'again', 1);
    const state = await readVolumes({ devices: devs });
    await restoreVg(readFileSync(theirs, 'utf8'), 'lhb', state.scan, identity('vgcfgrestore -f lvm-backup.vg lhb'));
    const afterLh = await lhVg(devs, 'lhb');
    expect(afterLh.seqno).toBe(seqAtBackup + 1);
    expect(afterLh.vg.lvs.map((l) => l.name)).toEqual(['keep']);
    expect(sb.run('vgck', ['lhb'], devs).status).toBe(0);
    // vgremove through leasehold: lvm sees two orphan PVs and can use them again
    await removeVg(afterLh);
    const rows = sb.report('pvs', ['-o', 'pv_name,vg_name,pv_attr'], devs);
    expect(rows.map((r) => [r.vg_name, r.pv_attr])).toEqual([
      ['', '---'],
      ['', '---'],
    ]);
    expect((await lhRead(devs)).orphans.length).toBe(2);
    sb.ok('vgcreate', ['lhb2', ...devs], devs);
  });
});
