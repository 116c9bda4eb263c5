/**
 * leader_record codec (200 bytes, little-endian), shared by delta leases and paxos leases.
 *
 * On-disk invariants (sanlock 3.8):
 *   @0 magic u32        delta 0x12212010 | paxos 0x06152010 | CLEAR 0x11282016 (invalidated paxos lease)
 *   @4 version u32      readers compare only the major half (version & 0xFFFF0000)
 *   @8 flags u32        LFL_ALIGN_* and LFL_SHORT_HOLD; unknown bits are kept as they are
 *   @12 sector_size u32, @16 num_hosts u64, @24 max_hosts u64, @32 owner_id u64,
 *   @40 owner_generation u64, @48 lver u64, @56 space_name[48], @104 resource_name[48],
 *   @152 timestamp u64 (0 = free), @160 unused1 u64,
 *   @168 checksum u32   sanlock CRC of bytes 0..167 as stored on disk
 *   @172 unused2 u16, @174 io_timeout u16, @176 write_id u64, @184 write_generation u64,
 *   @192 write_timestamp u64   none of 172..199 is covered by the checksum (they carry events)
 * The rest of the sector is zero; bytes 200..255 are reserved (LEADER_RECORD_MAX_BYTES).
 */
import {
  CLEAR_LEADER_MAGIC,
  DELTA_LEADER_MAGIC,
  DELTA_LEADER_VERSION,
  LEADER_CHECKSUM_COVERED_BYTES,
  LEADER_COMPARE_BYTES,
  LEADER_RECORD_BYTES,
  PAXOS_LEADER_MAGIC,
  PAXOS_LEADER_VERSION,
  VERSION_MAJOR_MASK,
} from './constants.js';
import { OnDiskError, hex32, type OnDiskErrorCode } from './errors.js';
import type { LeaderRecord } from './records.js';
import { checkU16, checkU32, checkU64, describeLocation, requireBytes, viewOf } from './bytes.js';
import { sanlockChecksum } from './crc32c.js';
import { decodeName, encodeName, namesEqual } from './names.js';

export type LeaderKind = 'delta' | 'paxos';

export interface LeaderExpectation {
  kind: LeaderKind;
  /** Absolute device offset of the record, used in error messages. */
  offsetBytes?: number;
  spaceName?: string;
  /** Paxos only: the resource name. */
  resourceName?: string;
  /** Paxos only: the caller's host_id; LEADER_NUMHOSTS when num_hosts < hostId (as sanlock checks). */
  hostId?: number;
  /** LEADER_SECTORSIZE when the record's sector_size differs. */
  sectorSize?: number;
}

/** Byte offsets of the leader_record fields. */
export const LEADER_FIELD_OFFSETS = {
  magic: 0,
  version: 4,
  flags: 8,
  sectorSize: 12,
  numHosts: 16,
  maxHosts: 24,
  ownerId: 32,
  ownerGeneration: 40,
  lver: 48,
  spaceName: 56,
  resourceName: 104,
  timestamp: 152,
  unused1: 160,
  checksum: 168,
  unused2: 172,
  ioTimeoutSeconds: 174,
  writeId: 176,
  writeGeneration: 184,
  writeTimestamp: 192,
} as const;
const F = LEADER_FIELD_OFFSETS;

/** Writes every field including rec.checksum as given. Names may be empty (a free delta lease has no host name). */
function writeLeaderFields(rec: LeaderRecord, target: Uint8Array, offset: number): void {
  requireBytes(target, offset, LEADER_RECORD_BYTES, 'leader record target');
  const view = viewOf(target);
  view.setUint32(offset + F.magic, checkU32(rec.magic, 'leader.magic'), true);
  view.setUint32(offset + F.version, checkU32(rec.version, 'leader.version'), true);
  view.setUint32(offset + F.flags, checkU32(rec.flags, 'leader.flags'), true);
  view.setUint32(offset + F.sectorSize, checkU32(rec.sectorSize, 'leader.sectorSize'), true);
  view.setBigUint64(offset + F.numHosts, checkU64(rec.numHosts, 'leader.numHosts'), true);
  view.setBigUint64(offset + F.maxHosts, checkU64(rec.maxHosts, 'leader.maxHosts'), true);
  view.setBigUint64(offset + F.ownerId, checkU64(rec.ownerId, 'leader.ownerId'), true);
  view.setBigUint64(offset + F.ownerGeneration, checkU64(rec.ownerGeneration, 'leader.ownerGeneration'), true);
  view.setBigUint64(offset + F.lver, checkU64(rec.lver, 'leader.lver'), true);
  encodeName(rec.spaceName, target, offset + F.spaceName, 'leader space_name', { allowEmpty: true });
  encodeName(rec.resourceName, target, offset + F.resourceName, 'leader resource_name', { allowEmpty: true });
  view.setBigUint64(offset + F.timestamp, checkU64(rec.timestamp, 'leader.timestamp'), true);
  view.setBigUint64(offset + F.unused1, checkU64(rec.unused1, 'leader.unused1'), true);
  view.setUint32(offset + F.checksum, checkU32(rec.checksum, 'leader.checksum'), true);
  view.setUint16(offset + F.unused2, checkU16(rec.unused2, 'leader.unused2'), true);
  view.setUint16(offset + F.ioTimeoutSeconds, checkU16(rec.ioTimeoutSeconds, 'leader.ioTimeoutSeconds'), true);
  view.setBigUint64(offset + F.writeId, checkU64(rec.writeId, 'leader.writeId'), true);
  view.setBigUint64(offset + F.writeGeneration, checkU64(rec.writeGeneration, 'leader.writeGeneration'), true);
  view.setBigUint64(offset + F.writeTimestamp, checkU64(rec.writeTimestamp, 'leader.writeTimestamp'), true);
}

