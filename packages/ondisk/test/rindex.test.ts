import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  MIB,
  RINDEX_DEFAULT_MAX_RESOURCES,
  RINDEX_MAGIC,
  RINDEX_VERSION,
  buildRindexArea,
  decodeRindexEntry,
  decodeRindexHeader,
  encodeRindexEntry,
  encodeRindexHeader,
  geometryFor,
  allGeometries,
  rindexEntriesPerSector,
  rindexEntryIsFree,
  rindexEntryOffset,
  rindexLeaseOffset,
  rindexMaxEntries,
  rindexResourceOffset,
  verifyRindexHeader,
} from '../src/index.js';
import { rindexEntryArb, rindexHeaderArb } from './arbitraries.js';
import { expectOnDiskError } from './expect-error.js';

describe('rindex', () => {
  test.prop([rindexHeaderArb()])('header round trip', (header) => {
    const bytes = new Uint8Array(80);
    encodeRindexHeader(header, bytes);
    expect(decodeRindexHeader(bytes)).toEqual(header);
  });

  test.prop([rindexEntryArb()])('entry round trip', (entry) => {
    const bytes = new Uint8Array(64);
    encodeRindexEntry(entry, bytes);
    expect(decodeRindexEntry(bytes)).toEqual(entry);
  });

  test('the header bytes sanlock wrote for 512/1M (spec §1.6)', () => {
    const area = buildRindexArea({ lockspaceName: 'LS', geometry: geometryFor(512, MIB), areaOffsetBytes: 0 });
    expect([...area.subarray(0, 16)]).toEqual([
      0x18, 0x20, 0x04, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
    ]);
    expect([...area.subarray(16, 20)]).toEqual([0x00, 0x10, 0x00, 0x00]);
    expect(area.subarray(80).every((b) => b === 0)).toBe(true);
    expect(verifyRindexHeader(area, 0, 0)).toEqual({
      magic: RINDEX_MAGIC,
      version: RINDEX_VERSION,
      flags: 1,
      sectorSize: 512,
      maxResources: RINDEX_DEFAULT_MAX_RESOURCES,
      unused: 0,
      rxOffsetBytes: 0n,
      lockspaceName: 'LS',
    });
  });

  test('verify checks magic, major version and rx_offset', () => {
    const geometry = geometryFor(4096, 2 * MIB);
    const area = buildRindexArea({ lockspaceName: 'LS', geometry, areaOffsetBytes: 4 * MIB });
    expect(verifyRindexHeader(area, 0, 4 * MIB).flags).toBe(2);
    expect(expectOnDiskError(() => verifyRindexHeader(area, 0, 2 * MIB), 'RINDEX_OFFSET').message).toBe(
      'bad rindex header rx_offset at offset 2097152: found 4194304, expected 2097152',
    );
    expectOnDiskError(() => verifyRindexHeader(new Uint8Array(80), 0, 0), 'RINDEX_MAGIC');
    const v2 = area.slice();
    v2[6] = 2;
    expectOnDiskError(() => verifyRindexHeader(v2, 0, 4 * MIB), 'RINDEX_VERSION');
    v2[4] = 9; // minor version: ignored
    v2[6] = 1;
    expect(() => verifyRindexHeader(v2, 0, 4 * MIB)).not.toThrow();
    expectOnDiskError(() => verifyRindexHeader(area, 0, Number.NaN), 'LAYOUT_INVALID');
    expectOnDiskError(() => buildRindexArea({ lockspaceName: 'LS', geometry, areaOffsetBytes: MIB }), 'LAYOUT_INVALID');
  });

  test('layout: entries per sector, max entries, entry/lease/resource offsets (spec §2.1, §2.4)', () => {
    expect(allGeometries().map((g) => [rindexEntriesPerSector(g), rindexMaxEntries(g)])).toEqual([
      [8, 16000],
      [64, 16000],
      [64, 32000],
      [64, 64000],
      [64, 128000],
    ]);
    const g = geometryFor(512, MIB);
    expect(rindexEntryOffset(MIB, 0, g)).toBe(MIB + 512);
    expect(rindexEntryOffset(MIB, 9, g)).toBe(MIB + 512 + 9 * 64);
    expect(rindexLeaseOffset(MIB, g)).toBe(2 * MIB);
    expect(rindexResourceOffset(MIB, 0, g)).toBe(3 * MIB);
    expect(rindexResourceOffset(MIB, 5, g)).toBe(8 * MIB);
    expectOnDiskError(() => rindexEntryOffset(0, 16000, g), 'LAYOUT_INVALID');
    expect(rindexEntryIsFree({ resOffsetBytes: 0n, flags: 0, unused: 0, name: '' })).toBe(true);
    expect(rindexEntryIsFree({ resOffsetBytes: BigInt(3 * MIB), flags: 0, unused: 0, name: 'R' })).toBe(false);
    fc.assert(fc.property(fc.nat({ max: 15999 }), (index) => rindexEntryOffset(0, index, g) + 64 <= MIB));
  });
});
