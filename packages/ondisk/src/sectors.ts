/**
 * Whole-sector codecs for delta-lease sectors and the sectors of a paxos lease area, plus the
 * paxos_dblock, mode_block and request_record codecs. Every encoder returns a full sector with zero
 * padding: sanlock writes one whole sector per write and relies on the padding being zero (a plain
 * dblock write clears the host's own mode block, an acquire clears the delta bitmap).
 *
 * Delta-lease sector:  [0..199] leader | [200..255] 0 | [256..511] host-id bitmap | [512..ss-1] 0
 * Paxos leader sector: [0..199] leader | rest 0
 * Request sector:      @0 magic u32 0x08292011 | @4 version u32 0x00010001 | @8 lver u64 |
 *                      @16 force_mode u32 | @20 pad u32 | rest 0 (no checksum)
 * Per-host sector:     @0 paxos_dblock (56) | [56..127] 0 | @128 mode_block (16) | rest 0
 * paxos_dblock:        @0 mbal @8 bal @16 inp @24 inp2 @32 inp3 @40 lver (u64 each) |
 *                      @48 checksum u32 = CRC of 0..47 | @52 flags u32 (RELEASED; NOT covered)
 * mode_block:          @0 flags u32 (SHARED) | @4 pad u32 | @8 generation u64 (no checksum)
 */
import {
  DBLOCK_BYTES,
  DBLOCK_CHECKSUM_COVERED_BYTES,
  HOST_BITMAP_BYTES,
  HOST_BITMAP_OFFSET_BYTES,
  MODE_BLOCK_BYTES,
  MODE_BLOCK_OFFSET_BYTES,
  REQUEST_MAGIC,
  REQUEST_RECORD_BYTES,
  REQUEST_VERSION,
  VERSION_MAJOR_MASK,
} from './constants.js';
import { OnDiskError, hex32 } from './errors.js';
import type { Dblock, LeaderRecord, ModeBlock, RequestRecord } from './records.js';
import { checkU32, checkU64, describeLocation, requireBytes, viewOf } from './bytes.js';
import { sanlockChecksum } from './crc32c.js';
import { decodeLeader, encodeLeader } from './leader.js';
import { checkSectorSize } from './layout.js';

/** A decoded delta-lease sector. */
export interface DeltaSector {
  leader: LeaderRecord;
  /** 256 bytes (a copy). */
  bitmap: Uint8Array;
}

/** Bytes a delta sector decoder needs: through the end of the bitmap. */
const DELTA_SECTOR_MIN_BYTES = HOST_BITMAP_OFFSET_BYTES + HOST_BITMAP_BYTES;
/** Bytes a host sector decoder needs: through the end of the mode block. */
const HOST_SECTOR_MIN_BYTES = MODE_BLOCK_OFFSET_BYTES + MODE_BLOCK_BYTES;

/** Byte offsets of the paxos_dblock fields. */
export const DBLOCK_FIELD_OFFSETS = {
  mbal: 0,
  bal: 8,
  inp: 16,
  inp2: 24,
  inp3: 32,
  lver: 40,
  checksum: 48,
  flags: 52,
} as const;
const D = DBLOCK_FIELD_OFFSETS;

/** A full delta-lease sector (leader, zero, bitmap at 256 if given, zero padding). */
export function encodeDeltaSector(leader: LeaderRecord, bitmap: Uint8Array | null, sectorSize: number): Uint8Array {
  const sector = new Uint8Array(checkSectorSize(sectorSize));
  encodeLeader(leader, sector, 0);
  if (bitmap !== null) {
    if (!(bitmap instanceof Uint8Array) || bitmap.length !== HOST_BITMAP_BYTES) {
      throw new OnDiskError('BUFFER_SIZE', `host bitmap must be ${HOST_BITMAP_BYTES} bytes, found ${bitmap.length}`, {
        found: `${bitmap.length} bytes`,
        expected: `${HOST_BITMAP_BYTES} bytes`,
      });
    }
    sector.set(bitmap, HOST_BITMAP_OFFSET_BYTES);
  }
  return sector;
}

export function decodeDeltaSector(source: Uint8Array, offset = 0): DeltaSector {
  requireBytes(source, offset, DELTA_SECTOR_MIN_BYTES, 'delta-lease sector');
  const start = offset + HOST_BITMAP_OFFSET_BYTES;
  return { leader: decodeLeader(source, offset), bitmap: source.slice(start, start + HOST_BITMAP_BYTES) };
}

