import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskError } from '../src/index.js';
import { geometryOfFd, probeDevice, splitDeviceNumber, sysfsBlockGeometry } from '../src/direct.js';
import { attachLoopDevice, type LoopDevice, makeImageFile } from './loop-device.js';

const LOOP_SIZE_BYTES = 3 * 1024 * 1024;
const FILE_SIZE_BYTES = 5 * 512;

const loops = new Map<number, LoopDevice>();
let file: ReturnType<typeof makeImageFile> | undefined;

beforeAll(() => {
  for (const sectorSize of [512, 4096] as const) loops.set(sectorSize, attachLoopDevice(sectorSize, LOOP_SIZE_BYTES));
  file = makeImageFile(FILE_SIZE_BYTES);
});

afterAll(() => {
  for (const loop of loops.values()) loop.detach();
  file?.remove();
});

function loop(sectorSize: number): LoopDevice {
  const found = loops.get(sectorSize);
  if (found === undefined) throw new Error(`no ${sectorSize} loop device`);
  return found;
}

describe('probeDevice', () => {
  it.each([512, 4096])('reads a %i-byte-sector loop device geometry from the ioctls', (sectorSize) => {
    const geometry = probeDevice(loop(sectorSize).devicePath);
    expect(geometry.kind).toBe('block');
    expect(geometry.sizeBytes).toBe(LOOP_SIZE_BYTES);
    expect(geometry.logicalSectorSize).toBe(sectorSize);
    expect(geometry.physicalSectorSize).toBeGreaterThanOrEqual(sectorSize);
  });

  it.each([512, 4096])('sysfs fallback agrees with the ioctls on a %i-byte-sector loop device', (sectorSize) => {
    const devicePath = loop(sectorSize).devicePath;
    const { major, minor } = splitDeviceNumber(fs.statSync(devicePath, { bigint: true }).rdev);
    expect(major).toBe(7); // the loop driver's major number
    const { kind, ...fromIoctl } = probeDevice(devicePath);
    expect(kind).toBe('block');
    expect(sysfsBlockGeometry(major, minor)).toEqual(fromIoctl);
  });

  it('regular files: size from fstat, 512-byte sectors unless told', () => {
    const path = file?.imagePath ?? '';
    expect(probeDevice(path)).toMatchObject({ kind: 'file', sizeBytes: FILE_SIZE_BYTES, logicalSectorSize: 512 });
    expect(probeDevice(path, { fileSectorSize: 4096 }).logicalSectorSize).toBe(4096);
    const fd = fs.openSync(path, 'r');
    try {
      expect(geometryOfFd(fd, path).sizeBytes).toBe(FILE_SIZE_BYTES);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('a missing path is EOPEN; a character device is EGEOMETRY', () => {
    expect(() => probeDevice('/nonexistent/leasehold')).toThrow(expect.objectContaining({ code: 'EOPEN' }));
    let thrown: unknown;
    try {
      probeDevice('/dev/null');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DiskError);
    expect((thrown as DiskError).code).toBe('EGEOMETRY');
  });
});

describe('splitDeviceNumber', () => {
  // glibc's makedev, for the inverse.
  function makedev(major: bigint, minor: bigint): bigint {
    return (minor & 0xffn) | ((major & 0xfffn) << 8n) | ((minor & ~0xffn) << 12n) | ((major & ~0xfffn) << 32n);
  }

  it.each([
    [7, 0],
    [8, 17],
    [259, 3],
    [259, 0x12345],
    [4095, 0xfffff],
    [0x12345, 0xabcdef],
  ])('splits makedev(%i, %i)', (major, minor) => {
    expect(splitDeviceNumber(makedev(BigInt(major), BigInt(minor)))).toEqual({ major, minor });
  });
});
