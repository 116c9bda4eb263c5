/**
 * Damaged labels, mda headers and texts, older copies, missing and duplicate PVs: each reported
 * with the device, the offset and what is wrong, in lvm's kind of words; a read never writes; the
 * next commit repairs what lvm's next write repairs.
 */
import { describe, expect, it } from 'vitest';
import { type Disk, DiskError, FaultyDisk, MemoryDisk } from '@leasehold/disk';
import { encodeMdaHeader, lvmCrc, type MdaHeader } from '@leasehold/lvm-format';
import {
  addPv,
  allocateExtents,
  checkWritable,
  commitChanges,
  commitVg,
  type DeviceOpener,
  findVg,
  newLogicalVolume,
  newVolumeGroup,
  pvcreate,
  readAllVgs,
  scanDevices,
  VolumeError,
} from '@leasehold/volume';
import { identity, randomBytes } from './helpers.js';

const MIB = 1024 * 1024;

/** In-memory devices by path; read-only opens refuse writes, so a read provably never writes. */
function memoryDevices(
  count: number,
  sizeBytes = 32 * MIB,
): { disks: Map<string, MemoryDisk>; opener: DeviceOpener; paths: string[] } {
  const disks = new Map<string, MemoryDisk>();
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = `/dev/mem${i}`;
    disks.set(path, new MemoryDisk({ sizeBytes, name: path }));
    paths.push(path);
  }
  const opener: DeviceOpener = {
    async open(path, options) {
      const disk = disks.get(path);
      if (disk === undefined) throw new VolumeError('DEVICE_OPEN', `Cannot open ${path}: no such device`, path);
      const view: Disk = {
        path,
        sectorSize: disk.sectorSize,
        sizeBytes: disk.sizeBytes,
        read: (o, l) => disk.read(o, l),
        write: options.write
          ? (o, d) => disk.write(o, d)
          : () => Promise.reject(new Error(`read-only open of ${path} tried to write`)),
        close: async () => undefined,
      };
      return view;
    },
  };
  return { disks, opener, paths };
}

async function setup(): Promise<ReturnType<typeof memoryDevices>> {
  const env = memoryDevices(3);
  const [p0, p1] = env.paths as [string, string];
  await pvcreate(p0, { randomBytes, opener: env.opener, metadataCopies: 2 });
  await pvcreate(p1, { randomBytes, opener: env.opener });
  const scan = await scanDevices([p0, p1], { opener: env.opener });
  const vg = newVolumeGroup({ name: 'vgd', devices: [], randomBytes });
  for (const d of scan.pvs) addPv(vg, d);
  await commitVg(vg, new Map(scan.pvs.map((d) => [d.label.pvId, d])), identity('vgcreate vgd'), {
    seqno: 1,
    opener: env.opener,
  });
  const read = findVg(readAllVgs(await scanDevices(env.paths, { opener: env.opener })), 'vgd');
  const lv = newLogicalVolume(read.vg, { name: 'lv1', randomBytes, hostName: 'h', nowSeconds: 1_800_000_000 });
  lv.segments = allocateExtents({ vg: read.vg, lvName: 'lv1', existing: [], extents: 3 });
  read.vg.lvs.push(lv);
  await commitChanges(read, identity('lvcreate'), { opener: env.opener });
  return env;
}

function snapshots(env: ReturnType<typeof memoryDevices>): Uint8Array[] {
  return [...env.disks.values()].map((d) => d.snapshot());
}

async function readBack(env: ReturnType<typeof memoryDevices>): Promise<ReturnType<typeof readAllVgs>> {
  const before = snapshots(env);
  const result = readAllVgs(await scanDevices(env.paths, { opener: env.opener }));
  const after = snapshots(env);
  after.forEach((bytes, i) => {
    expect(Buffer.compare(Buffer.from(bytes), Buffer.from(before[i] as Uint8Array))).toBe(0);
  });
  return result;
}

function headerOf(disk: MemoryDisk, at: number): MdaHeader {
  const dv = new DataView(disk.snapshot(at, 512).buffer);
  return {
    startBytes: Number(dv.getBigUint64(24, true)),
    sizeBytes: Number(dv.getBigUint64(32, true)),
    committed: {
      offsetBytes: Number(dv.getBigUint64(40, true)),
      sizeBytes: Number(dv.getBigUint64(48, true)),
      checksum: dv.getUint32(56, true),
      flags: dv.getUint32(60, true),
    },
    precommitted: { offsetBytes: 0, sizeBytes: 0, checksum: 0, flags: 0 },
  };
}

function flip(disk: MemoryDisk, at: number): void {
  const b = disk.snapshot(at, 1);
  disk.overwrite(at, new Uint8Array([(b[0] as number) ^ 0x01]));
}

