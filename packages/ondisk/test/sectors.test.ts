import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  DBLOCK_BYTES,
  DBLOCK_CHECKSUM_COVERED_BYTES,
  DBLOCK_FL_RELEASED,
  DELTA_LEADER_MAGIC,
  DELTA_LEADER_VERSION,
  FORCE_MODE_GRACEFUL,
  HOST_BITMAP_OFFSET_BYTES,
  LFL_ALIGN_8M,
  MBLOCK_SHARED,
  MODE_BLOCK_OFFSET_BYTES,
  PAXOS_LEADER_MAGIC,
  PAXOS_LEADER_VERSION,
  REQUEST_MAGIC,
  REQUEST_VERSION,
  decodeDblock,
  decodeDeltaSector,
  decodeHostSector,
  decodeLeader,
  decodeModeBlock,
  decodeRequest,
  dblockChecksum,
  dblockChecksumValid,
  dblockIsEmpty,
  emptyHostBitmap,
  encodeDblock,
  encodeDeltaSector,
  encodeHostSector,
  encodeModeBlock,
  encodePaxosLeaderSector,
  encodeRequestSector,
  hostBitmapList,
  hostBitmapSet,
  leaderChecksum,
  verifyDblock,
  verifyRequest,
  type Dblock,
  type LeaderRecord,
} from '../src/index.js';
import { dblockArb, flipBit, leaderArb, modeBlockArb, requestArb } from './arbitraries.js';
import { expectOnDiskError } from './expect-error.js';

const zeroRange = (bytes: Uint8Array, start: number, end = bytes.length): boolean =>
  bytes.subarray(start, end).every((b) => b === 0);

const deltaLeader: LeaderRecord = {
  magic: DELTA_LEADER_MAGIC,
  version: DELTA_LEADER_VERSION,
  flags: LFL_ALIGN_8M,
  sectorSize: 4096,
  numHosts: 0n,
  maxHosts: 1n,
  ownerId: 2n,
  ownerGeneration: 1n,
  lver: 0n,
  spaceName: 'LS',
  resourceName: 'host-two',
  timestamp: 100n,
  unused1: 0n,
  checksum: 0,
  unused2: 0,
  ioTimeoutSeconds: 10,
  writeId: 0n,
  writeGeneration: 5n,
  writeTimestamp: 7n,
};

const ownedDblock: Dblock = {
  mbal: 2001n,
  bal: 2001n,
  inp: 1n,
  inp2: 1n,
  inp3: 4463n,
  lver: 1n,
  checksum: 0,
  flags: 0,
};
const emptyDblock: Dblock = { mbal: 0n, bal: 0n, inp: 0n, inp2: 0n, inp3: 0n, lver: 0n, checksum: 0, flags: 0 };

describe('delta-lease sectors', () => {
  test.each([512, 4096])('ss %i: leader, zero to 255, bitmap at 256, zero padding', (sectorSize) => {
    const bitmap = emptyHostBitmap();
    hostBitmapSet(bitmap, 2, true);
    const sector = encodeDeltaSector({ ...deltaLeader, sectorSize }, bitmap, sectorSize);
    expect(sector.length).toBe(sectorSize);
    expect(zeroRange(sector, 200, 256)).toBe(true);
    expect(sector[HOST_BITMAP_OFFSET_BYTES]).toBe(0x02);
    expect(zeroRange(sector, 257)).toBe(true);
    const decoded = decodeDeltaSector(sector);
    expect(decoded.leader).toEqual({
      ...deltaLeader,
      sectorSize,
      checksum: leaderChecksum({ ...deltaLeader, sectorSize }),
    });
    expect(hostBitmapList(decoded.bitmap)).toEqual([2]);
    decoded.bitmap[0] = 0xff; // a copy
    expect(sector[HOST_BITMAP_OFFSET_BYTES]).toBe(0x02);
  });

  test('without a bitmap the sector past the leader is zero (acquire/release clear the bitmap)', () => {
    const sector = encodeDeltaSector(deltaLeader, null, 512);
    expect(zeroRange(sector, 200)).toBe(true);
  });

  test.prop([leaderArb(), fc.uint8Array({ minLength: 256, maxLength: 256 }), fc.constantFrom(512, 4096)])(
    'round trip',
    (leader, bitmap, sectorSize) => {
      const decoded = decodeDeltaSector(encodeDeltaSector(leader, bitmap, sectorSize));
      expect(decoded.leader).toEqual({ ...leader, checksum: leaderChecksum(leader) });
      expect(decoded.bitmap).toEqual(bitmap);
    },
  );

  test('bad sizes are refused', () => {
    expectOnDiskError(() => encodeDeltaSector(deltaLeader, null, 1024), 'LAYOUT_INVALID');
    expectOnDiskError(() => encodeDeltaSector(deltaLeader, new Uint8Array(255), 512), 'BUFFER_SIZE');
    expectOnDiskError(() => decodeDeltaSector(new Uint8Array(511)), 'BUFFER_SIZE');
  });

  test('paxos leader sector: leader then zeros', () => {
    const leader = { ...deltaLeader, magic: PAXOS_LEADER_MAGIC, version: PAXOS_LEADER_VERSION };
    const sector = encodePaxosLeaderSector(leader, 4096);
    expect(sector.length).toBe(4096);
    expect(zeroRange(sector, 200)).toBe(true);
    expect(decodeLeader(sector).resourceName).toBe('host-two');
  });
});

