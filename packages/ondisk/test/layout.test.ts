import { describe, expect, test } from 'vitest';
import {
  LFL_SHORT_HOLD,
  MIB,
  allGeometries,
  ballotReadSectors,
  checkAreaOffset,
  checkHostId,
  checkSectorSize,
  defaultGeometry,
  deltaSectorOffset,
  geometryFor,
  geometryFromLeader,
  hostSectorOffset,
  leaderAlignFlag,
  lvbInsideArea,
  lvbSectorOffset,
  parseAlignSize,
  requestSectorOffset,
  rindexAlignFlag,
} from '../src/index.js';
import { expectOnDiskError } from './expect-error.js';

/** Spec §2.1. */
const TABLE = [
  { sectorSize: 512, alignBytes: 1 * MIB, maxHosts: 2000, lfl: 0x10, rhf: 0x1, ballotSectors: 2048 },
  { sectorSize: 4096, alignBytes: 1 * MIB, maxHosts: 250, lfl: 0x10, rhf: 0x1, ballotSectors: 256 },
  { sectorSize: 4096, alignBytes: 2 * MIB, maxHosts: 500, lfl: 0x20, rhf: 0x2, ballotSectors: 512 },
  { sectorSize: 4096, alignBytes: 4 * MIB, maxHosts: 1000, lfl: 0x40, rhf: 0x4, ballotSectors: 1024 },
  { sectorSize: 4096, alignBytes: 8 * MIB, maxHosts: 2000, lfl: 0x80, rhf: 0x8, ballotSectors: 2048 },
] as const;

describe('geometries', () => {
  test.each(TABLE)('$sectorSize / $alignBytes: max hosts $maxHosts, flags $lfl/$rhf', (row) => {
    const geometry = geometryFor(row.sectorSize, row.alignBytes);
    expect(geometry).toEqual({ sectorSize: row.sectorSize, alignBytes: row.alignBytes, maxHosts: row.maxHosts });
    expect(leaderAlignFlag(row.alignBytes)).toBe(row.lfl);
    expect(rindexAlignFlag(row.alignBytes)).toBe(row.rhf);
    expect(geometryFromLeader(row.sectorSize, row.lfl)).toEqual(geometry);
    expect(geometryFromLeader(row.sectorSize, row.lfl | LFL_SHORT_HOLD | 0x80000000)).toEqual(geometry);
    // Ballots read leader + request + every dblock, rounded up to a power of two: the whole area.
    expect(ballotReadSectors(row.maxHosts)).toBe(row.ballotSectors);
    expect(ballotReadSectors(row.maxHosts) * row.sectorSize).toBe(row.alignBytes);
    // The used sectors fit in the area: delta max_hosts, paxos 2 + max_hosts.
    expect((row.maxHosts + 2) * row.sectorSize).toBeLessThanOrEqual(row.alignBytes);
  });

  test('allGeometries lists exactly the five, in table order, as fresh objects', () => {
    expect(allGeometries()).toEqual(
      TABLE.map(({ sectorSize, alignBytes, maxHosts }) => ({ sectorSize, alignBytes, maxHosts })),
    );
    const first = allGeometries()[0]!;
    first.maxHosts = 1;
    expect(allGeometries()[0]!.maxHosts).toBe(2000);
  });

  test('other combinations are refused with a clear message', () => {
    expect(expectOnDiskError(() => geometryFor(512, 2 * MIB), 'LAYOUT_INVALID').message).toBe(
      'unsupported sector size/align combination 512/2M: expected 512/1M, 4096/1M, 4096/2M, 4096/4M or 4096/8M',
    );
    expectOnDiskError(() => geometryFor(1024, MIB), 'LAYOUT_INVALID');
    expectOnDiskError(() => geometryFor(4096, 16 * MIB), 'LAYOUT_INVALID');
    expectOnDiskError(() => leaderAlignFlag(3 * MIB), 'LAYOUT_INVALID');
    expectOnDiskError(() => rindexAlignFlag(0), 'LAYOUT_INVALID');
    expectOnDiskError(() => checkSectorSize(520), 'LAYOUT_INVALID');
  });

  test('defaults: 512 -> 512/1M, 4096 -> 4096/8M', () => {
    expect(defaultGeometry(512)).toEqual({ sectorSize: 512, alignBytes: MIB, maxHosts: 2000 });
    expect(defaultGeometry(4096)).toEqual({ sectorSize: 4096, alignBytes: 8 * MIB, maxHosts: 2000 });
    expectOnDiskError(() => defaultGeometry(2048), 'LAYOUT_INVALID');
  });

  test('leaders without an align flag fall back by sector size; bad flags and sizes are refused', () => {
    expect(geometryFromLeader(512, 0)).toEqual(geometryFor(512, MIB));
    expect(geometryFromLeader(4096, LFL_SHORT_HOLD)).toEqual(geometryFor(4096, 8 * MIB));
    expect(expectOnDiskError(() => geometryFromLeader(1024, 0x10), 'LEADER_SECTORSIZE').message).toBe(
      'bad leader sector_size: found 1024, expected 512 or 4096',
    );
    expectOnDiskError(() => geometryFromLeader(512, 0x20), 'LEADER_ALIGN');
    expectOnDiskError(() => geometryFromLeader(4096, 0x30), 'LEADER_ALIGN');
  });

  test('parseAlignSize', () => {
    expect(parseAlignSize('1M')).toBe(MIB);
    expect(parseAlignSize('8m')).toBe(8 * MIB);
    expect(parseAlignSize('2MiB')).toBe(2 * MIB);
    expect(parseAlignSize('4194304')).toBe(4 * MIB);
    for (const bad of ['3M', '', 'M', '1G', '1.5M', '-1M', '1048577'])
      expectOnDiskError(() => parseAlignSize(bad), 'LAYOUT_INVALID');
  });
});

