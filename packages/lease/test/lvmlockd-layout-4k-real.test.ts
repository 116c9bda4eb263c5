/**
 * lvmlockd's layout on 4K-sector PVs, as the real lvmlockd writes it: lvmlock of 1 GiB, 8 MiB slots
 * (GLLK at 520 MiB, VGLK at 528 MiB, LVs from 536 MiB), 4096-byte leader sectors, and VGLK's value
 * block at sector 2002 of its slot (inside the 8 MiB area). Read with leasehold's codecs through a
 * LinearDisk over the 4K PV. Needs root, lvm2, lvm2-lockd and sanlock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinearDisk, type Disk } from '@leasehold/disk';
import { openDirectDisk } from '@leasehold/disk/direct';
import {
  FIRST_LV_SLOT,
  GL_RESOURCE_NAME,
  GL_SLOT,
  LVM_VALUE_BLOCK_VERSION,
  MIB,
  VG_RESOURCE_NAME,
  VG_SLOT,
  decodeLvmValueBlock,
  lockLvInitialBytes,
  lvSlotOfOffset,
  lvbInsideArea,
  lvbSectorOffset,
  lvmLockspaceName,
  lvmlockGeometry,
  lvmlockInitialSlots,
  lvmlockResourceArea,
  parseLvLockArgs,
  slotOffsetBytes,
  verifyLeader,
} from '@leasehold/ondisk';
import { LvmlockdCluster, type LvmlockdHost } from '@leasehold/testkit';

const VG = 'lhlayout4k';
const geometry = lvmlockGeometry(4096);

let cluster: LvmlockdCluster;
let h1: LvmlockdHost;
let pv: Disk;
let lockLv: LinearDisk;
let lv1: { uuid: string; offsetBytes: number };
let seqno: number;

beforeAll(async () => {
  cluster = LvmlockdCluster.create({ ioTimeoutSeconds: 1 });
  try {
    const disk = cluster.addDisk('pv4k', 2 * 1024 * MIB, 4096);
    h1 = await cluster.startHost(1);
    const vg = await cluster.vgcreateShared(h1, VG, disk);
    await h1.lvmOk(['lvcreate', '-an', '-n', 'lv1', '-L', '16m', VG]);
    const [uuid, lockArgs] = (await h1.lvmOk(['lvs', '--noheadings', '-o', 'lv_uuid,lv_lockargs', `${VG}/lv1`]))
      .trim()
      .split(/\s+/);
    lv1 = { uuid: uuid ?? '', offsetBytes: parseLvLockArgs(lockArgs ?? '').offsetBytes };
    seqno = Number((await h1.lvmOk(['vgs', '--noheadings', '-o', 'vg_seqno', VG])).trim());
    pv = await openDirectDisk(disk.device);
    lockLv = new LinearDisk(`${VG}/lvmlock`, [
      { disk: pv, offsetBytes: vg.peStartBytes, lengthBytes: lockLvInitialBytes(geometry) },
    ]);
  } catch (error) {
    await cluster.destroy().catch(() => undefined);
    throw error;
  }
}, 240_000);

afterAll(async () => {
  await pv?.close();
  await cluster?.destroy();
}, 120_000);

describe('the real lvmlockd layout on 4K sectors', () => {
  it('1 GiB lvmlock, 8 MiB slots, 4K leaders: lockspace, GLLK at 520 MiB, VGLK at 528 MiB, the first LV at 536 MiB', async () => {
    expect(lockLv.sectorSize).toBe(4096);
    expect(lockLv.sizeBytes).toBe(1024 * MIB);
    const lockspace = verifyLeader(await lockLv.read(0, 4096), 0, {
      kind: 'delta',
      spaceName: lvmLockspaceName(VG),
      sectorSize: 4096,
    });
    expect(lockspace).toMatchObject({ ownerId: 1n, resourceName: 'lvmlockd-host1' });
    expect(slotOffsetBytes(GL_SLOT, geometry)).toBe(520 * MIB);
    verifyLeader(await lockLv.read(slotOffsetBytes(GL_SLOT, geometry), 4096), 0, {
      kind: 'paxos',
      resourceName: GL_RESOURCE_NAME,
      sectorSize: 4096,
    });
    verifyLeader(await lockLv.read(slotOffsetBytes(VG_SLOT, geometry), 4096), 0, {
      kind: 'paxos',
      resourceName: VG_RESOURCE_NAME,
      sectorSize: 4096,
    });
    expect(lv1.offsetBytes).toBe(536 * MIB);
    expect(lvSlotOfOffset(lv1.offsetBytes, geometry, lockLv.sizeBytes)).toBe(FIRST_LV_SLOT);
  });

  it("VGLK's value block at sector 2002 of its 8 MiB slot carries the seqno", async () => {
    expect(lvbInsideArea(geometry)).toBe(true);
    const offset = lvbSectorOffset(slotOffsetBytes(VG_SLOT, geometry), geometry);
    expect(decodeLvmValueBlock(await lockLv.read(offset, 4096))).toEqual({
      version: LVM_VALUE_BLOCK_VERSION,
      flags: 0,
      rVersion: seqno,
    });
  });

  it("leasehold's images of the LV slot and of a free slot are byte for byte what lvmlockd wrote", async () => {
    expect(
      Buffer.compare(
        await lockLv.read(lv1.offsetBytes, geometry.alignBytes),
        lvmlockResourceArea(VG, lv1.uuid, geometry),
      ),
    ).toBe(0);
    const images = [
      ...lvmlockInitialSlots({
        vgName: VG,
        geometry,
        lockLvBytes: lockLv.sizeBytes,
        globalLock: 'enabled',
        ioTimeoutSeconds: 1,
      }),
    ];
    const last = images[images.length - 1];
    if (last === undefined) throw new Error('no slots');
    expect(last.slot).toBe(127);
    expect(Buffer.compare(await lockLv.read(last.offsetBytes, geometry.alignBytes), last.bytes)).toBe(0);
  });
});