describe('dblocks', () => {
  test.prop([dblockArb()], { numRuns: 300 })('round trip with the computed checksum', (dblock) => {
    const bytes = new Uint8Array(DBLOCK_BYTES);
    const checksum = encodeDblock(dblock, bytes);
    expect(checksum).toBe(dblockChecksum(dblock));
    const decoded = decodeDblock(bytes);
    expect(decoded).toEqual({ ...dblock, checksum });
    expect(dblockChecksumValid(decoded)).toBe(true);
    expect(verifyDblock(bytes)).toEqual(decoded);
  });

  test('empty means checksum, mbal, bal, inp and lver zero (sanlock); such a block is valid', () => {
    expect(dblockIsEmpty(emptyDblock)).toBe(true);
    expect(dblockChecksumValid(emptyDblock)).toBe(true);
    expect(dblockIsEmpty({ ...emptyDblock, inp2: 5n, inp3: 6n, flags: DBLOCK_FL_RELEASED })).toBe(true);
    expect(dblockIsEmpty({ ...emptyDblock, lver: 1n })).toBe(false);
    expect(dblockChecksumValid({ ...emptyDblock, lver: 1n })).toBe(false);
    expect(() => verifyDblock(new Uint8Array(DBLOCK_BYTES))).not.toThrow();
  });

  test('a bad checksum gives DBLOCK_CHECKSUM (sanlock -214) with found/expected/offset', () => {
    const bytes = new Uint8Array(DBLOCK_BYTES);
    const checksum = encodeDblock(ownedDblock, bytes);
    const error = expectOnDiskError(() => verifyDblock(flipBit(bytes, 40, 0), 0, 1049600), 'DBLOCK_CHECKSUM');
    expect(error.message).toMatch(
      new RegExp(
        `^bad dblock checksum at offset 1049600: found 0x${checksum.toString(16).padStart(8, '0')}, expected 0x[0-9a-f]{8} \\(computed\\)$`,
      ),
    );
    expect(error.sanlockErrno).toBe(-214);
  });

  const checkFlips = (dblock: Dblock): void => {
    const bytes = new Uint8Array(DBLOCK_BYTES);
    encodeDblock(dblock, bytes);
    for (let byteIndex = 0; byteIndex < DBLOCK_BYTES; byteIndex++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = flipBit(bytes, byteIndex, bit);
        if (byteIndex < DBLOCK_CHECKSUM_COVERED_BYTES + 4) {
          expect(dblockChecksumValid(decodeDblock(flipped))).toBe(false);
          expectOnDiskError(() => verifyDblock(flipped), 'DBLOCK_CHECKSUM');
        } else {
          // flags (RELEASED) at 52..55 is not covered by the checksum.
          expect(verifyDblock(flipped).flags).not.toBe(dblock.flags);
        }
      }
    }
  };

  test('every flip in 0..51 of a non-empty dblock is detected; flips in flags are not', () => {
    checkFlips(ownedDblock);
    checkFlips({ ...ownedDblock, flags: DBLOCK_FL_RELEASED });
  });

  test.prop([dblockArb().map((d) => ({ ...d, mbal: d.mbal | 1n }))], { numRuns: 100 })(
    'random non-empty dblocks: same coverage',
    (dblock) => {
      checkFlips(dblock);
    },
  );

  test('documented gap: in an empty (all-zero) dblock, flips in inp2/inp3/flags still count as empty', () => {
    const zero = new Uint8Array(DBLOCK_BYTES);
    expect(() => verifyDblock(flipBit(zero, 24, 0))).not.toThrow();
    expect(() => verifyDblock(flipBit(zero, 39, 7))).not.toThrow();
    expectOnDiskError(() => verifyDblock(flipBit(zero, 0, 0)), 'DBLOCK_CHECKSUM');
    expectOnDiskError(() => verifyDblock(flipBit(zero, 48, 0)), 'DBLOCK_CHECKSUM');
  });
});