describe('offsets', () => {
  const g512 = geometryFor(512, MIB);
  const g4k1 = geometryFor(4096, MIB);
  const g4k8 = geometryFor(4096, 8 * MIB);

  test('delta sectors: host N at area + (N-1)*ss', () => {
    expect(deltaSectorOffset(MIB, 1, g512)).toBe(MIB);
    expect(deltaSectorOffset(MIB, 2000, g512)).toBe(MIB + 1999 * 512);
    expect(deltaSectorOffset(0, 250, g4k1)).toBe(249 * 4096);
    expectOnDiskError(() => deltaSectorOffset(0, 251, g4k1), 'LAYOUT_INVALID');
    expectOnDiskError(() => deltaSectorOffset(0, 0, g512), 'LAYOUT_INVALID');
  });

  test('paxos sectors: request at area + ss, host N at area + (N+1)*ss, LVB at sector 2002', () => {
    expect(requestSectorOffset(8 * MIB, g4k8)).toBe(8 * MIB + 4096);
    expect(hostSectorOffset(MIB, 1, g512)).toBe(MIB + 1024);
    expect(hostSectorOffset(0, 2000, g4k8)).toBe(2001 * 4096);
    expect(lvbSectorOffset(MIB, g512)).toBe(MIB + 2002 * 512);
    // The quirk: for 4K/1M the LVB lands outside the lease's own area.
    expect(lvbSectorOffset(0, g4k1)).toBe(2002 * 4096);
    expect(lvbInsideArea(g512)).toBe(true);
    expect(lvbInsideArea(g4k8)).toBe(true);
    expect(lvbInsideArea(g4k1)).toBe(false);
    expect(lvbInsideArea(geometryFor(4096, 4 * MIB))).toBe(false);
    expectOnDiskError(() => hostSectorOffset(-512, 1, g512), 'LAYOUT_INVALID');
  });

  test('host id and area offset checks', () => {
    expect(() => checkHostId(1000, geometryFor(4096, 4 * MIB))).not.toThrow();
    expect(expectOnDiskError(() => checkHostId(1001, geometryFor(4096, 4 * MIB)), 'LAYOUT_INVALID').message).toBe(
      'host_id 1001 is out of range for 4096/4M: expected 1..1000',
    );
    expect(() => checkAreaOffset(3 * MIB, g512)).not.toThrow();
    expect(() => checkAreaOffset(16 * MIB, g4k8)).not.toThrow();
    expectOnDiskError(() => checkAreaOffset(MIB, g4k8), 'LAYOUT_INVALID');
    expectOnDiskError(() => checkAreaOffset(-MIB, g512), 'LAYOUT_INVALID');
    expectOnDiskError(() => checkAreaOffset(512, g512), 'LAYOUT_INVALID');
  });

  test('ballotReadSectors = roundup_pow2(numHosts + 2)', () => {
    expect([0, 1, 2, 3, 6, 7, 14, 30, 126].map((n) => ballotReadSectors(n))).toEqual([2, 4, 4, 8, 8, 16, 16, 32, 128]);
    expect(ballotReadSectors(4, g4k1)).toBe(8);
    expectOnDiskError(() => ballotReadSectors(251, g4k1), 'LAYOUT_INVALID');
    expectOnDiskError(() => ballotReadSectors(-1), 'LAYOUT_INVALID');
    expectOnDiskError(() => ballotReadSectors(2001), 'LAYOUT_INVALID');
  });
});
