import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  CLEAR_LEADER_MAGIC,
  DELTA_LEADER_MAGIC,
  DELTA_LEADER_VERSION,
  LEADER_CHECKSUM_COVERED_BYTES,
  LEADER_FIELD_OFFSETS,
  LEADER_RECORD_BYTES,
  nameBytes,
  LFL_ALIGN_1M,
  PAXOS_LEADER_MAGIC,
  PAXOS_LEADER_VERSION,
  decodeLeader,
  encodeLeader,
  leaderChecksum,
  leadersIdentical,
  leadersMatchForCompare,
  sanlockChecksum,
  verifyLeader,
  type LeaderExpectation,
  type LeaderRecord,
} from '../src/index.js';
import { flipBit, leaderArb, nameArb } from './arbitraries.js';
import { expectOnDiskError } from './expect-error.js';

function encoded(rec: LeaderRecord): Uint8Array {
  const bytes = new Uint8Array(LEADER_RECORD_BYTES);
  encodeLeader(rec, bytes);
  return bytes;
}

const deltaLeader: LeaderRecord = {
  magic: DELTA_LEADER_MAGIC,
  version: DELTA_LEADER_VERSION,
  flags: LFL_ALIGN_1M,
  sectorSize: 512,
  numHosts: 0n,
  maxHosts: 1n,
  ownerId: 7n,
  ownerGeneration: 3n,
  lver: 0n,
  spaceName: 'LS1',
  resourceName: '1b7e2c1e-aaaa-bbbb-cccc-0123456789ab.node7',
  timestamp: 4463n,
  unused1: 0n,
  checksum: 0,
  unused2: 0,
  ioTimeoutSeconds: 10,
  writeId: 0n,
  writeGeneration: 5n,
  writeTimestamp: 7n,
};

const paxosLeader: LeaderRecord = {
  ...deltaLeader,
  magic: PAXOS_LEADER_MAGIC,
  version: PAXOS_LEADER_VERSION,
  numHosts: 2000n,
  maxHosts: 2000n,
  ownerId: 2n,
  lver: 9n,
  resourceName: 'RES1',
  ioTimeoutSeconds: 0,
  writeId: 2n,
  writeGeneration: 3n,
  writeTimestamp: 4463n,
};
const deltaExpect: LeaderExpectation = { kind: 'delta', spaceName: 'LS1', offsetBytes: 1048576 };
const paxosExpect: LeaderExpectation = {
  kind: 'paxos',
  spaceName: 'LS1',
  resourceName: 'RES1',
  offsetBytes: 1048576,
  hostId: 1,
};

/** A leader whose first two fields suit `kind`, so verification gets as far as the checksum. */
const validLeaderArb = (kind: 'delta' | 'paxos'): fc.Arbitrary<LeaderRecord> =>
  leaderArb(kind === 'delta' ? DELTA_LEADER_MAGIC : PAXOS_LEADER_MAGIC).map((rec) => ({
    ...rec,
    version: kind === 'delta' ? DELTA_LEADER_VERSION : PAXOS_LEADER_VERSION,
    numHosts: rec.numHosts | 1n,
  }));

