/**
 * lvmlockd's layout, as the real lvmlockd + sanlock write it, read by leasehold's own codecs through
 * a LinearDisk over the PV (no device-mapper, no lvmlock device): real `vgcreate --shared` on a loop
 * device, lock-start on two real hosts, lvcreate on one. Then lvm's own reports (lock_args, seqno,
 * UUIDs, the lock LV's extents) are checked against what leasehold finds on disk: lvm_<vg> with both
 * hosts, GLLK, VGLK whose value block carries the VG seqno, each LV's lease at its lock_args offset,
 * and #unused elsewhere; and against `sanlock direct dump` of the same bytes.
 * Needs root, lvm2, lvm2-lockd and sanlock (CI has them); fails loudly without them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinearDisk, type Disk } from '@leasehold/disk';
import { openDirectDisk } from '@leasehold/disk/direct';
import {
  FIRST_LV_SLOT,
  GL_RESOURCE_NAME,
  GL_SLOT,
  LVM_VALUE_BLOCK_VERSION,
  UNUSED_RESOURCE_NAME,
  VG_RESOURCE_NAME,
  VG_SLOT,
  checkLvmValueBlockVersion,
  decodeDeltaSector,
  decodeLvmValueBlock,
  lockLvInitialBytes,
  lvSlotCount,
  lvSlotOfOffset,
  lvbSectorOffset,
  lvmLockspaceName,
  lvmlockGeometry,
  lvmlockInitialSlots,
  lvmlockResourceArea,
  parseLvLockArgs,
  parseVgLockArgs,
  slotOffsetBytes,
  verifyLeader,
  type LeaderRecord,
} from '@leasehold/ondisk';
import { LvmlockdCluster, type LvmlockdHost } from '@leasehold/testkit';

const VG = 'lhlayoutA';
/** A second shared VG: it gets the disabled global lock, and the first VG's GLLK value block moves. */
const VG2 = 'lhlayoutB';
const GIB = 1024 * 1024 * 1024;
const geometry = lvmlockGeometry(512);

let cluster: LvmlockdCluster;
let h1: LvmlockdHost;
let h2: LvmlockdHost;
let pv: Disk;
let lockLv: LinearDisk;
let pv2: Disk;
let lockLv2: LinearDisk;
let report: {
  seqno: number;
  vgLockArgs: string;
  lockType: string;
  lvs: Array<{ name: string; uuid: string; lockArgs: string }>;
  lockLvExtents: { first: number; count: number };
  extentBytes: number;
};

interface JsonReport {
  report: Array<Record<string, Array<Record<string, string>>>>;
}

function rows(text: string, kind: 'vg' | 'lv'): Array<Record<string, string>> {
  const parsed = JSON.parse(text) as JsonReport;
  return parsed.report[0]?.[kind] ?? [];
}

async function paxosLeader(slot: number, resourceName?: string): Promise<LeaderRecord> {
  const offset = slotOffsetBytes(slot, geometry);
  const sector = await lockLv.read(offset, geometry.sectorSize);
  return verifyLeader(sector, 0, {
    kind: 'paxos',
    offsetBytes: offset,
    spaceName: lvmLockspaceName(VG),
    sectorSize: 512,
    ...(resourceName === undefined ? {} : { resourceName }),
  });
}