/** Encodes the 200-byte record into target at offset (the checksum field is computed, rec.checksum ignored). Returns the checksum. */
export function encodeLeader(rec: LeaderRecord, target: Uint8Array, offset = 0): number {
  writeLeaderFields({ ...rec, checksum: 0 }, target, offset);
  const checksum = sanlockChecksum(target, offset, LEADER_CHECKSUM_COVERED_BYTES);
  viewOf(target).setUint32(offset + F.checksum, checksum, true);
  return checksum;
}

/** Decodes 200 bytes at offset without validation (checksum as stored). Throws BUFFER_SIZE if short. */
export function decodeLeader(source: Uint8Array, offset = 0): LeaderRecord {
  requireBytes(source, offset, LEADER_RECORD_BYTES, 'leader record');
  const view = viewOf(source);
  return {
    magic: view.getUint32(offset + F.magic, true),
    version: view.getUint32(offset + F.version, true),
    flags: view.getUint32(offset + F.flags, true),
    sectorSize: view.getUint32(offset + F.sectorSize, true),
    numHosts: view.getBigUint64(offset + F.numHosts, true),
    maxHosts: view.getBigUint64(offset + F.maxHosts, true),
    ownerId: view.getBigUint64(offset + F.ownerId, true),
    ownerGeneration: view.getBigUint64(offset + F.ownerGeneration, true),
    lver: view.getBigUint64(offset + F.lver, true),
    spaceName: decodeName(source, offset + F.spaceName),
    resourceName: decodeName(source, offset + F.resourceName),
    timestamp: view.getBigUint64(offset + F.timestamp, true),
    unused1: view.getBigUint64(offset + F.unused1, true),
    checksum: view.getUint32(offset + F.checksum, true),
    unused2: view.getUint16(offset + F.unused2, true),
    ioTimeoutSeconds: view.getUint16(offset + F.ioTimeoutSeconds, true),
    writeId: view.getBigUint64(offset + F.writeId, true),
    writeGeneration: view.getBigUint64(offset + F.writeGeneration, true),
    writeTimestamp: view.getBigUint64(offset + F.writeTimestamp, true),
  };
}

/** The checksum a correctly encoded `rec` carries. */
export function leaderChecksum(rec: LeaderRecord): number {
  return encodeLeader(rec, new Uint8Array(LEADER_RECORD_BYTES));
}

/** The leader as it is on disk with its stored checksum (no recomputation). */
function rawLeaderBytes(rec: LeaderRecord): Uint8Array {
  const bytes = new Uint8Array(LEADER_RECORD_BYTES);
  writeLeaderFields(rec, bytes, 0);
  return bytes;
}

function describeMagic(magic: number): string {
  switch (magic) {
    case DELTA_LEADER_MAGIC:
      return `${hex32(magic)} (delta leader)`;
    case PAXOS_LEADER_MAGIC:
      return `${hex32(magic)} (paxos leader)`;
    case CLEAR_LEADER_MAGIC:
      return `${hex32(magic)} (CLEAR: invalidated paxos leader)`;
    default:
      return hex32(magic);
  }
}

/**
 * Decodes and verifies like sanlock: magic (CLEAR gives LEADER_CLEARED), major version,
 * space name, resource name (paxos), checksum. Throws OnDiskError with found/expected/offset.
 * Order as in sanlock's verify_leader: magic, version, [sector size], space name, resource name,
 * [num_hosts], checksum.
 */