/** A full paxos leader sector (leader then zeros). */
export function encodePaxosLeaderSector(leader: LeaderRecord, sectorSize: number): Uint8Array {
  const sector = new Uint8Array(checkSectorSize(sectorSize));
  encodeLeader(leader, sector, 0);
  return sector;
}

function writeDblockFields(dblock: Dblock, view: DataView, offset: number): void {
  view.setBigUint64(offset + D.mbal, checkU64(dblock.mbal, 'dblock.mbal'), true);
  view.setBigUint64(offset + D.bal, checkU64(dblock.bal, 'dblock.bal'), true);
  view.setBigUint64(offset + D.inp, checkU64(dblock.inp, 'dblock.inp'), true);
  view.setBigUint64(offset + D.inp2, checkU64(dblock.inp2, 'dblock.inp2'), true);
  view.setBigUint64(offset + D.inp3, checkU64(dblock.inp3, 'dblock.inp3'), true);
  view.setBigUint64(offset + D.lver, checkU64(dblock.lver, 'dblock.lver'), true);
  view.setUint32(offset + D.flags, checkU32(dblock.flags, 'dblock.flags'), true);
}

/** Encodes a dblock (checksum computed) into target at offset. Returns the checksum. */
export function encodeDblock(dblock: Dblock, target: Uint8Array, offset = 0): number {
  requireBytes(target, offset, DBLOCK_BYTES, 'dblock target');
  const view = viewOf(target);
  writeDblockFields(dblock, view, offset);
  const checksum = sanlockChecksum(target, offset, DBLOCK_CHECKSUM_COVERED_BYTES);
  view.setUint32(offset + D.checksum, checksum, true);
  return checksum;
}

export function decodeDblock(source: Uint8Array, offset = 0): Dblock {
  requireBytes(source, offset, DBLOCK_BYTES, 'dblock');
  const view = viewOf(source);
  return {
    mbal: view.getBigUint64(offset + D.mbal, true),
    bal: view.getBigUint64(offset + D.bal, true),
    inp: view.getBigUint64(offset + D.inp, true),
    inp2: view.getBigUint64(offset + D.inp2, true),
    inp3: view.getBigUint64(offset + D.inp3, true),
    lver: view.getBigUint64(offset + D.lver, true),
    checksum: view.getUint32(offset + D.checksum, true),
    flags: view.getUint32(offset + D.flags, true),
  };
}

/** The checksum a correctly encoded `dblock` carries. */
export function dblockChecksum(dblock: Dblock): number {
  return encodeDblock(dblock, new Uint8Array(DBLOCK_BYTES));
}

/**
 * sanlock's "empty" dblock: checksum, mbal, bal, inp and lver all zero (inp2, inp3 and flags are not
 * looked at). Such a block is valid without a checksum: it is what `direct init` leaves behind.
 */
export function dblockIsEmpty(dblock: Dblock): boolean {
  return dblock.checksum === 0 && dblock.mbal === 0n && dblock.bal === 0n && dblock.inp === 0n && dblock.lver === 0n;
}

/** Checksum matches, or the block is all-zero (valid and empty, as sanlock treats it). */
export function dblockChecksumValid(dblock: Dblock): boolean {
  return dblockIsEmpty(dblock) || dblock.checksum === dblockChecksum(dblock);
}

/** Decodes and checks a dblock like sanlock's verify_dblock; DBLOCK_CHECKSUM (-214) when bad. */
export function verifyDblock(source: Uint8Array, offset = 0, offsetBytesForMessage?: number): Dblock {
  const dblock = decodeDblock(source, offset);
  if (dblockIsEmpty(dblock)) return dblock;
  const computed = sanlockChecksum(source, offset, DBLOCK_CHECKSUM_COVERED_BYTES);
  if (dblock.checksum !== computed) {
    const found = hex32(dblock.checksum);
    const expected = hex32(computed);
    throw new OnDiskError(
      'DBLOCK_CHECKSUM',
      `bad dblock checksum ${describeLocation(offsetBytesForMessage, offset)}: found ${found}, expected ${expected} (computed)`,
      offsetBytesForMessage === undefined
        ? { found, expected }
        : { offsetBytes: offsetBytesForMessage, found, expected },
    );
  }
  return dblock;
}