beforeAll(async () => {
  cluster = LvmlockdCluster.create({ ioTimeoutSeconds: 1 });
  try {
    const disk = cluster.addDisk('pv1', GIB);
    h1 = await cluster.startHost(1);
    h2 = await cluster.startHost(2);
    await cluster.vgcreateShared(h1, VG, disk);
    await h2.lockStart(VG);
    await h1.lvmOk(['lvcreate', '-n', 'lv1', '-L', '8m', VG]); // active: host 1 holds its lease EX
    await h1.lvmOk(['lvcreate', '-an', '-n', 'lv2', '-L', '8m', VG]); // slot written, not held
    await h2.lvmOk(['lvcreate', '-an', '-n', 'lv3', '-L', '8m', VG]); // from the other host: VGLK passes its seqno on
    const disk2 = cluster.addDisk('pv2', GIB / 2);
    const vg2 = await cluster.vgcreateShared(h1, VG2, disk2); // under GLLK ex: the global version moves
    pv2 = await openDirectDisk(disk2.device);
    lockLv2 = new LinearDisk(`${VG2}/lvmlock`, [
      { disk: pv2, offsetBytes: vg2.peStartBytes, lengthBytes: lockLvInitialBytes(geometry) },
    ]);

    const vgs = rows(
      await h1.lvmOk([
        'vgs',
        '--reportformat',
        'json',
        '--units',
        'b',
        '--nosuffix',
        '-o',
        'vg_name,vg_seqno,vg_lock_type,vg_lock_args,vg_extent_size',
        VG,
      ]),
      'vg',
    );
    const lvs = rows(
      await h1.lvmOk(['lvs', '-a', '--reportformat', 'json', '-o', 'lv_name,lv_uuid,lv_lockargs,seg_pe_ranges', VG]),
      'lv',
    );
    const vg = vgs[0] ?? {};
    const lockRow = lvs.find((row) => row['lv_name'] === '[lvmlock]');
    const range = /:(\d+)-(\d+)$/.exec(lockRow?.['seg_pe_ranges'] ?? '');
    if (range === null) throw new Error(`no extents for [lvmlock] in ${JSON.stringify(lvs)}`);
    report = {
      seqno: Number(vg['vg_seqno']),
      vgLockArgs: vg['vg_lock_args'] ?? '',
      lockType: vg['vg_lock_type'] ?? '',
      extentBytes: Number(vg['vg_extent_size']),
      lvs: lvs
        .filter((row) => !String(row['lv_name']).startsWith('['))
        .map((row) => ({ name: row['lv_name'] ?? '', uuid: row['lv_uuid'] ?? '', lockArgs: row['lv_lockargs'] ?? '' })),
      lockLvExtents: { first: Number(range[1]), count: Number(range[2]) - Number(range[1]) + 1 },
    };
    // lvmlock through the PV, at the lock LV's extents: no device-mapper, no lvmlock device.
    const peStart = Number(
      (await h1.lvmOk(['pvs', '--noheadings', '--nosuffix', '--units', 'b', '-o', 'pe_start', disk.device])).trim(),
    );
    pv = await openDirectDisk(disk.device);
    lockLv = new LinearDisk(`${VG}/lvmlock`, [
      {
        disk: pv,
        offsetBytes: peStart + report.lockLvExtents.first * report.extentBytes,
        lengthBytes: report.lockLvExtents.count * report.extentBytes,
      },
    ]);
  } catch (error) {
    await cluster.destroy().catch(() => undefined);
    throw error;
  }
}, 240_000);

afterAll(async () => {
  await pv2?.close();
  await pv?.close();
  await cluster?.destroy();
}, 120_000);