describe('damage is reported with device, offset and what is wrong; reads never write', () => {
  it('a flipped text byte in one mda: checksum error named, VG served from the other copies, repaired by the next commit', async () => {
    const env = await setup();
    const disk = env.disks.get('/dev/mem0') as MemoryDisk;
    const h = headerOf(disk, 4096);
    flip(disk, 4096 + h.committed.offsetBytes + 20);
    const result = await readBack(env);
    const read = findVg(result, 'vgd');
    expect(read.seqno).toBe(2);
    expect(read.needsRepair).toBe(true);
    expect(read.warnings.join('\n')).toContain(
      `Checksum error on /dev/mem0 at offset ${4096 + h.committed.offsetBytes}`,
    );
    expect(read.warnings.join('\n')).toContain('bad metadata text on /dev/mem0 in mda1');
    await commitChanges(read, identity('vgck --updatemetadata vgd'), { opener: env.opener });
    const repaired = findVg(await readBack(env), 'vgd');
    expect(repaired.seqno).toBe(3);
    expect(repaired.warnings).toEqual([]);
    expect(repaired.needsRepair).toBe(false);
  });

  it('a flipped mda header byte: wrong checksum in mda header on DEV at OFFSET', async () => {
    const env = await setup();
    flip(env.disks.get('/dev/mem1') as MemoryDisk, 4096 + 48);
    const read = findVg(await readBack(env), 'vgd');
    expect(read.warnings.join('\n')).toMatch(/wrong checksum [0-9a-f]{8} in mda header on \/dev\/mem1 at 4096/);
    expect(read.warnings.join('\n')).toContain('bad metadata header on /dev/mem1 in mda1');
  });

  it('a flipped label byte: the device is no PV, the VG is partial, and writes are refused with MISSING_PV', async () => {
    const env = await setup();
    flip(env.disks.get('/dev/mem1') as MemoryDisk, 512 + 40);
    const result = await readBack(env);
    const read = findVg(result, 'vgd');
    expect(read.missingPvIds.length).toBe(1);
    expect(read.warnings.join('\n')).toMatch(/Couldn't find device with uuid [\w!#]{6}-/);
    expect(read.warnings.join('\n')).toContain('(last written to /dev/mem1)');
    expect(result.warnings.join('\n')).toMatch(/\/dev\/mem1: Label checksum incorrect at sector 1/);
    expect(() => checkWritable(read)).toThrow(expect.objectContaining({ code: 'MISSING_PV' }));
  });

  it('the only copy damaged: VG not found, the PV is in use with no VG', async () => {
    const env = memoryDevices(1);
    const [p0] = env.paths as [string];
    await pvcreate(p0, { randomBytes, opener: env.opener });
    const scan = await scanDevices([p0], { opener: env.opener });
    const vg = newVolumeGroup({ name: 'vgone', devices: scan.pvs, randomBytes });
    await commitVg(vg, new Map(scan.pvs.map((d) => [d.label.pvId, d])), identity('vgcreate'), {
      seqno: 1,
      opener: env.opener,
    });
    const disk = env.disks.get(p0) as MemoryDisk;
    flip(disk, 4096 + headerOf(disk, 4096).committed.offsetBytes + 30);
    const result = await readBack(env);
    expect(() => findVg(result, 'vgone')).toThrow('Volume group "vgone" not found');
    expect(result.warnings.join('\n')).toContain('Checksum error on /dev/mem0 at offset 4608');
    expect(result.warnings.join('\n')).toContain('PV /dev/mem0 is marked in use but no VG was found using it.');
  });

  it('a syntax error under a valid checksum: the parse error names the device and offset', async () => {
    const env = await setup();
    const disk = env.disks.get('/dev/mem1') as MemoryDisk;
    const h = headerOf(disk, 4096);
    const textAt = 4096 + h.committed.offsetBytes;
    const text = disk.snapshot(textAt, h.committed.sizeBytes);
    const broken = new TextDecoder().decode(text).replace('max_lv = 0', 'max_lv 0');
    const bytes = new TextEncoder().encode(broken);
    disk.overwrite(textAt, bytes);
    disk.overwrite(
      4096,
      encodeMdaHeader({ ...h, committed: { ...h.committed, sizeBytes: bytes.length, checksum: lvmCrc(bytes) } }),
    );
    const read = findVg(await readBack(env), 'vgd');
    expect(read.warnings.join('\n')).toMatch(
      new RegExp(
        `Parse error at byte \\d+ \\(line \\d+\\): unexpected token \\(metadata on /dev/mem1 at offset ${textAt}\\)`,
      ),
    );
  });

  it('an older copy on one PV: ignored with a warning, rewritten by the next commit', async () => {
    const env = await setup();
    const disk = env.disks.get('/dev/mem1') as MemoryDisk;
    const old = disk.snapshot(4096, 512);
    const read0 = findVg(await readBack(env), 'vgd');
    read0.vg.lvs[0]?.tags.push('t1');
    await commitChanges(read0, identity('lvchange'), { opener: env.opener });
    disk.overwrite(4096, old); // mem1's header points at seqno 2 again
    const read = findVg(await readBack(env), 'vgd');
    expect(read.seqno).toBe(3);
    expect(read.warnings).toContain(
      'WARNING: ignoring metadata seqno 2 on /dev/mem1 for seqno 3 on /dev/mem0 for VG vgd.',
    );
    expect(read.warnings).toContain('WARNING: Inconsistent metadata found for VG vgd.');
    await commitChanges(read, identity('vgck --updatemetadata'), { opener: env.opener });
    expect(findVg(await readBack(env), 'vgd').warnings).toEqual([]);
  });

  it('the same PV on two devices: reported, and writes refused with DUPLICATE_PV', async () => {
    const env = await setup();
    const [d0, , d2] = [...env.disks.values()] as [MemoryDisk, MemoryDisk, MemoryDisk];
    d2.overwrite(0, d0.snapshot(0, d0.sizeBytes));
    const read = findVg(await readBack(env), 'vgd');
    expect(read.duplicatePvIds.length).toBe(1);
    expect(read.warnings.join('\n')).toMatch(/Found duplicate PV [\w!#-]+: using \/dev\/mem0 not \/dev\/mem2/);
    expect(() => checkWritable(read)).toThrow(expect.objectContaining({ code: 'DUPLICATE_PV' }));
  });

  it('a commit that does not fit the mda is refused with MDA_FULL before anything is written', async () => {
    const env = memoryDevices(1, 8 * MIB);
    const [p0] = env.paths as [string];
    await pvcreate(p0, { randomBytes, opener: env.opener, metadataSizeBytes: 32 * 1024, dataAlignmentBytes: 4096 });
    const scan = await scanDevices([p0], { opener: env.opener });
    const vg = newVolumeGroup({ name: 'vgfull', devices: scan.pvs, randomBytes, extentSizeSectors: 8 });
    for (let i = 0; i < 60; i++) {
      const lv = newLogicalVolume(vg, { name: `lv${i}`, randomBytes, hostName: 'h', nowSeconds: 1 });
      lv.segments = allocateExtents({ vg, lvName: lv.name, existing: [], extents: 1 });
      vg.lvs.push(lv);
    }
    const before = (env.disks.get(p0) as MemoryDisk).snapshot();
    await expect(
      commitVg(vg, new Map(scan.pvs.map((d) => [d.label.pvId, d])), identity('vgcreate'), {
        seqno: 1,
        opener: env.opener,
      }),
    ).rejects.toMatchObject({
      code: 'MDA_FULL',
      message: expect.stringMatching(/exceeds maximum metadata size .* on \/dev\/mem0 at 4096/),
    });
    expect(Buffer.compare(Buffer.from((env.disks.get(p0) as MemoryDisk).snapshot()), Buffer.from(before))).toBe(0);
  });

  it('an I/O error at any write of a commit (or a torn write reported as an error) gives IO_ERROR naming device and offset, and leaves the old or the new VG', async () => {
    for (let failAt = 0; ; failAt++) {
      const env = await setup();
      const read = findVg(readAllVgs(await scanDevices(env.paths, { opener: env.opener })), 'vgd');
      read.vg.lvs.push({
        ...newLogicalVolume(read.vg, { name: 'lv2', randomBytes, hostName: 'h', nowSeconds: 1 }),
        segments: [],
      });
      const lv2 = read.vg.lvs[read.vg.lvs.length - 1];
      if (lv2 === undefined) throw new Error('lv2');
      lv2.segments = allocateExtents({ vg: read.vg, lvName: 'lv2', existing: [], extents: 8 });
      let writes = 0;
      const failing: DeviceOpener = {
        async open(path, options) {
          const inner = await env.opener.open(path, options);
          // FaultyDisk tears multi-sector writes (first sector lands, the caller gets EIO); single-sector writes fail whole
          const faulty = new FaultyDisk(inner, { history: false, closeInner: false });
          return {
            ...inner,
            write: async (o: number, d: Uint8Array) => {
              if (writes++ !== failAt) return inner.write(o, d);
              if (d.length > 512) {
                faulty.inject({ fault: { type: 'torn', landedSectors: 1, outcome: 'error' }, op: 'write', times: 1 });
                return faulty.write(o, d);
              }
              throw new DiskError('EIO', 'injected I/O error', path, o, d.length);
            },
          };
        },
      };
      let failed = false;
      try {
        await commitChanges(read, identity('lvcreate'), { opener: failing });
      } catch (error) {
        failed = true;
        expect(error).toMatchObject({
          code: 'IO_ERROR',
          message: expect.stringMatching(/^Write failed on \/dev\/mem\d at offset \d+: /),
        });
      }
      const after = findVg(readAllVgs(await scanDevices(env.paths, { opener: env.opener })), 'vgd');
      expect([2, 3]).toContain(after.seqno);
      expect(after.vg.lvs.map((l) => l.name)).toEqual(after.seqno === 2 ? ['lv1'] : ['lv1', 'lv2']);
      if (!failed) {
        // failAt went past the last write: the commit completed. 3 mdas: 3 texts + 3 precommits + 3 commits.
        expect(failAt).toBeGreaterThanOrEqual(9);
        break;
      }
      expect(writes).toBe(failAt + 1);
    }
  });
});
