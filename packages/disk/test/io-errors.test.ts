/** Every Disk implementation refuses misaligned and out-of-range I/O with the same DiskError codes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asyncFromSync,
  CountingDisk,
  type Disk,
  DiskError,
  FaultyDisk,
  MemoryDisk,
  type SyncDisk,
} from '../src/index.js';
import { openDirectDiskSync } from '../src/direct.js';
import { attachLoopDevice, makeImageFile } from './loop-device.js';

const DISK_SECTORS = 8;

interface Subject {
  disk: Disk;
  /** The same device through its synchronous form, when it has one. */
  sync: SyncDisk | undefined;
}

const cleanups: (() => void)[] = [];
const subjects = new Map<string, Subject>();

function register(name: string, disk: Disk, sync?: SyncDisk): void {
  subjects.set(name, { disk, sync });
}

beforeAll(() => {
  for (const sectorSize of [512, 4096] as const) {
    const memory = new MemoryDisk({ sectorSize, sizeBytes: DISK_SECTORS * sectorSize });
    register(`MemoryDisk ${sectorSize}`, memory, memory);
    register(`FaultyDisk(MemoryDisk ${sectorSize})`, new FaultyDisk(memory, { closeInner: false }));
    register(`CountingDisk(MemoryDisk ${sectorSize})`, new CountingDisk(memory));
    register(`asyncFromSync(MemoryDisk ${sectorSize})`, asyncFromSync(memory));
    const file = makeImageFile(DISK_SECTORS * sectorSize);
    cleanups.push(file.remove);
    const fileDisk = openDirectDiskSync(file.imagePath, { sectorSize });
    cleanups.push(() => fileDisk.closeSync());
    register(`DirectDisk file ${sectorSize}`, fileDisk, fileDisk);
    const loop = attachLoopDevice(sectorSize, DISK_SECTORS * sectorSize);
    cleanups.push(loop.detach);
    const loopDisk = openDirectDiskSync(loop.devicePath);
    cleanups.push(() => loopDisk.closeSync());
    register(`DirectDisk loop ${sectorSize}`, loopDisk, loopDisk);
  }
});

afterAll(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
});

const NAMES = [512, 4096].flatMap((size) => [
  `MemoryDisk ${size}`,
  `FaultyDisk(MemoryDisk ${size})`,
  `CountingDisk(MemoryDisk ${size})`,
  `asyncFromSync(MemoryDisk ${size})`,
  `DirectDisk file ${size}`,
  `DirectDisk loop ${size}`,
]);

/** [description, offset in sectors + bytes, length in sectors + bytes, expected code] */
type Case = [
  string,
  (sector: number, size: number) => { offsetBytes: number; lengthBytes: number },
  'EALIGN' | 'ERANGE',
];

const CASES: Case[] = [
  ['offset inside a sector', (s) => ({ offsetBytes: 1, lengthBytes: s }), 'EALIGN'],
  ['offset half a sector in', (s) => ({ offsetBytes: s / 2, lengthBytes: s }), 'EALIGN'],
  ['length not whole sectors', (s) => ({ offsetBytes: s, lengthBytes: s + 1 }), 'EALIGN'],
  ['length shorter than a sector', (s) => ({ offsetBytes: 0, lengthBytes: s - 1 }), 'EALIGN'],
  ['zero length', () => ({ offsetBytes: 0, lengthBytes: 0 }), 'EALIGN'],
  ['negative offset', (s) => ({ offsetBytes: -s, lengthBytes: s }), 'EALIGN'],
  ['fractional offset', (s) => ({ offsetBytes: 0.5, lengthBytes: s }), 'EALIGN'],
  ['starting at the end', (s, size) => ({ offsetBytes: size, lengthBytes: s }), 'ERANGE'],
  ['straddling the end', (s, size) => ({ offsetBytes: size - s, lengthBytes: 2 * s }), 'ERANGE'],
  ['far past the end', (s, size) => ({ offsetBytes: 1000 * size, lengthBytes: s }), 'ERANGE'],
];

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof DiskError) return error.code;
    throw error;
  }
  return 'no error';
}

describe.each(NAMES)('%s', (name) => {
  function subject(): Subject {
    const found = subjects.get(name);
    if (found === undefined) throw new Error(`no subject ${name}`);
    return found;
  }

  it.each(CASES)('read and write with %s are refused', async (_description, place, code) => {
    const { disk, sync } = subject();
    const { offsetBytes, lengthBytes } = place(disk.sectorSize, disk.sizeBytes);
    await expect(disk.read(offsetBytes, lengthBytes)).rejects.toMatchObject({
      name: 'DiskError',
      code,
      offsetBytes,
      lengthBytes,
    });
    await expect(disk.write(offsetBytes, new Uint8Array(lengthBytes))).rejects.toMatchObject({
      name: 'DiskError',
      code,
    });
    if (sync !== undefined) {
      expect(codeOf(() => sync.readSync(offsetBytes, lengthBytes))).toBe(code);
      expect(codeOf(() => sync.writeSync(offsetBytes, new Uint8Array(lengthBytes)))).toBe(code);
    }
  });

  it('the first and last sectors are fine', async () => {
    const { disk } = subject();
    const sector = new Uint8Array(disk.sectorSize).fill(0x5a);
    await disk.write(disk.sizeBytes - disk.sectorSize, sector);
    expect(await disk.read(disk.sizeBytes - disk.sectorSize, disk.sectorSize)).toEqual(sector);
    expect((await disk.read(0, disk.sizeBytes)).byteLength).toBe(disk.sizeBytes);
  });
});
