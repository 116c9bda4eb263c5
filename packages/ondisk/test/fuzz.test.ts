/**
 * Arbitrary (corrupt) bytes and offsets into every decoder and verifier: they return a value or throw
 * OnDiskError, never anything else. Whatever a decoder returns must encode again without error.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  DELTA_LEADER_MAGIC,
  DELTA_LEADER_VERSION,
  LEADER_RECORD_BYTES,
  PAXOS_LEADER_MAGIC,
  PAXOS_LEADER_VERSION,
  decodeDblock,
  decodeDeltaSector,
  decodeHostSector,
  decodeLeader,
  decodeModeBlock,
  decodeName,
  decodeRequest,
  decodeRindexEntry,
  decodeRindexHeader,
  dblockChecksumValid,
  encodeDblock,
  encodeDeltaSector,
  encodeHostSector,
  encodeLeader,
  encodeRequestSector,
  encodeRindexEntry,
  encodeRindexHeader,
  geometryFromLeader,
  hostBitmapList,
  sanlockChecksum,
  verifyDblock,
  verifyLeader,
  verifyRequest,
  verifyRindexHeader,
  type LeaderExpectation,
} from '../src/index.js';
import { nameArb, u32 } from './arbitraries.js';
import { onlyOnDiskErrors } from './expect-error.js';

/** Mostly garbage, sometimes a plausible leader prefix so the checks past magic/version are reached. */
const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 700 }),
  fc
    .tuple(
      fc.uint8Array({ minLength: 0, maxLength: 700 }),
      fc.constantFrom(DELTA_LEADER_MAGIC, PAXOS_LEADER_MAGIC),
      fc.boolean(),
    )
    .map(([bytes, magic, goodVersion]) => {
      if (bytes.length >= 8) {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        view.setUint32(0, magic, true);
        if (goodVersion)
          view.setUint32(4, magic === DELTA_LEADER_MAGIC ? DELTA_LEADER_VERSION : PAXOS_LEADER_VERSION, true);
      }
      return bytes;
    }),
);
/** Offsets including the hostile ones: negative, fractional, NaN, huge. */
const offsetArb = fc.oneof(
  fc.integer({ min: 0, max: 700 }),
  fc.constantFrom(-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53),
);
const expectationArb: fc.Arbitrary<LeaderExpectation> = fc.record(
  {
    kind: fc.constantFrom('delta' as const, 'paxos' as const),
    offsetBytes: fc.nat(),
    spaceName: nameArb(),
    resourceName: nameArb(),
    hostId: fc.integer({ min: 1, max: 2000 }),
    sectorSize: fc.constantFrom(512, 4096),
  },
  { requiredKeys: ['kind'] },
);

describe('decoders and verifiers on arbitrary input', () => {
  test.prop([bytesArb, offsetArb, expectationArb], { numRuns: 1000 })('leader', (bytes, offset, expectation) => {
    onlyOnDiskErrors(() => {
      const rec = decodeLeader(bytes, offset);
      encodeLeader(rec, new Uint8Array(LEADER_RECORD_BYTES));
      encodeDeltaSector(rec, null, 512);
    });
    onlyOnDiskErrors(() => verifyLeader(bytes, offset, expectation));
    onlyOnDiskErrors(() => {
      const sector = decodeDeltaSector(bytes, offset);
      hostBitmapList(sector.bitmap);
      encodeDeltaSector(sector.leader, sector.bitmap, 4096);
    });
  });

  test.prop([bytesArb, offsetArb, fc.option(fc.nat(), { nil: undefined })], { numRuns: 1000 })(
    'dblock, mode block, host sector, request',
    (bytes, offset, absolute) => {
      onlyOnDiskErrors(() => {
        const dblock = decodeDblock(bytes, offset);
        dblockChecksumValid(dblock);
        encodeDblock(dblock, new Uint8Array(56));
      });
      onlyOnDiskErrors(() => verifyDblock(bytes, offset, absolute));
      onlyOnDiskErrors(() => decodeModeBlock(bytes, offset));
      onlyOnDiskErrors(() => {
        const sector = decodeHostSector(bytes, offset);
        encodeHostSector(sector.dblock, sector.mode, 512);
      });
      onlyOnDiskErrors(() => encodeRequestSector(decodeRequest(bytes, offset), 512));
      onlyOnDiskErrors(() => verifyRequest(bytes, offset, absolute));
    },
  );

  test.prop([bytesArb, offsetArb, fc.nat()], { numRuns: 1000 })(
    'names, rindex, checksums',
    (bytes, offset, areaOffset) => {
      onlyOnDiskErrors(() => decodeName(bytes, offset));
      onlyOnDiskErrors(() => encodeRindexHeader(decodeRindexHeader(bytes, offset), new Uint8Array(80)));
      onlyOnDiskErrors(() => verifyRindexHeader(bytes, offset, areaOffset));
      onlyOnDiskErrors(() => encodeRindexEntry(decodeRindexEntry(bytes, offset), new Uint8Array(64)));
      onlyOnDiskErrors(() => sanlockChecksum(bytes, offset, 168));
    },
  );

  test.prop([u32(), u32()], { numRuns: 1000 })(
    'geometry from any leader sector_size and flags',
    (sectorSize, flags) => {
      onlyOnDiskErrors(() => geometryFromLeader(sectorSize, flags));
    },
  );

  test('non-Uint8Array input is reported as BUFFER_SIZE, not a TypeError', () => {
    const notBytes = [1, 2, 3] as unknown as Uint8Array;
    expect(() => decodeLeader(notBytes)).toThrow(/expected a Uint8Array/);
    onlyOnDiskErrors(() => verifyDblock(notBytes));
  });
});