describe('leader round trips', () => {
  test.prop([leaderArb()], { numRuns: 300 })('decode(encode(rec)) = rec with the computed checksum', (rec) => {
    const bytes = encoded(rec);
    const checksum = leaderChecksum(rec);
    expect(decodeLeader(bytes)).toEqual({ ...rec, checksum });
    expect(bytes.length).toBe(LEADER_RECORD_BYTES);
  });

  test.prop([validLeaderArb('delta')])('delta leaders round trip and verify', (rec) => {
    const bytes = encoded(rec);
    expect(verifyLeader(bytes, 0, { kind: 'delta', spaceName: rec.spaceName })).toEqual({
      ...rec,
      checksum: leaderChecksum(rec),
    });
  });

  test.prop([validLeaderArb('paxos')])('paxos leaders round trip and verify', (rec) => {
    const bytes = encoded(rec);
    expect(
      verifyLeader(bytes, 0, { kind: 'paxos', spaceName: rec.spaceName, resourceName: rec.resourceName, hostId: 1 }),
    ).toEqual({
      ...rec,
      checksum: leaderChecksum(rec),
    });
  });

  test.prop([fc.uint8Array({ minLength: LEADER_RECORD_BYTES, maxLength: LEADER_RECORD_BYTES }), nameArb(), nameArb()], {
    numRuns: 300,
  })(
    'encode(decode(bytes)) reproduces the bytes (canonical names, checksum recomputed)',
    (raw, spaceName, resourceName) => {
      const bytes = raw.slice();
      // Canonical name fields: NUL padded, as encodeName writes them.
      for (const [field, name] of [
        [LEADER_FIELD_OFFSETS.spaceName, spaceName],
        [LEADER_FIELD_OFFSETS.resourceName, resourceName],
      ] as const) {
        const stored = nameBytes(name);
        for (let i = 0; i < 48; i++) bytes[field + i] = stored[i] ?? 0;
      }
      new DataView(bytes.buffer).setUint32(168, sanlockChecksum(bytes, 0, 168), true);
      const again = new Uint8Array(LEADER_RECORD_BYTES);
      encodeLeader(decodeLeader(bytes), again);
      expect(again).toEqual(bytes);
    },
  );

  test('encode writes exactly 200 bytes at the offset and leaves the rest alone', () => {
    const target = new Uint8Array(600).fill(0xaa);
    encodeLeader(paxosLeader, target, 300);
    expect(target.subarray(0, 300).every((b) => b === 0xaa)).toBe(true);
    expect(target.subarray(500).every((b) => b === 0xaa)).toBe(true);
    expect(decodeLeader(target, 300)).toEqual({ ...paxosLeader, checksum: leaderChecksum(paxosLeader) });
  });

  test('works on views with a non-zero byteOffset (pooled Buffers, subarrays)', () => {
    const backing = new Uint8Array(1000);
    const view = backing.subarray(13, 13 + 400);
    encodeLeader(paxosLeader, view, 100);
    expect(verifyLeader(view, 100, paxosExpect).lver).toBe(9n);
    const pooled = Buffer.from(view.subarray(100, 300));
    expect(pooled.buffer.byteLength).toBeGreaterThan(200); // a slice of Node's Buffer pool
    expect(verifyLeader(pooled, 0, paxosExpect).resourceName).toBe('RES1');
  });

  test('a 48-byte name has no terminator and round trips', () => {
    const name = 'n'.repeat(48);
    const rec = { ...paxosLeader, spaceName: name, resourceName: name };
    const bytes = encoded(rec);
    expect(bytes[LEADER_FIELD_OFFSETS.spaceName + 47]).toBe(0x6e);
    expect(bytes[LEADER_FIELD_OFFSETS.resourceName]).toBe(0x6e);
    expect(decodeLeader(bytes).spaceName).toBe(name);
  });

  test('encode rejects values that do not fit their field', () => {
    expect(() => encoded({ ...deltaLeader, lver: -1n })).toThrow(RangeError);
    expect(() => encoded({ ...deltaLeader, lver: 1n << 64n })).toThrow(RangeError);
    expect(() => encoded({ ...deltaLeader, flags: 2 ** 32 })).toThrow(RangeError);
    expect(() => encoded({ ...deltaLeader, flags: -(2 ** 31) - 1 })).toThrow(RangeError);
    // The int32 result of a bitwise operation is stored as its u32 bit pattern.
    expect(decodeLeader(encoded({ ...deltaLeader, flags: 0x80000000 | LFL_ALIGN_1M })).flags).toBe(0x80000010);
    expect(() => encoded({ ...deltaLeader, ioTimeoutSeconds: 65536 })).toThrow(RangeError);
    expect(() => encoded({ ...deltaLeader, version: 1.5 })).toThrow(RangeError);
    expectOnDiskError(() => encoded({ ...deltaLeader, spaceName: 'x'.repeat(49) }), 'NAME_TOO_LONG');
    expectOnDiskError(() => encodeLeader(deltaLeader, new Uint8Array(199)), 'BUFFER_SIZE');
  });
});

