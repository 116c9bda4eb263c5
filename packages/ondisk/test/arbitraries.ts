/** fast-check arbitraries for the on-disk records (shared by the ondisk tests). */
import { fc } from '@fast-check/vitest';
import {
  DELTA_LEADER_MAGIC,
  NAME_LENGTH_BYTES,
  PAXOS_LEADER_MAGIC,
  decodeName,
  truncateName,
  type Dblock,
  type LeaderRecord,
  type ModeBlock,
  type RequestRecord,
  type RindexEntry,
  type RindexHeader,
} from '../src/index.js';

export const u16 = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 0xffff });
export const u32 = (): fc.Arbitrary<number> => fc.bigInt({ min: 0n, max: 0xffffffffn }).map(Number);
export const u64 = (): fc.Arbitrary<bigint> => fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

const utf8Text = fc
  .string({ unit: 'grapheme', maxLength: NAME_LENGTH_BYTES })
  .map((text) => truncateName(text.replace(/\0/g, '')));

/** A name as decoded from disk: the decoding of 0..48 non-NUL bytes (UTF-8 text, or any bytes). */
export const nameArb = (minLength = 0): fc.Arbitrary<string> =>
  fc
    .oneof(
      utf8Text,
      fc.uint8Array({ minLength: 0, maxLength: NAME_LENGTH_BYTES }).map((bytes) => {
        const field = new Uint8Array(NAME_LENGTH_BYTES);
        field.set(bytes.map((b) => (b === 0 ? 1 : b)));
        return decodeName(field, 0);
      }),
    )
    .filter((name) => name.length >= minLength);

export const leaderArb = (magic?: number): fc.Arbitrary<LeaderRecord> =>
  fc.record({
    magic:
      magic === undefined
        ? fc.oneof(fc.constantFrom(DELTA_LEADER_MAGIC, PAXOS_LEADER_MAGIC), u32())
        : fc.constant(magic),
    version: u32(),
    flags: u32(),
    sectorSize: fc.oneof(fc.constantFrom(512, 4096), u32()),
    numHosts: u64(),
    maxHosts: u64(),
    ownerId: u64(),
    ownerGeneration: u64(),
    lver: u64(),
    spaceName: nameArb(),
    resourceName: nameArb(),
    timestamp: u64(),
    unused1: u64(),
    checksum: u32(),
    unused2: u16(),
    ioTimeoutSeconds: u16(),
    writeId: u64(),
    writeGeneration: u64(),
    writeTimestamp: u64(),
  });

export const dblockArb = (): fc.Arbitrary<Dblock> =>
  fc.record({
    mbal: u64(),
    bal: u64(),
    inp: u64(),
    inp2: u64(),
    inp3: u64(),
    lver: u64(),
    checksum: u32(),
    flags: u32(),
  });

export const modeBlockArb = (): fc.Arbitrary<ModeBlock> => fc.record({ flags: u32(), generation: u64() });

export const requestArb = (): fc.Arbitrary<RequestRecord> =>
  fc.record({ magic: u32(), version: u32(), lver: u64(), forceMode: u32() });

export const rindexHeaderArb = (): fc.Arbitrary<RindexHeader> =>
  fc.record({
    magic: u32(),
    version: u32(),
    flags: u32(),
    sectorSize: u32(),
    maxResources: u32(),
    unused: u32(),
    rxOffsetBytes: u64(),
    lockspaceName: nameArb(),
  });

export const rindexEntryArb = (): fc.Arbitrary<RindexEntry> =>
  fc.record({ resOffsetBytes: u64(), flags: u32(), unused: u32(), name: nameArb() });

/** Returns a copy of bytes with one bit flipped. */
export function flipBit(bytes: Uint8Array, byteIndex: number, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[byteIndex] = copy[byteIndex]! ^ (1 << bit);
  return copy;
}