/** Encodes the 16-byte mode block starting at target[offset] (usually sector start + MODE_BLOCK_OFFSET_BYTES). */
export function encodeModeBlock(mode: ModeBlock, target: Uint8Array, offset: number): void {
  requireBytes(target, offset, MODE_BLOCK_BYTES, 'mode block target');
  const view = viewOf(target);
  view.setUint32(offset, checkU32(mode.flags, 'mode.flags'), true);
  view.setUint32(offset + 4, 0, true);
  view.setBigUint64(offset + 8, checkU64(mode.generation, 'mode.generation'), true);
}

/** Decodes the 16-byte mode block starting at source[offset] (usually sector start + MODE_BLOCK_OFFSET_BYTES). */
export function decodeModeBlock(source: Uint8Array, offset: number): ModeBlock {
  requireBytes(source, offset, MODE_BLOCK_BYTES, 'mode block');
  const view = viewOf(source);
  return { flags: view.getUint32(offset, true), generation: view.getBigUint64(offset + 8, true) };
}

/** A full per-host paxos sector: dblock at 0, mode block at 128 if given (else zero), zero padding. */
export function encodeHostSector(dblock: Dblock, mode: ModeBlock | null, sectorSize: number): Uint8Array {
  const sector = new Uint8Array(checkSectorSize(sectorSize));
  encodeDblock(dblock, sector, 0);
  if (mode !== null) encodeModeBlock(mode, sector, MODE_BLOCK_OFFSET_BYTES);
  return sector;
}

export interface HostSector {
  dblock: Dblock;
  mode: ModeBlock;
}

/** Decodes the dblock and mode block of the per-host sector starting at source[offset]. */
export function decodeHostSector(source: Uint8Array, offset = 0): HostSector {
  requireBytes(source, offset, HOST_SECTOR_MIN_BYTES, 'per-host paxos sector');
  return { dblock: decodeDblock(source, offset), mode: decodeModeBlock(source, offset + MODE_BLOCK_OFFSET_BYTES) };
}

export function encodeRequestSector(req: RequestRecord, sectorSize: number): Uint8Array {
  const sector = new Uint8Array(checkSectorSize(sectorSize));
  const view = viewOf(sector);
  view.setUint32(0, checkU32(req.magic, 'request.magic'), true);
  view.setUint32(4, checkU32(req.version, 'request.version'), true);
  view.setBigUint64(8, checkU64(req.lver, 'request.lver'), true);
  view.setUint32(16, checkU32(req.forceMode, 'request.forceMode'), true);
  return sector;
}

/** Decodes the 24-byte request record; the padding at 20..23 is ignored (sanlock does not always zero it). */
export function decodeRequest(source: Uint8Array, offset = 0): RequestRecord {
  requireBytes(source, offset, REQUEST_RECORD_BYTES, 'request record');
  const view = viewOf(source);
  return {
    magic: view.getUint32(offset, true),
    version: view.getUint32(offset + 4, true),
    lver: view.getBigUint64(offset + 8, true),
    forceMode: view.getUint32(offset + 16, true),
  };
}

/** Checks magic and major version (REQUEST_MAGIC / REQUEST_VERSION). */
export function verifyRequest(source: Uint8Array, offset: number, offsetBytesForMessage?: number): RequestRecord {
  const req = decodeRequest(source, offset);
  const at = describeLocation(offsetBytesForMessage, offset);
  const where = offsetBytesForMessage === undefined ? {} : { offsetBytes: offsetBytesForMessage };
  if (req.magic !== REQUEST_MAGIC) {
    throw new OnDiskError(
      'REQUEST_MAGIC',
      `bad request record magic ${at}: found ${hex32(req.magic)}, expected ${hex32(REQUEST_MAGIC)}`,
      {
        ...where,
        found: hex32(req.magic),
        expected: hex32(REQUEST_MAGIC),
      },
    );
  }
  const expectedMajor = (REQUEST_VERSION & VERSION_MAJOR_MASK) >>> 0;
  if ((req.version & VERSION_MAJOR_MASK) >>> 0 !== expectedMajor) {
    throw new OnDiskError(
      'REQUEST_VERSION',
      `bad request record version ${at}: found ${hex32(req.version)}, expected major version ${hex32(expectedMajor)}`,
      { ...where, found: hex32(req.version), expected: hex32(expectedMajor) },
    );
  }
  return req;
}