describe('verifyLeader', () => {
  test('accepts good delta and paxos leaders', () => {
    expect(verifyLeader(encoded(deltaLeader), 0, deltaExpect).resourceName).toBe(deltaLeader.resourceName);
    expect(verifyLeader(encoded(paxosLeader), 0, paxosExpect).lver).toBe(9n);
  });

  test('bad checksum: says where, what was found and what was computed', () => {
    const bytes = encoded(deltaLeader);
    const good = leaderChecksum(deltaLeader);
    new DataView(bytes.buffer).setUint32(168, 0x1234abcd, true);
    const error = expectOnDiskError(() => verifyLeader(bytes, 0, deltaExpect), 'LEADER_CHECKSUM');
    expect(error.message).toBe(
      `bad leader checksum at offset 1048576: found 0x1234abcd, expected 0x${good.toString(16).padStart(8, '0')} (computed)`,
    );
    expect(error.details).toEqual({
      offsetBytes: 1048576,
      found: '0x1234abcd',
      expected: `0x${good.toString(16).padStart(8, '0')}`,
    });
    expect(error.sanlockErrno).toBe(-229);
  });

  test('without an absolute offset the message gives the buffer offset', () => {
    const sector = new Uint8Array(1024);
    encodeLeader(deltaLeader, sector, 512);
    const flipped = flipBit(sector, 512 + 150, 0);
    const error = expectOnDiskError(() => verifyLeader(flipped, 512, { kind: 'delta' }), 'LEADER_CHECKSUM');
    expect(error.message).toMatch(
      /^bad leader checksum at buffer offset 512: found 0x[0-9a-f]{8}, expected 0x[0-9a-f]{8} \(computed\)$/,
    );
    expect(error.details.offsetBytes).toBeUndefined();
  });

  test('wrong magic, including the other kind of leader', () => {
    const error = expectOnDiskError(() => verifyLeader(encoded(paxosLeader), 0, { kind: 'delta' }), 'LEADER_MAGIC');
    expect(error.message).toBe(
      'bad leader magic at buffer offset 0: found 0x06152010 (paxos leader), expected 0x12212010 (delta leader)',
    );
    expectOnDiskError(() => verifyLeader(new Uint8Array(512), 0, { kind: 'paxos' }), 'LEADER_MAGIC');
    expect(
      expectOnDiskError(() => verifyLeader(encoded(deltaLeader), 0, { kind: 'paxos' }), 'LEADER_MAGIC').sanlockErrno,
    ).toBe(-223);
  });

  test('CLEAR magic gives LEADER_CLEARED (sanlock -223)', () => {
    const cleared = encoded({ ...paxosLeader, magic: CLEAR_LEADER_MAGIC });
    const error = expectOnDiskError(() => verifyLeader(cleared, 0, paxosExpect), 'LEADER_CLEARED');
    expect(error.message).toContain('cleared');
    expect(error.message).toContain('0x11282016');
    expect(error.sanlockErrno).toBe(-223);
    expectOnDiskError(() => verifyLeader(cleared, 0, { kind: 'delta' }), 'LEADER_CLEARED');
  });

  test('only the major half of version is checked; unknown minor versions and flags are kept', () => {
    const newer = { ...paxosLeader, version: 0x0006ffff, flags: (0xffff0000 | LFL_ALIGN_1M) >>> 0 };
    expect(verifyLeader(encoded(newer), 0, paxosExpect)).toEqual({ ...newer, checksum: leaderChecksum(newer) });
    const error = expectOnDiskError(
      () => verifyLeader(encoded({ ...paxosLeader, version: 0x00070004 }), 0, paxosExpect),
      'LEADER_VERSION',
    );
    expect(error.message).toBe(
      'bad paxos leader version at offset 1048576: found 0x00070004, expected major version 0x00060000',
    );
    expectOnDiskError(
      () => verifyLeader(encoded({ ...deltaLeader, version: 0x00020004 }), 0, deltaExpect),
      'LEADER_VERSION',
    );
  });

  test('names are compared like strncmp(.., 48)', () => {
    expect(
      expectOnDiskError(
        () => verifyLeader(encoded(deltaLeader), 0, { ...deltaExpect, spaceName: 'LS2' }),
        'LEADER_LOCKSPACE',
      ).message,
    ).toBe('wrong lockspace name in leader at offset 1048576: found "LS1", expected "LS2"');
    expectOnDiskError(
      () => verifyLeader(encoded(paxosLeader), 0, { ...paxosExpect, resourceName: 'RES' }),
      'LEADER_RESOURCE',
    );
    // Bytes after a NUL and past 48 do not count.
    expect(() => verifyLeader(encoded(paxosLeader), 0, { ...paxosExpect, resourceName: 'RES1\0junk' })).not.toThrow();
    const long = { ...paxosLeader, resourceName: 'r'.repeat(48) };
    expect(() =>
      verifyLeader(encoded(long), 0, { ...paxosExpect, resourceName: 'r'.repeat(48) + 'extra' }),
    ).not.toThrow();
    // A delta leader's resource_name is the owner's host name, never checked against an expectation.
    expect(() => verifyLeader(encoded(deltaLeader), 0, { ...deltaExpect, resourceName: 'other' })).not.toThrow();
  });

  test('num_hosts below our host_id gives LEADER_NUMHOSTS; sector size is checked when asked', () => {
    const small = encoded({ ...paxosLeader, numHosts: 4n });
    expect(() => verifyLeader(small, 0, { ...paxosExpect, hostId: 4 })).not.toThrow();
    expect(
      expectOnDiskError(() => verifyLeader(small, 0, { ...paxosExpect, hostId: 5 }), 'LEADER_NUMHOSTS').sanlockErrno,
    ).toBe(-228);
    expectOnDiskError(
      () => verifyLeader(encoded(paxosLeader), 0, { ...paxosExpect, sectorSize: 4096 }),
      'LEADER_SECTORSIZE',
    );
  });

  test('a short buffer gives BUFFER_SIZE', () => {
    expectOnDiskError(() => verifyLeader(new Uint8Array(300), 101, deltaExpect), 'BUFFER_SIZE');
    expectOnDiskError(() => decodeLeader(new Uint8Array(199)), 'BUFFER_SIZE');
  });
});