describe('the real lvmlockd layout, read by leasehold through a LinearDisk over the PV', () => {
  it('VG metadata: lock_type sanlock, lock_args 1.0.0:lvmlock, lvmlock of 256 MiB', () => {
    expect(report.lockType).toBe('sanlock');
    expect(parseVgLockArgs(report.vgLockArgs)).toMatchObject({ version: { major: 1 }, lockLvName: 'lvmlock' });
    expect(report.lockLvExtents.count * report.extentBytes).toBe(lockLvInitialBytes(geometry));
    expect(lockLv.sizeBytes).toBe(lockLvInitialBytes(geometry));
  });

  it('the lockspace lvm_<vg> at offset 0 has both hosts, with their host names and io_timeout 1', async () => {
    const area = await lockLv.read(0, 2 * geometry.sectorSize);
    for (const hostId of [1, 2]) {
      const offset = (hostId - 1) * geometry.sectorSize;
      const leader = verifyLeader(area, offset, {
        kind: 'delta',
        offsetBytes: offset,
        spaceName: lvmLockspaceName(VG),
        sectorSize: 512,
      });
      expect(leader).toMatchObject({
        ownerId: BigInt(hostId),
        resourceName: `lvmlockd-host${hostId}`,
        ioTimeoutSeconds: 1,
      });
      expect(leader.timestamp).not.toBe(0n);
      expect(decodeDeltaSector(area, offset).leader.spaceName).toBe(`lvm_${VG}`);
    }
  });

  it('GLLK at slot 65; VGLK at slot 66 with a value block carrying the VG seqno (version 0x0101)', async () => {
    await paxosLeader(GL_SLOT, GL_RESOURCE_NAME);
    await paxosLeader(VG_SLOT, VG_RESOURCE_NAME);
    const lvb = decodeLvmValueBlock(
      await lockLv.read(lvbSectorOffset(slotOffsetBytes(VG_SLOT, geometry), geometry), geometry.sectorSize),
    );
    checkLvmValueBlockVersion(lvb);
    expect(lvb).toEqual({ version: LVM_VALUE_BLOCK_VERSION, flags: 0, rVersion: report.seqno });
  });

  it("each LV's lease sits at the offset in its lock_args, named by its UUID; the active one is held by host 1", async () => {
    expect(report.lvs.map((lv) => lv.name).sort()).toEqual(['lv1', 'lv2', 'lv3']);
    const used = new Set<number>();
    for (const lv of report.lvs) {
      const { offsetBytes } = parseLvLockArgs(lv.lockArgs);
      const slot = lvSlotOfOffset(offsetBytes, geometry, lockLv.sizeBytes);
      used.add(slot);
      const leader = await paxosLeader(slot, lv.uuid);
      if (lv.name === 'lv1') {
        expect(leader.ownerId).toBe(1n);
        expect(leader.timestamp).not.toBe(0n);
        expect(leader.lver).toBeGreaterThan(0n);
      } else {
        expect(leader.timestamp).toBe(0n);
      }
    }
    expect(Math.min(...used)).toBe(FIRST_LV_SLOT);
    // every other LV slot, to the end of lvmlock, is #unused
    const lastSlot = FIRST_LV_SLOT + lvSlotCount(lockLv.sizeBytes, geometry) - 1;
    for (const slot of [FIRST_LV_SLOT + 3, FIRST_LV_SLOT + 50, lastSlot]) {
      expect(used.has(slot)).toBe(false);
      expect((await paxosLeader(slot, UNUSED_RESOURCE_NAME)).ownerId).toBe(0n);
    }
  });

  it("leasehold's initial image of lvmlock is byte for byte what lvmlockd wrote where nobody has written since", async () => {
    const images = [
      ...lvmlockInitialSlots({
        vgName: VG,
        geometry,
        lockLvBytes: lockLv.sizeBytes,
        globalLock: 'enabled',
        ioTimeoutSeconds: 1,
      }),
    ];
    expect(images.map((image) => image.slot).slice(0, 4)).toEqual([0, GL_SLOT, VG_SLOT, FIRST_LV_SLOT]);
    expect(images).toHaveLength(3 + lvSlotCount(lockLv.sizeBytes, geometry));
    // The lockspace: hosts 1 and 2 have joined since; every other sector is as initialized.
    const lockspace = images[0]?.bytes ?? new Uint8Array(0);
    const skip = 2 * geometry.sectorSize;
    expect(Buffer.compare((await lockLv.read(0, geometry.alignBytes)).subarray(skip), lockspace.subarray(skip))).toBe(
      0,
    );
    // Free LV slots: the whole area.
    const used = new Set(report.lvs.map((lv) => parseLvLockArgs(lv.lockArgs).offsetBytes));
    const free = images.filter((image) => image.resourceName === UNUSED_RESOURCE_NAME && !used.has(image.offsetBytes));
    for (const image of [free[0], free[free.length - 1]]) {
      if (image === undefined) throw new Error('no free slot');
      expect(Buffer.compare(await lockLv.read(image.offsetBytes, geometry.alignBytes), image.bytes)).toBe(0);
    }
    // A created-but-never-held LV's slot (lv2): its init image under its UUID, untouched since.
    const lv2 = report.lvs.find((lv) => lv.name === 'lv2');
    if (lv2 === undefined) throw new Error('no lv2');
    const lv2Offset = parseLvLockArgs(lv2.lockArgs).offsetBytes;
    expect(
      Buffer.compare(await lockLv.read(lv2Offset, geometry.alignBytes), lvmlockResourceArea(VG, lv2.uuid, geometry)),
    ).toBe(0);
  });

  it("a second shared VG gets _GLLK_disabled, untouched since vgcreate; the first VG's GLLK value block carries global version 1", async () => {
    const second = [
      ...lvmlockInitialSlots({
        vgName: VG2,
        geometry,
        lockLvBytes: lockLv2.sizeBytes,
        globalLock: 'disabled',
        ioTimeoutSeconds: 1,
      }),
    ];
    const gl = second.find((image) => image.slot === GL_SLOT);
    expect(gl?.resourceName).toBe('_GLLK_disabled');
    expect(
      Buffer.compare(
        await lockLv2.read(slotOffsetBytes(GL_SLOT, geometry), geometry.alignBytes),
        gl?.bytes ?? new Uint8Array(0),
      ),
    ).toBe(0);
    const vglk2 = await lockLv2.read(slotOffsetBytes(VG_SLOT, geometry), geometry.sectorSize);
    expect(
      verifyLeader(vglk2, 0, { kind: 'paxos', spaceName: lvmLockspaceName(VG2), resourceName: VG_RESOURCE_NAME })
        .resourceName,
    ).toBe(VG_RESOURCE_NAME);
    const glLvb = decodeLvmValueBlock(
      await lockLv.read(lvbSectorOffset(slotOffsetBytes(GL_SLOT, geometry), geometry), geometry.sectorSize),
    );
    expect(glLvb).toEqual({ version: LVM_VALUE_BLOCK_VERSION, flags: 0, rVersion: 1 });
  });

  it('sanlock direct dump of /dev/mapper/<vg>-lvmlock in a host shows the same names at the same offsets', async () => {
    const end = slotOffsetBytes(FIRST_LV_SLOT + 4, geometry);
    const dump = await h1.exec('/usr/sbin/sanlock', ['direct', 'dump', `/dev/mapper/${VG}-lvmlock:0:${end}`]);
    expect(dump.status, dump.stderr).toBe(0);
    const theirs = new Map<number, string>();
    for (const line of dump.stdout.split('\n')) {
      const match = /^(\d{8})\s+(\S+)\s+(\S+)/.exec(line);
      if (match !== null) theirs.set(Number(match[1]), match[3] ?? '');
    }
    const ours = new Map<number, string>();
    for (let offset = 0; offset < end; offset += geometry.alignBytes) {
      const sector = await lockLv.read(offset, geometry.sectorSize);
      const kind = offset === 0 ? 'delta' : 'paxos';
      try {
        ours.set(offset, verifyLeader(sector, 0, { kind, spaceName: lvmLockspaceName(VG) }).resourceName);
      } catch {
        // slots 1..64 are never written
      }
    }
    ours.set(
      geometry.sectorSize,
      verifyLeader(await lockLv.read(geometry.sectorSize, geometry.sectorSize), 0, { kind: 'delta' }).resourceName,
    );
    expect(new Map([...theirs].filter(([offset]) => ours.has(offset)))).toEqual(ours);
    expect(theirs.get(slotOffsetBytes(VG_SLOT, geometry))).toBe(VG_RESOURCE_NAME);
  });
});
