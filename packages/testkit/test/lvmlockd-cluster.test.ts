/**
 * The lvmlockd test support cleans up after itself: daemons and namespaces gone, loops detached,
 * files removed, also after a command in a host failed. Needs root, lvm2, lvm2-lockd and sanlock.
 */
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LvmlockdCluster } from '../src/index.js';

const alive = (pid: number | undefined): boolean => {
  if (pid === undefined) return false;
  try {
    // a zombie is not alive for our purpose
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
};

describe('LvmlockdCluster', () => {
  it('a host runs its own sanlock and lvmlockd in a private /run; destroy leaves nothing behind, even after a failed command', async () => {
    const cluster = LvmlockdCluster.create();
    let pids: Array<number | undefined> = [];
    try {
      const disk = cluster.addDisk('pv', 64 * 1024 * 1024);
      const host = await cluster.startHost(3);
      pids = [host.pids.holder, host.pids.sanlock, host.pids.lvmlockd];
      expect(pids.every(alive)).toBe(true);
      // the pid file the lvm tools look for exists in the host, not on the machine
      expect((await host.exec('/usr/bin/test', ['-e', '/run/lvmlockd.pid'])).status).toBe(0);
      expect(
        existsSync('/run/lvmlockd.pid') &&
          readFileSync('/run/lvmlockd.pid', 'utf8').trim() === String(host.pids.lvmlockd),
      ).toBe(false);
      // lvm sees exactly the cluster's PV; a bad command fails without breaking anything
      expect((await host.lvm(['pvs', disk.device])).status).not.toBe(0); // not a PV yet
      expect((await host.lvm(['vgchange', '--lock-start', 'no-such-vg'])).status).not.toBe(0);
      expect(cluster.attachedLoops).toContain(disk.device);
    } finally {
      await cluster.destroy();
    }
    expect(pids.some(alive)).toBe(false);
    expect(cluster.attachedLoops).toEqual([]);
    expect(existsSync(cluster.dir)).toBe(false);
    expect(execFileSync('losetup', ['-a'], { encoding: 'utf8' })).not.toContain(cluster.dir);
  });
});
