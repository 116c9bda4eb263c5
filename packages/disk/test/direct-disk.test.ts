import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { alignedBuffer, bufferAddress } from '@leasehold/native';
import { asyncFromSync, DiskError } from '../src/index.js';
import { DirectDisk, openDirectDisk, openDirectDiskSync } from '../src/direct.js';
import { attachLoopDevice, type LoopDevice, makeImageFile, patternSectors } from './loop-device.js';

const DEVICE_SIZE_BYTES = 4 * 1024 * 1024;
const ALIGNMENT_BYTES = 4096;
// Octal open flags from /proc/self/fdinfo (x86-64 and arm64 generic values).
const O_DIRECT_FLAG = 0o40000;
const O_DSYNC_FLAG = 0o10000;

interface Target {
  name: string;
  path: string;
  sectorSize: number;
  sizeBytes: number;
  /** The file underneath (for loop devices: what "another host" writes to without any cache). */
  backingPath: string;
}

const cleanups: (() => void)[] = [];
const targets = new Map<string, Target>();

beforeAll(() => {
  const file = makeImageFile(DEVICE_SIZE_BYTES);
  cleanups.push(file.remove);
  targets.set('file', {
    name: 'file',
    path: file.imagePath,
    sectorSize: 512,
    sizeBytes: DEVICE_SIZE_BYTES,
    backingPath: file.imagePath,
  });
  for (const sectorSize of [512, 4096] as const) {
    const loop: LoopDevice = attachLoopDevice(sectorSize, DEVICE_SIZE_BYTES);
    cleanups.push(loop.detach);
    targets.set(`loop${sectorSize}`, {
      name: `loop${sectorSize}`,
      path: loop.devicePath,
      sectorSize,
      sizeBytes: DEVICE_SIZE_BYTES,
      backingPath: loop.imagePath,
    });
  }
});

afterAll(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
});

afterEach(() => {
  vi.restoreAllMocks();
});

function target(name: string): Target {
  const found = targets.get(name);
  if (found === undefined) throw new Error(`no target ${name}`);
  return found;
}

function openFlags(fd: number): number {
  const fdinfo = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  const match = /^flags:\s+([0-7]+)$/m.exec(fdinfo);
  if (match?.[1] === undefined) throw new Error(`no flags in fdinfo: ${fdinfo}`);
  return parseInt(match[1], 8);
}

function expectDiskError(action: () => unknown, code: string): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(DiskError);
    expect((error as DiskError).code).toBe(code);
    return;
  }
  throw new Error(`expected DiskError ${code}, nothing was thrown`);
}