describe('checksum coverage (every single-bit flip)', () => {
  const checkFlips = (rec: LeaderRecord, expect0: LeaderExpectation): void => {
    const bytes = encoded(rec);
    const stored = leaderChecksum(rec);
    for (let byteIndex = 0; byteIndex < LEADER_RECORD_BYTES; byteIndex++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = flipBit(bytes, byteIndex, bit);
        if (byteIndex < LEADER_CHECKSUM_COVERED_BYTES) {
          // Covered: the CRC changes, so verification fails (possibly earlier, on magic/version/names).
          expect(sanlockChecksum(flipped, 0, LEADER_CHECKSUM_COVERED_BYTES)).not.toBe(stored);
          expect(() => verifyLeader(flipped, 0, expect0)).toThrow();
        } else if (byteIndex < LEADER_CHECKSUM_COVERED_BYTES + 4) {
          expectOnDiskError(() => verifyLeader(flipped, 0, expect0), 'LEADER_CHECKSUM');
        } else {
          // Not covered: unused2, io_timeout, write_id, write_generation, write_timestamp (event payload).
          const decoded = verifyLeader(flipped, 0, expect0);
          expect(leadersIdentical(decoded, decodeLeader(bytes))).toBe(false);
        }
      }
    }
  };

  test('fixed delta and paxos leaders: flips in 0..171 are detected, flips in 172..199 are not', () => {
    checkFlips(deltaLeader, deltaExpect);
    checkFlips(paxosLeader, paxosExpect);
  });

  test.prop([validLeaderArb('delta'), validLeaderArb('paxos')], { numRuns: 15 })(
    'random leaders: same coverage',
    (delta, paxos) => {
      checkFlips(delta, { kind: 'delta' });
      checkFlips(paxos, { kind: 'paxos' });
    },
  );

  test.prop([
    validLeaderArb('paxos'),
    fc.integer({ min: 0, max: LEADER_CHECKSUM_COVERED_BYTES - 1 }),
    fc.integer({ min: 0, max: 7 }),
  ])('a covered flip that keeps magic/version/names intact is reported as LEADER_CHECKSUM', (rec, byteIndex, bit) => {
    fc.pre(byteIndex >= 8); // magic and version have their own checks
    const flipped = flipBit(encoded(rec), byteIndex, bit);
    // No name expectations and no host id: only the checksum can catch the flip.
    expectOnDiskError(() => verifyLeader(flipped, 0, { kind: 'paxos' }), 'LEADER_CHECKSUM');
  });
});

describe('leader comparisons', () => {
  test('leadersMatchForCompare looks at bytes 0..151 only', () => {
    expect(leadersMatchForCompare(paxosLeader, { ...paxosLeader, timestamp: 1n, writeId: 9n, checksum: 5 })).toBe(true);
    expect(leadersMatchForCompare(paxosLeader, { ...paxosLeader, lver: 10n })).toBe(false);
    expect(leadersMatchForCompare(paxosLeader, { ...paxosLeader, resourceName: 'RES2' })).toBe(false);
  });

  test('leadersIdentical compares all 200 bytes with the stored checksums', () => {
    expect(leadersIdentical(paxosLeader, { ...paxosLeader })).toBe(true);
    expect(leadersIdentical(paxosLeader, { ...paxosLeader, checksum: 1 })).toBe(false);
    expect(leadersIdentical(paxosLeader, { ...paxosLeader, writeTimestamp: 1n })).toBe(false);
  });
});
