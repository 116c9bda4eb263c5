/**
 * leasehold beside the real lvmlockd in one shared VG, at the lease layer: a leasehold host joins
 * lvm_<vg> as host_id 2 through a LinearDisk over the PV (no device-mapper), the real lvmlockd host
 * sees it LIVE, leasehold takes VGLK exclusive with its value block and finds the VG seqno lvmlockd
 * left there, and the value leasehold writes at release is what lvmlockd reads at its next VG lock
 * (`lvmlockctl -i` shows it as the VG lock's version). Needs root, lvm2, lvm2-lockd, sanlock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinearDisk, type Disk } from '@leasehold/disk';
import { openDirectDisk } from '@leasehold/disk/direct';
import {
  LVM_VALUE_BLOCK_VERSION,
  VG_RESOURCE_NAME,
  VG_SLOT,
  decodeLvmValueBlock,
  encodeLvmValueBlock,
  lockLvInitialBytes,
  lvmLockspaceName,
  lvmlockGeometry,
  slotOffsetBytes,
} from '@leasehold/ondisk';
import {
  acquireDeltaLease,
  acquireLease,
  getValueBlock,
  releaseLease,
  runRenewalLoop,
  setValueBlock,
  type HeldDeltaLease,
  type PaxosContext,
} from '@leasehold/lease';
import { LvmlockdCluster, SANLOCK_WATCHDOG_FIRE_TIMEOUT_SECONDS, type LvmlockdHost } from '@leasehold/testkit';
import { realClock } from './paxos-sanlock-support.js';

const VG = 'lhvglkA';
const geometry = lvmlockGeometry(512);
const VGLK = {
  spaceName: lvmLockspaceName(VG),
  resourceName: VG_RESOURCE_NAME,
  offsetBytes: slotOffsetBytes(VG_SLOT, geometry),
};

let cluster: LvmlockdCluster;
let h1: LvmlockdHost;
let pv: Disk;
let lockLv: LinearDisk;
let delta: HeldDeltaLease;
const stopRenewals = new AbortController();
let renewals: Promise<unknown> = Promise.resolve();

async function vgSeqno(): Promise<number> {
  return Number((await h1.lvmOk(['vgs', '--noheadings', '-o', 'vg_seqno', VG])).trim());
}

function ctx(): PaxosContext {
  return { disk: lockLv, clock: realClock, random: { next: Math.random }, delta };
}

beforeAll(async () => {
  cluster = LvmlockdCluster.create({ ioTimeoutSeconds: 1 });
  try {
    const disk = cluster.addDisk('pv1', 1024 * 1024 * 1024);
    h1 = await cluster.startHost(1);
    const vg = await cluster.vgcreateShared(h1, VG, disk);
    await h1.lvmOk(['lvcreate', '-an', '-n', 'lv1', '-L', '8m', VG]);
    pv = await openDirectDisk(disk.device);
    // In a fresh VG lvmlock is extents 0..63, from pe_start.
    lockLv = new LinearDisk(`${VG}/lvmlock`, [
      { disk: pv, offsetBytes: vg.peStartBytes, lengthBytes: lockLvInitialBytes(geometry) },
    ]);
    delta = await acquireDeltaLease(lockLv, realClock, {
      spaceName: lvmLockspaceName(VG),
      hostId: 2,
      areaOffsetBytes: 0,
      hostName: 'leasehold-beside-lvmlockd',
      ioTimeoutSeconds: 1,
      watchdogFireTimeoutSeconds: SANLOCK_WATCHDOG_FIRE_TIMEOUT_SECONDS,
    });
    renewals = runRenewalLoop(delta, realClock, {}, stopRenewals.signal);
  } catch (error) {
    await cluster.destroy().catch(() => undefined);
    throw error;
  }
}, 240_000);

afterAll(async () => {
  stopRenewals.abort();
  await renewals.catch(() => undefined);
  if (delta !== undefined && !delta.released && !delta.lost) await delta.release().catch(() => undefined);
  await pv?.close();
  await cluster?.destroy();
}, 120_000);

describe('leasehold beside the real lvmlockd in lvm_<vg>', () => {
  it("the lvmlockd host's sanlock sees leasehold's host_id 2 LIVE", async () => {
    let hosts = '';
    const live = async (): Promise<boolean> => {
      hosts = (await h1.exec('/usr/sbin/sanlock', ['client', 'gets', '-h', '1'])).stdout;
      return /^h 2 gen \d+ timestamp \d+ LIVE/m.test(hosts);
    };
    const deadline = realClock.nowSeconds() + 30;
    while (!(await live()) && realClock.nowSeconds() < deadline) await realClock.sleep(1);
    expect(hosts).toMatch(/^h 2 gen \d+ timestamp \d+ LIVE/m);
  });

  it("VGLK's value block carries the seqno lvmlockd left; the value leasehold writes is what lvmlockd reads next", async () => {
    const seqno = await vgSeqno();
    let held = await acquireLease(ctx(), VGLK, { valueBlock: true, waitSeconds: 30 });
    expect(decodeLvmValueBlock(getValueBlock(held, 8))).toEqual({
      version: LVM_VALUE_BLOCK_VERSION,
      flags: 0,
      rVersion: seqno,
    });
    // While leasehold holds VGLK EX, a metadata change on the lvmlockd host cannot get the VG lock.
    const blocked = await h1.lvm(['lvcreate', '-an', '-n', 'lv2', '-L', '8m', VG]);
    expect(blocked.status).not.toBe(0);
    // lvm 2.03.16 retries for about 22 s ("Retrying ex lock on VG ..." three times), then rc 5.
    expect(blocked.status).toBe(5);
    expect(`${blocked.stdout}${blocked.stderr}`).toContain(`VG ${VG} lock failed: held by other host.`);
    expect((await h1.lvm(['lvs', `${VG}/lv2`])).status).not.toBe(0);
    held = setValueBlock(
      held,
      encodeLvmValueBlock({ version: LVM_VALUE_BLOCK_VERSION, flags: 0, rVersion: seqno + 1 }),
    );
    expect(await releaseLease(ctx(), held)).toBe('released');

    // lvmlockd reads the value at its next VG lock: it invalidates its cached copy, rereads the VG,
    // and reports the value as the VG lock's version.
    await h1.lvmOk(['lvs', VG]);
    const info = (await h1.exec('/usr/sbin/lvmlockctl', ['-i'])).stdout;
    expect(info).toMatch(new RegExp(`LK VG un ver ${seqno + 1}\\b`));
    // And lvmlockd's own next commit still works, and leaves its new seqno for leasehold.
    await h1.lvmOk(['lvcreate', '-an', '-n', 'lv3', '-L', '8m', VG]);
    const after = await vgSeqno();
    expect(after).toBeGreaterThan(seqno);
    const again = await acquireLease(ctx(), VGLK, { mode: 'shared', valueBlock: true, waitSeconds: 30 });
    expect(decodeLvmValueBlock(getValueBlock(again, 8)).rVersion).toBe(after);
    await releaseLease(ctx(), again);
    // lvm's own retries of the blocked VG lock take about 22 s, more on a loaded machine.
  }, 180_000);
});
