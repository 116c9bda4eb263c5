import { crc32c as referenceCrc32c } from '@node-rs/crc32';
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  DBLOCK_BYTES,
  DELTA_LEADER_MAGIC,
  DELTA_LEADER_VERSION,
  LEADER_CHECKSUM_COVERED_BYTES,
  LEADER_RECORD_BYTES,
  LFL_ALIGN_1M,
  LFL_ALIGN_8M,
  OnDiskError,
  PAXOS_LEADER_MAGIC,
  PAXOS_LEADER_VERSION,
  SANLOCK_CRC_SEED,
  crc32cUpdate,
  encodeDblock,
  encodeLeader,
  sanlockChecksum,
  type LeaderRecord,
} from '../src/index.js';
import { u32 } from './arbitraries.js';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

/** sanlock's value from a "continue from prev" CRC-32C library: ~lib(data, prev = 1). */
const referenceSanlock = (data: Uint8Array): number => ~referenceCrc32c(data, 1) >>> 0;
/** A raw register update from the library: it inverts prev on entry and the result on exit. */
const referenceUpdate = (register: number, data: Uint8Array): number => ~referenceCrc32c(data, ~register >>> 0) >>> 0;

function freeLeader(fields: Partial<LeaderRecord>): LeaderRecord {
  return {
    magic: 0,
    version: 0,
    flags: 0,
    sectorSize: 0,
    numHosts: 0n,
    maxHosts: 0n,
    ownerId: 0n,
    ownerGeneration: 0n,
    lver: 0n,
    spaceName: '',
    resourceName: '',
    timestamp: 0n,
    unused1: 0n,
    checksum: 0,
    unused2: 0,
    ioTimeoutSeconds: 0,
    writeId: 0n,
    writeGeneration: 0n,
    writeTimestamp: 0n,
    ...fields,
  };
}

function leaderBytes(rec: LeaderRecord): Uint8Array {
  const bytes = new Uint8Array(LEADER_RECORD_BYTES);
  encodeLeader(rec, bytes, 0);
  return bytes;
}

describe('sanlock CRC-32C test vectors (spec §0)', () => {
  test('1: ASCII "123456789" gives 0xE8C7BB34 (standard CRC-32C would be 0xE3069283)', () => {
    expect(sanlockChecksum(ascii('123456789'))).toBe(0xe8c7bb34);
    expect(referenceCrc32c(ascii('123456789'))).toBe(0xe3069283);
  });

  test('2: empty input gives the seed 0xFFFFFFFE', () => {
    expect(sanlockChecksum(new Uint8Array(0))).toBe(0xfffffffe);
    expect(SANLOCK_CRC_SEED).toBe(0xfffffffe);
  });

  test('3: delta leader after direct init -s LS1 (512/1M) gives 0x4DBA1E1E, stored as 1e 1e ba 4d', () => {
    const rec = freeLeader({
      magic: DELTA_LEADER_MAGIC,
      version: DELTA_LEADER_VERSION,
      flags: LFL_ALIGN_1M,
      sectorSize: 512,
      maxHosts: 1n,
      spaceName: 'LS1',
    });
    const bytes = leaderBytes(rec);
    expect(sanlockChecksum(bytes, 0, LEADER_CHECKSUM_COVERED_BYTES)).toBe(0x4dba1e1e);
    expect([...bytes.subarray(168, 172)]).toEqual([0x1e, 0x1e, 0xba, 0x4d]);
  });

  test('4: the same with flags 0x80 and ss 4096 (4K/8M) gives 0x385EE49D', () => {
    const rec = freeLeader({
      magic: DELTA_LEADER_MAGIC,
      version: DELTA_LEADER_VERSION,
      flags: LFL_ALIGN_8M,
      sectorSize: 4096,
      maxHosts: 1n,
      spaceName: 'LS1',
    });
    expect(encodeLeader(rec, new Uint8Array(LEADER_RECORD_BYTES))).toBe(0x385ee49d);
  });

  test('5: paxos leader after direct init -r LS1:RES1 (512/1M) gives 0x1D6A1592', () => {
    const rec = freeLeader({
      magic: PAXOS_LEADER_MAGIC,
      version: PAXOS_LEADER_VERSION,
      flags: LFL_ALIGN_1M,
      sectorSize: 512,
      numHosts: 2000n,
      maxHosts: 2000n,
      spaceName: 'LS1',
      resourceName: 'RES1',
    });
    expect(encodeLeader(rec, new Uint8Array(LEADER_RECORD_BYTES))).toBe(0x1d6a1592);
  });

  test('6: dblock mbal=1 bal=1 inp=1 inp2=1 inp3=4463 lver=1 gives 0xEFA3B485', () => {
    const bytes = new Uint8Array(DBLOCK_BYTES);
    const checksum = encodeDblock(
      { mbal: 1n, bal: 1n, inp: 1n, inp2: 1n, inp3: 4463n, lver: 1n, checksum: 0, flags: 0 },
      bytes,
    );
    expect(checksum).toBe(0xefa3b485);
    expect(sanlockChecksum(bytes, 0, 48)).toBe(0xefa3b485);
  });
});

describe('CRC-32C against @node-rs/crc32', () => {
  test.prop([fc.uint8Array({ maxLength: 600 })], { numRuns: 500 })('sanlockChecksum = ~crc32c(data, 1)', (data) => {
    expect(sanlockChecksum(data)).toBe(referenceSanlock(data));
  });

  test.prop([u32(), fc.uint8Array({ maxLength: 100 })], { numRuns: 500 })(
    'crc32cUpdate continues any register',
    (register, data) => {
      expect(crc32cUpdate(register, data)).toBe(referenceUpdate(register, data));
    },
  );

  test('every length 0..64 (slicing-by-8 tails) and a 1 MiB buffer', () => {
    const data = new Uint8Array(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    for (let length = 0; length <= 64; length++) {
      const part = data.subarray(0, length);
      expect(sanlockChecksum(part)).toBe(referenceSanlock(part));
    }
    expect(sanlockChecksum(data)).toBe(referenceSanlock(data));
  });

  test.prop([fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), u32()])(
    'chaining and sub-ranges agree with one pass',
    (a, b, register) => {
      const joined = new Uint8Array(a.length + b.length);
      joined.set(a);
      joined.set(b, a.length);
      expect(crc32cUpdate(crc32cUpdate(register, a), b)).toBe(crc32cUpdate(register, joined));
      expect(crc32cUpdate(register, joined, a.length)).toBe(crc32cUpdate(register, b));
      expect(sanlockChecksum(joined, 0, a.length)).toBe(sanlockChecksum(a));
    },
  );
});

describe('CRC-32C input ranges', () => {
  test('a range outside the buffer fails with OnDiskError BUFFER_SIZE', () => {
    const data = new Uint8Array(10);
    for (const run of [
      () => sanlockChecksum(data, 5, 6),
      () => sanlockChecksum(data, -1, 2),
      () => crc32cUpdate(0, data, 4, 2),
      () => crc32cUpdate(0, data, 0, 11),
    ]) {
      expect(run).toThrow(OnDiskError);
      try {
        run();
      } catch (error) {
        expect((error as OnDiskError).code).toBe('BUFFER_SIZE');
      }
    }
  });
});
