import { describe, expect, it } from 'vitest';
import { asyncFromSync, DiskError, MemoryDisk } from '../src/index.js';

describe('MemoryDisk', () => {
  it.each([512, 4096])('reads back what was written (%i-byte sectors)', async (sectorSize) => {
    const disk = new MemoryDisk({ sectorSize, sizeBytes: 8 * sectorSize, name: 'mem0' });
    expect(disk.path).toBe('mem0');
    const data = new Uint8Array(2 * sectorSize).fill(0xab);
    await disk.write(3 * sectorSize, data);
    expect(await disk.read(3 * sectorSize, 2 * sectorSize)).toEqual(data);
    expect(await disk.read(2 * sectorSize, sectorSize)).toEqual(new Uint8Array(sectorSize));
    expect(disk.snapshot(3 * sectorSize - 1, 2)).toEqual(Uint8Array.of(0, 0xab));
  });

  it('defaults to 512-byte sectors and returns fresh buffers', async () => {
    const disk = new MemoryDisk({ sizeBytes: 4096 });
    expect(disk.sectorSize).toBe(512);
    const first = await disk.read(0, 512);
    first.fill(9);
    expect(await disk.read(0, 512)).toEqual(new Uint8Array(512));
    const data = new Uint8Array(512).fill(1);
    await disk.write(0, data);
    data.fill(2); // the caller's buffer is not kept
    expect(disk.snapshot(0, 1)).toEqual(Uint8Array.of(1));
  });

  it('starts from initial bytes (copied) and can be overwritten directly for fixtures', () => {
    const initial = new Uint8Array(1024).fill(5);
    const disk = new MemoryDisk({ sizeBytes: 1024, initialBytes: initial });
    initial.fill(0);
    expect(disk.readSync(512, 512)).toEqual(new Uint8Array(512).fill(5));
    disk.overwrite(513, Uint8Array.of(7, 7));
    expect(disk.snapshot(512, 4)).toEqual(Uint8Array.of(5, 7, 7, 5));
    expect(() => disk.overwrite(1023, Uint8Array.of(1, 2))).toThrow(DiskError);
  });

  it('refuses unusable geometry with EGEOMETRY', () => {
    for (const options of [
      { sectorSize: 1024, sizeBytes: 4096 },
      { sectorSize: 4096, sizeBytes: 512 },
      { sizeBytes: 0 },
      { sizeBytes: 1000 },
      { sizeBytes: 1024, initialBytes: new Uint8Array(512) },
    ]) {
      expect(() => new MemoryDisk(options)).toThrow(expect.objectContaining({ code: 'EGEOMETRY' }));
    }
  });

  it('is ECLOSED after close but can still be inspected', async () => {
    const disk = new MemoryDisk({ sizeBytes: 1024 });
    await disk.write(0, new Uint8Array(512).fill(3));
    await disk.close();
    expect(disk.isClosed).toBe(true);
    await expect(disk.read(0, 512)).rejects.toMatchObject({ code: 'ECLOSED' });
    await expect(disk.write(0, new Uint8Array(512))).rejects.toMatchObject({ code: 'ECLOSED' });
    expect(disk.snapshot(0, 1)).toEqual(Uint8Array.of(3));
  });

  it('asyncFromSync turns a SyncDisk into a Disk whose errors are rejections', async () => {
    const memory = new MemoryDisk({ sizeBytes: 2048, name: 'wrapped' });
    const disk = asyncFromSync(memory);
    expect([disk.path, disk.sectorSize, disk.sizeBytes]).toEqual(['wrapped', 512, 2048]);
    await disk.write(512, new Uint8Array(512).fill(4));
    expect(await disk.read(512, 512)).toEqual(new Uint8Array(512).fill(4));
    const pending = disk.read(1, 512); // must not throw synchronously
    await expect(pending).rejects.toMatchObject({ code: 'EALIGN' });
    await disk.close();
    expect(memory.isClosed).toBe(true);
  });
});
