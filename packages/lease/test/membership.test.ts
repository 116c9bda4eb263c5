/**
 * delta/membership.ts: the highest host_id a whole-area read shows as ever acquired. A slot counts
 * as used exactly when a byte of owner_id, owner_generation or timestamp is non-zero.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildLockspaceArea, geometryFor, LEADER_FIELD_OFFSETS, MIB } from '@leasehold/ondisk';
import { membershipOfArea } from '@leasehold/lease';

const U64_BYTES = 8;
const MARK_FIELDS = [
  LEADER_FIELD_OFFSETS.ownerId,
  LEADER_FIELD_OFFSETS.ownerGeneration,
  LEADER_FIELD_OFFSETS.timestamp,
];
/** Fields an acquire does not use to mark a slot: changing them must not count. */
const OTHER_FIELDS = [
  LEADER_FIELD_OFFSETS.ioTimeoutSeconds,
  LEADER_FIELD_OFFSETS.writeId,
  LEADER_FIELD_OFFSETS.writeGeneration,
  LEADER_FIELD_OFFSETS.lver,
];

describe('lockspace membership from a whole-area read', () => {
  for (const [sectorSize, alignBytes] of [
    [512, MIB],
    [4096, MIB],
  ] as const) {
    const geometry = geometryFor(sectorSize, alignBytes);
    it(`an initialized ${sectorSize}/${alignBytes / MIB}M area has no host_id in use`, () => {
      const area = buildLockspaceArea({ spaceName: 'LS', geometry, ioTimeoutSeconds: 10 });
      expect(membershipOfArea(area, geometry, 7)).toEqual({ highestUsedHostId: 0, readIssuedAtSeconds: 7 });
    });

    it(`${sectorSize}/${alignBytes / MIB}M: the highest slot with a non-zero owner, generation or timestamp byte`, () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              hostId: fc.integer({ min: 1, max: geometry.maxHosts }),
              field: fc.constantFrom(...MARK_FIELDS),
              byte: fc.integer({ min: 0, max: U64_BYTES - 1 }),
              value: fc.integer({ min: 1, max: 255 }),
            }),
            { maxLength: 8 },
          ),
          fc.array(
            fc.record({
              hostId: fc.integer({ min: 1, max: geometry.maxHosts }),
              field: fc.constantFrom(...OTHER_FIELDS),
              value: fc.integer({ min: 1, max: 255 }),
            }),
            {
              maxLength: 8,
            },
          ),
          (marks, noise) => {
            const area = buildLockspaceArea({ spaceName: 'LS', geometry, ioTimeoutSeconds: 10 });
            for (const mark of marks) area[(mark.hostId - 1) * sectorSize + mark.field + mark.byte] = mark.value;
            for (const other of noise) area[(other.hostId - 1) * sectorSize + other.field] = other.value;
            const expected = marks.reduce((highest, mark) => Math.max(highest, mark.hostId), 0);
            expect(membershipOfArea(area, geometry, 0).highestUsedHostId).toBe(expected);
          },
        ),
      );
    });
  }
});
