import { describe, expect, test } from 'vitest';
import {
  CLEAR_LEADER_MAGIC,
  DEFAULT_IO_TIMEOUT_SECONDS,
  LEADER_FIELD_OFFSETS,
  REQUEST_MAGIC,
  REQUEST_VERSION,
  allGeometries,
  buildLockspaceArea,
  buildResourceArea,
  decodeHostSector,
  decodeLeader,
  deltaSectorOffset,
  dblockIsEmpty,
  geometryFor,
  geometryFromLeader,
  hostSectorOffset,
  leaderAlignFlag,
  requestSectorOffset,
  verifyDblock,
  verifyLeader,
  verifyRequest,
  MIB,
} from '../src/index.js';
import { expectOnDiskError } from './expect-error.js';

const zeroRange = (bytes: Uint8Array, start: number, end = bytes.length): boolean =>
  bytes.subarray(start, end).every((b) => b === 0);
const geometryName = (g: { sectorSize: number; alignBytes: number }): string =>
  `${g.sectorSize}/${g.alignBytes / MIB}M`;

describe.each(allGeometries().map((geometry) => ({ geometry, name: geometryName(geometry) })))(
  'areas for $name',
  ({ geometry }) => {
    test('lockspace: every host sector holds the same free delta leader, everything else is zero', () => {
      const area = buildLockspaceArea({ spaceName: 'LS', geometry, ioTimeoutSeconds: 10 });
      expect(area.length).toBe(geometry.alignBytes);
      const first = verifyLeader(area, 0, { kind: 'delta', spaceName: 'LS', sectorSize: geometry.sectorSize });
      expect(first).toMatchObject({
        flags: leaderAlignFlag(geometry.alignBytes),
        numHosts: 0n,
        maxHosts: 1n,
        ownerId: 0n,
        timestamp: 0n,
        resourceName: '',
        ioTimeoutSeconds: 10,
      });
      expect(geometryFromLeader(first.sectorSize, first.flags)).toEqual(geometry);
      for (const hostId of [1, 2, geometry.maxHosts]) {
        const offset = deltaSectorOffset(0, hostId, geometry);
        expect(decodeLeader(area, offset)).toEqual(first);
        expect(zeroRange(area, offset + 200, offset + geometry.sectorSize)).toBe(true);
      }
      expect(zeroRange(area, geometry.maxHosts * geometry.sectorSize)).toBe(true);
    });

    test('resource: leader in sector 0, request in sector 1, all else zero', () => {
      const area = buildResourceArea({ spaceName: 'LS', resourceName: 'R', geometry });
      expect(area.length).toBe(geometry.alignBytes);
      const leader = verifyLeader(area, 0, {
        kind: 'paxos',
        spaceName: 'LS',
        resourceName: 'R',
        hostId: geometry.maxHosts,
      });
      expect(leader).toMatchObject({
        numHosts: BigInt(geometry.maxHosts),
        maxHosts: BigInt(geometry.maxHosts),
        lver: 0n,
        ioTimeoutSeconds: 0,
        writeTimestamp: 0n,
      });
      expect(zeroRange(area, 200, geometry.sectorSize)).toBe(true);
      expect(verifyRequest(area, requestSectorOffset(0, geometry))).toEqual({
        magic: REQUEST_MAGIC,
        version: REQUEST_VERSION,
        lver: 0n,
        forceMode: 0,
      });
      expect(zeroRange(area, geometry.sectorSize + 8)).toBe(true);
      const host = decodeHostSector(area, hostSectorOffset(0, geometry.maxHosts, geometry));
      expect(dblockIsEmpty(host.dblock)).toBe(true);
      expect(() => verifyDblock(area, hostSectorOffset(0, 1, geometry))).not.toThrow();
    });

    test('resource num_hosts: 0 or above max means max', () => {
      const numHostsOf = (numHosts: number): bigint =>
        decodeLeader(buildResourceArea({ spaceName: 'LS', resourceName: 'R', geometry, numHosts })).numHosts;
      expect(numHostsOf(4)).toBe(4n);
      expect(numHostsOf(0)).toBe(BigInt(geometry.maxHosts));
      expect(numHostsOf(geometry.maxHosts + 1)).toBe(BigInt(geometry.maxHosts));
      expectOnDiskError(() => numHostsOf(-1), 'LAYOUT_INVALID');
    });

    test('CLEAR: magic 0x11282016 and write_timestamp; reads fail with LEADER_CLEARED', () => {
      const area = buildResourceArea({ spaceName: 'LS', resourceName: 'R', geometry, clearWriteTimestamp: 12345n });
      const leader = decodeLeader(area);
      expect(leader.magic).toBe(CLEAR_LEADER_MAGIC);
      expect(leader.writeTimestamp).toBe(12345n);
      expectOnDiskError(
        () => verifyLeader(area, 0, { kind: 'paxos', spaceName: 'LS', resourceName: 'R' }),
        'LEADER_CLEARED',
      );
      // write_timestamp is outside the checksum: a different clear time changes only those 8 bytes.
      const other = buildResourceArea({ spaceName: 'LS', resourceName: 'R', geometry, clearWriteTimestamp: 1n });
      const differing: number[] = [];
      for (let i = 0; i < area.length; i++) if (area[i] !== other[i]) differing.push(i);
      expect(differing.length).toBeGreaterThan(0);
      expect(
        differing.every((i) => i >= LEADER_FIELD_OFFSETS.writeTimestamp && i < LEADER_FIELD_OFFSETS.writeTimestamp + 8),
      ).toBe(true);
    });
  },
);

describe('area options', () => {
  const geometry = geometryFor(512, MIB);

  test('io_timeout 0 means the default 10, like sanlock -o 0; values are u16', () => {
    expect(decodeLeader(buildLockspaceArea({ spaceName: 'LS', geometry, ioTimeoutSeconds: 0 })).ioTimeoutSeconds).toBe(
      DEFAULT_IO_TIMEOUT_SECONDS,
    );
    expect(
      decodeLeader(buildLockspaceArea({ spaceName: 'LS', geometry, ioTimeoutSeconds: 300 })).ioTimeoutSeconds,
    ).toBe(300);
    expect(() => buildLockspaceArea({ spaceName: 'LS', geometry, ioTimeoutSeconds: 70000 })).toThrow(RangeError);
  });

  test('names are validated; a hand-built geometry is re-derived from the table', () => {
    expectOnDiskError(() => buildLockspaceArea({ spaceName: '', geometry, ioTimeoutSeconds: 10 }), 'NAME_INVALID');
    expectOnDiskError(
      () => buildResourceArea({ spaceName: 'LS', resourceName: 'x'.repeat(49), geometry }),
      'NAME_TOO_LONG',
    );
    expectOnDiskError(
      () => buildResourceArea({ spaceName: 'LS', resourceName: 'R', geometry: { ...geometry, alignBytes: 2 * MIB } }),
      'LAYOUT_INVALID',
    );
    const forged = buildResourceArea({ spaceName: 'LS', resourceName: 'R', geometry: { ...geometry, maxHosts: 7 } });
    expect(decodeLeader(forged).maxHosts).toBe(2000n);
  });
});