describe('mode blocks and per-host sectors', () => {
  test.prop([modeBlockArb()])('mode block round trip (16 bytes, padding zero)', (mode) => {
    const bytes = new Uint8Array(32).fill(0xaa);
    encodeModeBlock(mode, bytes, 8);
    expect(decodeModeBlock(bytes, 8)).toEqual(mode);
    expect(zeroRange(bytes, 12, 16)).toBe(true);
    expect(bytes[7]).toBe(0xaa);
    expect(bytes[24]).toBe(0xaa);
  });

  test('a host sector holds the dblock at 0 and the mode block at 128 (as sanlock showed: 0x480 = 01 .. 01)', () => {
    const sector = encodeHostSector(ownedDblock, { flags: MBLOCK_SHARED, generation: 1n }, 512);
    expect(sector.length).toBe(512);
    expect([...sector.subarray(MODE_BLOCK_OFFSET_BYTES, MODE_BLOCK_OFFSET_BYTES + 16)]).toEqual([
      1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
    ]);
    expect(zeroRange(sector, DBLOCK_BYTES, MODE_BLOCK_OFFSET_BYTES)).toBe(true);
    expect(zeroRange(sector, MODE_BLOCK_OFFSET_BYTES + 16)).toBe(true);
    const decoded = decodeHostSector(sector);
    expect(decoded.mode).toEqual({ flags: MBLOCK_SHARED, generation: 1n });
    expect(decoded.dblock).toEqual({ ...ownedDblock, checksum: dblockChecksum(ownedDblock) });
  });

  test('a plain dblock write (no mode) zero-fills the mode block', () => {
    const sector = encodeHostSector(ownedDblock, null, 4096);
    expect(sector.length).toBe(4096);
    expect(decodeHostSector(sector).mode).toEqual({ flags: 0, generation: 0n });
    expect(zeroRange(sector, DBLOCK_BYTES)).toBe(true);
  });

  test.prop([dblockArb(), modeBlockArb(), fc.constantFrom(512, 4096)])(
    'host sector round trip',
    (dblock, mode, sectorSize) => {
      const decoded = decodeHostSector(encodeHostSector(dblock, mode, sectorSize));
      expect(decoded).toEqual({ dblock: { ...dblock, checksum: dblockChecksum(dblock) }, mode });
    },
  );

  test('short buffers', () => {
    expectOnDiskError(() => decodeHostSector(new Uint8Array(143)), 'BUFFER_SIZE');
    expectOnDiskError(() => decodeModeBlock(new Uint8Array(16), 1), 'BUFFER_SIZE');
    expectOnDiskError(() => encodeModeBlock({ flags: 0, generation: 0n }, new Uint8Array(15), 0), 'BUFFER_SIZE');
    expectOnDiskError(() => encodeDblock(ownedDblock, new Uint8Array(55)), 'BUFFER_SIZE');
  });
});

describe('request records', () => {
  test('sector 1 of a fresh lease: magic, version 1.1, zeros', () => {
    const sector = encodeRequestSector({ magic: REQUEST_MAGIC, version: REQUEST_VERSION, lver: 0n, forceMode: 0 }, 512);
    expect([...sector.subarray(0, 8)]).toEqual([0x11, 0x20, 0x29, 0x08, 0x01, 0x00, 0x01, 0x00]);
    expect(zeroRange(sector, 8)).toBe(true);
  });

  test.prop([requestArb(), fc.constantFrom(512, 4096)])('round trip', (req, sectorSize) => {
    const sector = encodeRequestSector(req, sectorSize);
    expect(sector.length).toBe(sectorSize);
    expect(decodeRequest(sector)).toEqual(req);
    expect(zeroRange(sector, 20)).toBe(true);
  });

  test('verifyRequest checks magic and the major version only; the padding is ignored', () => {
    const sector = encodeRequestSector(
      { magic: REQUEST_MAGIC, version: 0x0001ffff, lver: 5n, forceMode: FORCE_MODE_GRACEFUL },
      512,
    );
    sector[20] = 0x87; // sanlock's format -x leaves garbage here
    expect(verifyRequest(sector, 0)).toEqual({
      magic: REQUEST_MAGIC,
      version: 0x0001ffff,
      lver: 5n,
      forceMode: FORCE_MODE_GRACEFUL,
    });
    const badMagic = expectOnDiskError(() => verifyRequest(new Uint8Array(512), 0, 512), 'REQUEST_MAGIC');
    expect(badMagic.message).toBe('bad request record magic at offset 512: found 0x00000000, expected 0x08292011');
    expect(badMagic.sanlockErrno).toBe(-270);
    const v2 = encodeRequestSector({ magic: REQUEST_MAGIC, version: 0x00020001, lver: 0n, forceMode: 0 }, 512);
    expect(expectOnDiskError(() => verifyRequest(v2, 0), 'REQUEST_VERSION').message).toBe(
      'bad request record version at buffer offset 0: found 0x00020001, expected major version 0x00010000',
    );
    expectOnDiskError(() => decodeRequest(new Uint8Array(23)), 'BUFFER_SIZE');
  });
});
