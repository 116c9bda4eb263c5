import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { DiskError, LinearDisk, LinearSyncDisk, MemoryDisk, type Disk, type LinearSegment } from '../src/index.js';

/** Byte equality without vitest's deep diff (slow on large arrays in a property test). */
function sameBytes(a: Uint8Array, b: Uint8Array | undefined): boolean {
  return b !== undefined && Buffer.compare(a, b) === 0;
}

function fail(message: string): never {
  throw new Error(message);
}

const SS = 512;

async function expectDiskError(run: () => Promise<unknown> | unknown, code: string): Promise<void> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected DiskError ${code}`).toBeInstanceOf(DiskError);
  expect((caught as DiskError).code).toBe(code);
}

function filled(sizeBytes: number, seed: number, name: string): MemoryDisk {
  const bytes = new Uint8Array(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) bytes[i] = (i * 7 + seed * 13) & 0xff;
  return new MemoryDisk({ sizeBytes, name, initialBytes: bytes });
}

describe('LinearDisk', () => {
  test('maps the lvmlock range of a PV: logical 0 is pe_start', async () => {
    const pv = filled(64 * SS, 1, 'pv');
    const lv = new LinearDisk('lvmlock', [{ disk: pv, offsetBytes: 8 * SS, lengthBytes: 16 * SS }]);
    expect(lv.sizeBytes).toBe(16 * SS);
    expect(await lv.read(0, 2 * SS)).toEqual(pv.snapshot(8 * SS, 2 * SS));
    await lv.write(15 * SS, new Uint8Array(SS).fill(0xee));
    expect(pv.snapshot(23 * SS, SS)).toEqual(new Uint8Array(SS).fill(0xee));
    expect(pv.snapshot(24 * SS, SS)).not.toEqual(new Uint8Array(SS).fill(0xee));
  });

  test('an I/O crossing a segment boundary is split, each piece on its own device', async () => {
    const a = filled(16 * SS, 2, 'a');
    const b = filled(16 * SS, 3, 'b');
    const lv = new LinearDisk('lv', [
      { disk: a, offsetBytes: 4 * SS, lengthBytes: 2 * SS },
      { disk: b, offsetBytes: 10 * SS, lengthBytes: 3 * SS },
    ]);
    expect(lv.map(SS, 3 * SS)).toEqual([
      { segment: 0, offsetBytes: 5 * SS, lengthBytes: SS, bufferOffset: 0 },
      { segment: 1, offsetBytes: 10 * SS, lengthBytes: 2 * SS, bufferOffset: SS },
    ]);
    const data = new Uint8Array(3 * SS).map((_, i) => i & 0xff);
    await lv.write(SS, data);
    expect(a.snapshot(5 * SS, SS)).toEqual(data.subarray(0, SS));
    expect(b.snapshot(10 * SS, 2 * SS)).toEqual(data.subarray(SS));
    expect(await lv.read(SS, 3 * SS)).toEqual(data);
  });

  test('out-of-range and misaligned I/O are errors, nothing is written', async () => {
    const pv = filled(16 * SS, 4, 'pv');
    const before = pv.snapshot();
    const lv = new LinearDisk('lv', [{ disk: pv, offsetBytes: 2 * SS, lengthBytes: 4 * SS }]);
    await expectDiskError(() => lv.read(4 * SS, SS), 'ERANGE');
    await expectDiskError(() => lv.read(3 * SS, 2 * SS), 'ERANGE');
    await expectDiskError(() => lv.write(3 * SS, new Uint8Array(2 * SS)), 'ERANGE');
    await expectDiskError(() => lv.read(100, SS), 'EALIGN');
    await expectDiskError(() => lv.write(0, new Uint8Array(100)), 'EALIGN');
    expect(pv.snapshot()).toEqual(before);
    await lv.close();
    await expectDiskError(() => lv.read(0, SS), 'ECLOSED');
    expect(pv.isClosed).toBe(false);
  });

  test('bad segment tables are refused', () => {
    const pv = new MemoryDisk({ sizeBytes: 16 * SS });
    const big = new MemoryDisk({ sizeBytes: 16 * 4096, sectorSize: 4096 });
    const make = (segments: LinearSegment<Disk>[]) => () => new LinearDisk('lv', segments);
    expect(make([])).toThrow(DiskError);
    expect(make([{ disk: pv, offsetBytes: 0, lengthBytes: 17 * SS }])).toThrow(/past the end/);
    expect(make([{ disk: pv, offsetBytes: 100, lengthBytes: SS }])).toThrow(/sector boundaries/);
    expect(make([{ disk: pv, offsetBytes: 0, lengthBytes: 0 }])).toThrow(DiskError);
    // a 512-byte device beside a 4K one: the mapping uses 4K, so 512-aligned ranges are refused
    expect(
      make([
        { disk: big, offsetBytes: 0, lengthBytes: 4096 },
        { disk: pv, offsetBytes: SS, lengthBytes: 4096 },
      ]),
    ).toThrow(/sector boundaries/);
    const mixed = new LinearDisk('lv', [
      { disk: big, offsetBytes: 0, lengthBytes: 4096 },
      { disk: pv, offsetBytes: 0, lengthBytes: 4096 },
    ]);
    expect(mixed.sectorSize).toBe(4096);
  });

  const segmentsArb = fc.array(
    fc.record({
      offsetSectors: fc.integer({ min: 0, max: 20 }),
      lengthSectors: fc.integer({ min: 1, max: 6 }),
      device: fc.integer({ min: 0, max: 2 }),
    }),
    {
      minLength: 1,
      maxLength: 6,
    },
  );
  const opsArb = fc.array(
    fc.record({
      write: fc.boolean(),
      offsetSectors: fc.integer({ min: 0, max: 40 }),
      lengthSectors: fc.integer({ min: 1, max: 12 }),
      fill: fc.integer({ min: 0, max: 255 }),
    }),
    { maxLength: 30 },
  );

  fcTest.prop([segmentsArb, opsArb, fc.boolean()])(
    'behaves like a flat array of the mapped bytes (async and sync forms)',
    async (table, ops, useSync) => {
      const devices = [0, 1, 2].map((seed) => filled(32 * SS, seed, `d${seed}`));
      const deviceOf = (index: number): MemoryDisk => devices[index] ?? fail(`no device ${index}`);
      const segments = table.map((row) => ({
        disk: deviceOf(row.device),
        offsetBytes: row.offsetSectors * SS,
        lengthBytes: row.lengthSectors * SS,
      }));
      // A flat model of what the mapping shows; overlapping segments alias the same device bytes, so the
      // model is recomputed from the devices after each write instead of being kept on its own.
      const model = (): Uint8Array => {
        const parts = segments.map((segment) => segment.disk.snapshot(segment.offsetBytes, segment.lengthBytes));
        const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
        let at = 0;
        for (const part of parts) {
          out.set(part, at);
          at += part.length;
        }
        return out;
      };
      const lv = useSync ? new LinearSyncDisk('lv', segments) : new LinearDisk('lv', segments);
      const size = segments.reduce((sum, segment) => sum + segment.lengthBytes, 0);
      expect(lv.sizeBytes).toBe(size);
      for (const op of ops) {
        const offset = op.offsetSectors * SS;
        const length = op.lengthSectors * SS;
        const inRange = offset + length <= size;
        if (!op.write) {
          if (inRange)
            expect(sameBytes(await lv.read(offset, length), model().subarray(offset, offset + length))).toBe(true);
          else await expectDiskError(() => lv.read(offset, length), 'ERANGE');
          continue;
        }
        const before = model();
        const data = new Uint8Array(length).fill(op.fill);
        if (!inRange) {
          await expectDiskError(() => lv.write(offset, data), 'ERANGE');
          expect(sameBytes(model(), before)).toBe(true);
          continue;
        }
        // The model: each mapped byte of the range, segment by segment in order, lands on its device
        // byte (segments may overlap on a device: then the later piece wins, as on a real dm table).
        const expected = devices.map((device) => device.snapshot());
        let at = 0;
        segments.forEach((segment) => {
          const from = Math.max(offset, at);
          const to = Math.min(offset + length, at + segment.lengthBytes);
          if (from < to)
            expected[devices.indexOf(segment.disk)]?.set(
              data.subarray(from - offset, to - offset),
              segment.offsetBytes + (from - at),
            );
          at += segment.lengthBytes;
        });
        await lv.write(offset, data);
        for (const [index, device] of devices.entries())
          expect(sameBytes(device.snapshot(), expected[index])).toBe(true);
        expect(sameBytes(await lv.read(0, size), model())).toBe(true);
      }
    },
  );
});