export function verifyLeader(source: Uint8Array, offset: number, expect: LeaderExpectation): LeaderRecord {
  const rec = decodeLeader(source, offset);
  const at = describeLocation(expect.offsetBytes, offset);
  const fail = (code: OnDiskErrorCode, message: string, found: string, expected: string): never => {
    const where = expect.offsetBytes === undefined ? {} : { offsetBytes: expect.offsetBytes };
    throw new OnDiskError(code, message, { ...where, found, expected });
  };
  const paxos = expect.kind === 'paxos';
  const expectedMagic = paxos ? PAXOS_LEADER_MAGIC : DELTA_LEADER_MAGIC;
  const expectedMajor = ((paxos ? PAXOS_LEADER_VERSION : DELTA_LEADER_VERSION) & VERSION_MAJOR_MASK) >>> 0;

  if (rec.magic === CLEAR_LEADER_MAGIC) {
    const message = `leader ${at} is cleared (invalidated): found magic ${describeMagic(rec.magic)}, expected ${describeMagic(expectedMagic)}`;
    fail('LEADER_CLEARED', message, hex32(rec.magic), hex32(expectedMagic));
  }
  if (rec.magic !== expectedMagic) {
    const message = `bad leader magic ${at}: found ${describeMagic(rec.magic)}, expected ${describeMagic(expectedMagic)}`;
    fail('LEADER_MAGIC', message, hex32(rec.magic), hex32(expectedMagic));
  }
  if ((rec.version & VERSION_MAJOR_MASK) >>> 0 !== expectedMajor) {
    const message = `bad ${expect.kind} leader version ${at}: found ${hex32(rec.version)}, expected major version ${hex32(expectedMajor)}`;
    fail('LEADER_VERSION', message, hex32(rec.version), hex32(expectedMajor));
  }
  if (expect.sectorSize !== undefined && rec.sectorSize !== expect.sectorSize) {
    const message = `bad leader sector_size ${at}: found ${rec.sectorSize}, expected ${expect.sectorSize}`;
    fail('LEADER_SECTORSIZE', message, String(rec.sectorSize), String(expect.sectorSize));
  }
  if (expect.spaceName !== undefined && !namesEqual(rec.spaceName, expect.spaceName)) {
    const message = `wrong lockspace name in leader ${at}: found ${JSON.stringify(rec.spaceName)}, expected ${JSON.stringify(expect.spaceName)}`;
    fail('LEADER_LOCKSPACE', message, rec.spaceName, expect.spaceName);
  }
  if (paxos && expect.resourceName !== undefined && !namesEqual(rec.resourceName, expect.resourceName)) {
    const message = `wrong resource name in leader ${at}: found ${JSON.stringify(rec.resourceName)}, expected ${JSON.stringify(expect.resourceName)}`;
    fail('LEADER_RESOURCE', message, rec.resourceName, expect.resourceName);
  }
  if (paxos && expect.hostId !== undefined && rec.numHosts < BigInt(expect.hostId)) {
    const message = `leader ${at} admits too few hosts: found num_hosts ${rec.numHosts}, expected at least ${expect.hostId} (our host_id)`;
    fail('LEADER_NUMHOSTS', message, String(rec.numHosts), `>= ${expect.hostId}`);
  }
  // The CRC runs over the bytes as stored, exactly as sanlock computes it before byte-swapping.
  const computed = sanlockChecksum(source, offset, LEADER_CHECKSUM_COVERED_BYTES);
  if (rec.checksum !== computed) {
    const message = `bad leader checksum ${at}: found ${hex32(rec.checksum)}, expected ${hex32(computed)} (computed)`;
    fail('LEADER_CHECKSUM', message, hex32(rec.checksum), hex32(computed));
  }
  return rec;
}

/** True when the first LEADER_COMPARE_BYTES of two encoded leaders are equal. */
export function leadersMatchForCompare(a: LeaderRecord, b: LeaderRecord): boolean {
  return bytesEqual(rawLeaderBytes(a), rawLeaderBytes(b), LEADER_COMPARE_BYTES);
}

/** All 200 encoded bytes equal (after recomputing neither checksum). */
export function leadersIdentical(a: LeaderRecord, b: LeaderRecord): boolean {
  return bytesEqual(rawLeaderBytes(a), rawLeaderBytes(b), LEADER_RECORD_BYTES);
}

function bytesEqual(a: Uint8Array, b: Uint8Array, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false;
  return true;
}