describe.each(['file', 'loop512', 'loop4096'])('DirectDisk on %s', (name) => {
  it('opens with the expected geometry and O_DIRECT|O_DSYNC in effect', async () => {
    const t = target(name);
    const disk = await openDirectDisk(t.path);
    try {
      expect(disk.sectorSize).toBe(t.sectorSize);
      expect(disk.sizeBytes).toBe(t.sizeBytes);
      expect(disk.geometry.kind).toBe(name === 'file' ? 'file' : 'block');
      const flags = openFlags(disk.fd);
      expect(flags & O_DIRECT_FLAG).toBe(O_DIRECT_FLAG);
      expect(flags & O_DSYNC_FLAG).toBe(O_DSYNC_FLAG);
    } finally {
      await disk.close();
    }
  });

  it('a write through one descriptor is read back through a separately opened one', async () => {
    const t = target(name);
    const writer = await openDirectDisk(t.path);
    const reader = await openDirectDisk(t.path, { readOnly: true });
    try {
      const offsetBytes = 3 * t.sectorSize;
      const data = patternSectors(t.sectorSize, 2, 11);
      await reader.read(offsetBytes, data.byteLength); // the reader has seen the old contents first
      await writer.write(offsetBytes, data);
      expect(await reader.read(offsetBytes, data.byteLength)).toEqual(data);
      // And the bytes are in the file underneath.
      const fromBacking = Buffer.alloc(data.byteLength);
      const backingFd = fs.openSync(t.backingPath, 'r');
      fs.readSync(backingFd, fromBacking, 0, data.byteLength, offsetBytes);
      fs.closeSync(backingFd);
      expect(new Uint8Array(fromBacking)).toEqual(data);
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  it('does all I/O through 4096-aligned buffers, also after growing them', () => {
    const t = target(name);
    const disk = openDirectDiskSync(t.path);
    try {
      expect(disk.ioBufferAddress % ALIGNMENT_BYTES).toBe(0);
      disk.readSync(0, 64 * ALIGNMENT_BYTES);
      expect(disk.ioBufferAddress % ALIGNMENT_BYTES).toBe(0);
      disk.writeSync(0, patternSectors(t.sectorSize, 1, 3));
      expect(disk.ioBufferAddress % ALIGNMENT_BYTES).toBe(0);
    } finally {
      disk.closeSync();
    }
  });

  it('keeps the data of two disks apart although they share one I/O buffer in this thread', () => {
    const t = target(name);
    const file = makeImageFile(DEVICE_SIZE_BYTES);
    const one = openDirectDiskSync(t.path);
    const other = openDirectDiskSync(file.imagePath, { sectorSize: t.sectorSize });
    try {
      const big = patternSectors(t.sectorSize, 64, 21);
      const small = patternSectors(t.sectorSize, 1, 22);
      one.writeSync(0, big);
      other.writeSync(0, small);
      expect(one.ioBufferAddress).toBe(other.ioBufferAddress);
      const fromOne = one.readSync(0, big.byteLength);
      const fromOther = other.readSync(0, small.byteLength);
      expect(fromOne).toEqual(big);
      expect(fromOther).toEqual(small);
      const into = new Uint8Array(small.byteLength);
      one.readIntoSync(0, into);
      expect(into).toEqual(big.subarray(0, small.byteLength));
    } finally {
      one.closeSync();
      other.closeSync();
      file.remove();
    }
  });

  it('returns a fresh buffer the caller owns from each read', () => {
    const t = target(name);
    const disk = openDirectDiskSync(t.path);
    try {
      const data = patternSectors(t.sectorSize, 1, 5);
      disk.writeSync(0, data);
      const first = disk.readSync(0, t.sectorSize);
      first.fill(0xee);
      const second = disk.readSync(0, t.sectorSize);
      expect(second).toEqual(data);
      expect(second.buffer).not.toBe(first.buffer);
    } finally {
      disk.closeSync();
    }
  });

  it('readInto fills the buffer of the caller with what read returns, sync and async, and refuses bad ranges', async () => {
    const t = target(name);
    const disk = openDirectDiskSync(t.path);
    try {
      const data = patternSectors(t.sectorSize, 3, 9);
      disk.writeSync(t.sectorSize, data);
      const into = new Uint8Array(3 * t.sectorSize);
      disk.readIntoSync(t.sectorSize, into);
      expect(into).toEqual(data);
      expect(into).toEqual(disk.readSync(t.sectorSize, 3 * t.sectorSize));
      const viaAsync = asyncFromSync(disk);
      into.fill(0);
      await viaAsync.readInto?.(t.sectorSize, into);
      expect(into).toEqual(data);
      expect(() => disk.readIntoSync(1, into)).toThrow(DiskError);
      expect(() => disk.readIntoSync(DEVICE_SIZE_BYTES, into)).toThrow(DiskError);
    } finally {
      disk.closeSync();
    }
  });

  it('refuses misaligned and out-of-range I/O before any syscall', async () => {
    const t = target(name);
    const disk = await openDirectDisk(t.path);
    const readSpy = vi.spyOn(fs, 'readSync');
    const writeSpy = vi.spyOn(fs, 'writeSync');
    try {
      await expect(disk.read(0, t.sectorSize / 2)).rejects.toMatchObject({ code: 'EALIGN' });
      await expect(disk.read(t.sectorSize / 2, t.sectorSize)).rejects.toMatchObject({ code: 'EALIGN' });
      await expect(disk.write(0, new Uint8Array(t.sectorSize + 1))).rejects.toMatchObject({ code: 'EALIGN' });
      await expect(disk.read(t.sizeBytes, t.sectorSize)).rejects.toMatchObject({ code: 'ERANGE' });
      await expect(disk.write(t.sizeBytes - t.sectorSize, new Uint8Array(2 * t.sectorSize))).rejects.toMatchObject({
        code: 'ERANGE',
      });
      expect(readSpy).not.toHaveBeenCalled();
      expect(writeSpy).not.toHaveBeenCalled();
      await disk.read(t.sizeBytes - t.sectorSize, t.sectorSize); // the last sector is fine
      expect(readSpy).toHaveBeenCalledTimes(1);
    } finally {
      await disk.close();
    }
  });

  it('reports ECLOSED after close, and close is idempotent', async () => {
    const t = target(name);
    const disk = await openDirectDisk(t.path);
    await disk.close();
    await disk.close();
    expect(disk.isClosed).toBe(true);
    await expect(disk.read(0, t.sectorSize)).rejects.toMatchObject({ code: 'ECLOSED' });
    await expect(disk.write(0, new Uint8Array(t.sectorSize))).rejects.toMatchObject({ code: 'ECLOSED' });
  });

  it('read-only disks read but refuse writes with EIO; sync:false drops O_DSYNC', () => {
    const t = target(name);
    const readOnly = openDirectDiskSync(t.path, { readOnly: true });
    const unsynced = openDirectDiskSync(t.path, { sync: false });
    try {
      expect(readOnly.readSync(0, t.sectorSize).byteLength).toBe(t.sectorSize);
      expectDiskError(() => readOnly.writeSync(0, new Uint8Array(t.sectorSize)), 'EIO');
      expect(openFlags(unsynced.fd) & O_DSYNC_FLAG).toBe(0);
      expect(openFlags(unsynced.fd) & O_DIRECT_FLAG).toBe(O_DIRECT_FLAG);
    } finally {
      readOnly.closeSync();
      unsynced.closeSync();
    }
  });
});

describe('O_DIRECT bypasses the page cache', () => {
  it.each(['loop512', 'loop4096'])(
    '%s: another writer behind the device is seen by DirectDisk but not by a buffered reader',
    (name) => {
      const t = target(name);
      const offsetBytes = 8 * t.sectorSize;
      const buffered = fs.openSync(t.path, 'r');
      const disk = openDirectDiskSync(t.path);
      try {
        const before = Buffer.alloc(t.sectorSize);
        fs.readSync(buffered, before, 0, t.sectorSize, offsetBytes); // now cached in the device's page cache
        // "Another host" writes straight to the storage underneath the block device.
        const fresh = patternSectors(t.sectorSize, 1, 99);
        const backing = fs.openSync(t.backingPath, 'r+');
        fs.writeSync(backing, fresh, 0, fresh.byteLength, offsetBytes);
        fs.fsyncSync(backing);
        fs.closeSync(backing);
        const cached = Buffer.alloc(t.sectorSize);
        fs.readSync(buffered, cached, 0, t.sectorSize, offsetBytes);
        expect(new Uint8Array(cached)).toEqual(new Uint8Array(before)); // the buffered reader is stale
        expect(new Uint8Array(cached)).not.toEqual(fresh);
        expect(disk.readSync(offsetBytes, t.sectorSize)).toEqual(fresh); // O_DIRECT sees the device
      } finally {
        fs.closeSync(buffered);
        disk.closeSync();
      }
    },
  );

  it('plain file: DirectDisk I/O leaves no pages in the page cache', () => {
    const file = makeImageFile(DEVICE_SIZE_BYTES, 'uncached.img');
    try {
      const disk = openDirectDiskSync(file.imagePath);
      disk.writeSync(0, patternSectors(512, 64, 1));
      expect(disk.readSync(0, 64 * 512)).toEqual(patternSectors(512, 64, 1));
      disk.closeSync();
      const residentPages = execFileSync('fincore', ['--noheadings', '--output', 'PAGES', file.imagePath], {
        encoding: 'utf8',
      }).trim();
      expect(residentPages).toBe('0');
      // Control: a buffered read does populate it, so the check above can fail.
      fs.readFileSync(file.imagePath);
      const afterBuffered = execFileSync('fincore', ['--noheadings', '--output', 'PAGES', file.imagePath], {
        encoding: 'utf8',
      }).trim();
      expect(Number(afterBuffered)).toBeGreaterThan(0);
    } finally {
      file.remove();
    }
  });

  it('the kernel itself refuses misaligned O_DIRECT I/O on the 4096 loop device (EINVAL)', () => {
    const t = target('loop4096');
    const disk = openDirectDiskSync(t.path);
    try {
      const aligned = alignedBuffer(2 * ALIGNMENT_BYTES);
      expect(bufferAddress(aligned) % ALIGNMENT_BYTES).toBe(0);
      expect(() => fs.readSync(disk.fd, aligned, 0, 512, 0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(() => fs.readSync(disk.fd, aligned, 0, ALIGNMENT_BYTES, 512)).toThrow(
        expect.objectContaining({ code: 'EINVAL' }),
      );
      expect(() => fs.readSync(disk.fd, aligned.subarray(8), 0, ALIGNMENT_BYTES, 0)).toThrow(
        expect.objectContaining({ code: 'EINVAL' }),
      );
      expect(fs.readSync(disk.fd, aligned, 0, ALIGNMENT_BYTES, 0)).toBe(ALIGNMENT_BYTES); // control
    } finally {
      disk.closeSync();
    }
  });
});

describe('DirectDisk open options and failures', () => {
  it('a 512-byte sector size is refused on a 4096-byte device; 4096 on a 512 device is allowed', () => {
    expectDiskError(() => openDirectDiskSync(target('loop4096').path, { sectorSize: 512 }), 'EGEOMETRY');
    const disk = openDirectDiskSync(target('loop512').path, { sectorSize: 4096 });
    try {
      expect(disk.sectorSize).toBe(4096);
      expect(disk.geometry.logicalSectorSize).toBe(512);
      expectDiskError(() => disk.readSync(512, 4096), 'EALIGN');
    } finally {
      disk.closeSync();
    }
  });

  it('a file can be told its sector size', () => {
    const disk = openDirectDiskSync(target('file').path, { sectorSize: 4096 });
    try {
      expect(disk.sectorSize).toBe(4096);
      expectDiskError(() => disk.readSync(0, 512), 'EALIGN');
    } finally {
      disk.closeSync();
    }
  });

  it('unsupported sector sizes are EGEOMETRY', () => {
    expectDiskError(() => openDirectDiskSync(target('file').path, { sectorSize: 1024 }), 'EGEOMETRY');
  });

  it('a missing path is EOPEN, an empty file EGEOMETRY, a partial trailing sector is not usable', async () => {
    await expect(openDirectDisk('/nonexistent/leasehold/disk.img')).rejects.toMatchObject({ code: 'EOPEN' });
    const empty = makeImageFile(0, 'empty.img');
    const ragged = makeImageFile(3 * 512 + 100, 'ragged.img');
    try {
      expectDiskError(() => openDirectDiskSync(empty.imagePath), 'EGEOMETRY');
      const disk = openDirectDiskSync(ragged.imagePath);
      expect(disk.sizeBytes).toBe(3 * 512);
      disk.closeSync();
    } finally {
      empty.remove();
      ragged.remove();
    }
  });

  it('is a DirectDisk with both the sync and async forms', async () => {
    const disk = await openDirectDisk(target('file').path);
    try {
      expect(disk).toBeInstanceOf(DirectDisk);
      const data = patternSectors(512, 1, 42);
      disk.writeSync(512, data);
      expect(await disk.read(512, 512)).toEqual(data);
    } finally {
      disk.closeSync();
    }
  });
});
