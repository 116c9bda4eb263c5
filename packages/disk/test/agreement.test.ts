/**
 * Property: the same random sequence of reads and writes (aligned, misaligned and out of range)
 * gives the same results on MemoryDisk and on DirectDisk over a file and over loop devices.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Disk, DiskError, FaultyDisk, MemoryDisk } from '../src/index.js';
import { type DirectDisk, openDirectDiskSync } from '../src/direct.js';
import { attachLoopDevice, makeImageFile, patternSectors } from './loop-device.js';

const DISK_SECTORS = 32;
const MAX_SECTORS_PER_IO = 6;
const RUNS = 60;

type Op =
  | { kind: 'write'; offsetBytes: number; lengthBytes: number; seed: number }
  | { kind: 'read'; offsetBytes: number; lengthBytes: number };

/** Mostly aligned I/O, sometimes misaligned by a few bytes or half a sector, sometimes past the end. */
function opArbitrary(sectorSize: number): fc.Arbitrary<Op> {
  const skew = fc.oneof(
    { weight: 8, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.constantFrom(1, 256, sectorSize / 2) },
  );
  const shape = fc.record({
    sectorIndex: fc.integer({ min: 0, max: DISK_SECTORS + 1 }),
    sectorCount: fc.integer({ min: 1, max: MAX_SECTORS_PER_IO }),
    offsetSkew: skew,
    lengthSkew: skew,
  });
  const place = (s: { sectorIndex: number; sectorCount: number; offsetSkew: number; lengthSkew: number }) => ({
    offsetBytes: s.sectorIndex * sectorSize + s.offsetSkew,
    lengthBytes: s.sectorCount * sectorSize - s.lengthSkew,
  });
  return fc.oneof(
    fc.tuple(shape, fc.integer({ min: 1, max: 255 })).map(([s, seed]): Op => ({ kind: 'write', ...place(s), seed })),
    shape.map((s): Op => ({ kind: 'read', ...place(s) })),
  );
}

/** What an op produced, as a string: deep equality on large typed arrays is slow in expect(). */
async function outcome(disk: Disk, op: Op): Promise<string> {
  try {
    if (op.kind === 'read') return hex(await disk.read(op.offsetBytes, op.lengthBytes));
    const data = patternSectors(1, op.lengthBytes, op.seed); // any length: misaligned ones must be refused
    await disk.write(op.offsetBytes, data);
    return 'ok';
  } catch (error) {
    if (error instanceof DiskError) return error.code;
    throw error;
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const cleanups: (() => void)[] = [];
const directDisks = new Map<string, DirectDisk>();

beforeAll(() => {
  for (const sectorSize of [512, 4096] as const) {
    const file = makeImageFile(DISK_SECTORS * sectorSize);
    cleanups.push(file.remove);
    const fileDisk = openDirectDiskSync(file.imagePath, { sectorSize });
    cleanups.push(() => fileDisk.closeSync());
    directDisks.set(`file${sectorSize}`, fileDisk);
    const loop = attachLoopDevice(sectorSize, DISK_SECTORS * sectorSize);
    cleanups.push(loop.detach);
    const loopDisk = openDirectDiskSync(loop.devicePath);
    cleanups.push(() => loopDisk.closeSync());
    directDisks.set(`loop${sectorSize}`, loopDisk);
  }
});

afterAll(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
});

describe.each([
  ['file512', 512],
  ['file4096', 4096],
  ['loop512', 512],
  ['loop4096', 4096],
])('MemoryDisk and DirectDisk on %s agree', (name, sectorSize) => {
  it('on random sequences of reads and writes', async () => {
    const direct = directDisks.get(name);
    if (direct === undefined) throw new Error(`no disk ${name}`);
    expect(direct.sectorSize).toBe(sectorSize);
    expect(direct.sizeBytes).toBe(DISK_SECTORS * sectorSize);
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary(sectorSize), { minLength: 1, maxLength: 25 }), async (ops) => {
        direct.writeSync(0, new Uint8Array(direct.sizeBytes)); // same starting point as a new MemoryDisk
        const memory = new MemoryDisk({ sectorSize, sizeBytes: direct.sizeBytes });
        const faultFree = new FaultyDisk(direct, { closeInner: false }); // a wrapper with no faults changes nothing
        for (const op of ops) {
          const expected = await outcome(memory, op);
          expect(await outcome(direct, op)).toEqual(expected);
          if (op.kind === 'read') expect(await outcome(faultFree, op)).toEqual(expected);
        }
        expect(hex(direct.readSync(0, direct.sizeBytes))).toBe(hex(memory.snapshot()));
      }),
      { numRuns: RUNS },
    );
  });
});
