/**
 * Resource index (rindex) codecs and layout, as `sanlock direct format -x LS:path:off` writes them.
 * No checksum on either record.
 *
 * Header (sector 0 of the rindex area, 80 bytes, rest of the area zero at format time):
 *   @0 magic u32 0x01042018 | @4 version u32 0x00010002 (major checked) | @8 flags u32 RHF_ALIGN_*
 *   @12 sector_size u32 | @16 max_resources u32 (4096 at format) | @20 unused u32
 *   @24 rx_offset u64 (the area's own absolute offset; checked on read) | @32 lockspace_name[48]
 * Entry N (64 bytes) at area + ss + 64*N:
 *   @0 res_offset u64 (absolute) | @8 flags u32 | @12 unused u32 | @16 name[48]; offset 0 + "" = free
 * The rindex_lease paxos lease is at area + align; resource N's lease at area + 2*align + N*align.
 */
import {
  RINDEX_DEFAULT_MAX_RESOURCES,
  RINDEX_ENTRY_BYTES,
  RINDEX_HEADER_BYTES,
  RINDEX_MAGIC,
  RINDEX_VERSION,
  VERSION_MAJOR_MASK,
} from './constants.js';
import { OnDiskError, hex32 } from './errors.js';
import type { RindexEntry, RindexHeader } from './records.js';
import { checkU32, checkU64, describeLocation, requireBytes, viewOf } from './bytes.js';
import type { Geometry } from './layout.js';
import { checkAreaOffset, geometryFor, rindexAlignFlag } from './layout.js';
import { decodeName, encodeName, validateName } from './names.js';

/** Name of the paxos lease that guards rindex updates, at rindex area + align. */
export const RINDEX_LEASE_NAME = 'rindex_lease';

const H = {
  magic: 0,
  version: 4,
  flags: 8,
  sectorSize: 12,
  maxResources: 16,
  unused: 20,
  rxOffset: 24,
  lockspaceName: 32,
} as const;
const E = { resOffset: 0, flags: 8, unused: 12, name: 16 } as const;

export function encodeRindexHeader(header: RindexHeader, target: Uint8Array, offset = 0): void {
  requireBytes(target, offset, RINDEX_HEADER_BYTES, 'rindex header target');
  const view = viewOf(target);
  view.setUint32(offset + H.magic, checkU32(header.magic, 'rindex.magic'), true);
  view.setUint32(offset + H.version, checkU32(header.version, 'rindex.version'), true);
  view.setUint32(offset + H.flags, checkU32(header.flags, 'rindex.flags'), true);
  view.setUint32(offset + H.sectorSize, checkU32(header.sectorSize, 'rindex.sectorSize'), true);
  view.setUint32(offset + H.maxResources, checkU32(header.maxResources, 'rindex.maxResources'), true);
  view.setUint32(offset + H.unused, checkU32(header.unused, 'rindex.unused'), true);
  view.setBigUint64(offset + H.rxOffset, checkU64(header.rxOffsetBytes, 'rindex.rxOffsetBytes'), true);
  encodeName(header.lockspaceName, target, offset + H.lockspaceName, 'rindex lockspace_name', { allowEmpty: true });
}

export function decodeRindexHeader(source: Uint8Array, offset = 0): RindexHeader {
  requireBytes(source, offset, RINDEX_HEADER_BYTES, 'rindex header');
  const view = viewOf(source);
  return {
    magic: view.getUint32(offset + H.magic, true),
    version: view.getUint32(offset + H.version, true),
    flags: view.getUint32(offset + H.flags, true),
    sectorSize: view.getUint32(offset + H.sectorSize, true),
    maxResources: view.getUint32(offset + H.maxResources, true),
    unused: view.getUint32(offset + H.unused, true),
    rxOffsetBytes: view.getBigUint64(offset + H.rxOffset, true),
    lockspaceName: decodeName(source, offset + H.lockspaceName),
  };
}

/**
 * Decodes and checks a header like sanlock: magic, major version, and that rx_offset equals the
 * absolute offset it was read from (RINDEX_OFFSET). The lockspace name is left to the caller
 * (compare with namesEqual).
 */
export function verifyRindexHeader(source: Uint8Array, offset: number, areaOffsetBytes: number): RindexHeader {
  const header = decodeRindexHeader(source, offset);
  if (!Number.isSafeInteger(areaOffsetBytes) || areaOffsetBytes < 0) {
    throw new OnDiskError(
      'LAYOUT_INVALID',
      `bad rindex area offset ${String(areaOffsetBytes)}: expected a non-negative integer`,
      {
        found: String(areaOffsetBytes),
        expected: 'a non-negative integer',
      },
    );
  }
  const at = describeLocation(areaOffsetBytes, offset);
  const where = { offsetBytes: areaOffsetBytes };
  if (header.magic !== RINDEX_MAGIC) {
    throw new OnDiskError(
      'RINDEX_MAGIC',
      `bad rindex header magic ${at}: found ${hex32(header.magic)}, expected ${hex32(RINDEX_MAGIC)}`,
      {
        ...where,
        found: hex32(header.magic),
        expected: hex32(RINDEX_MAGIC),
      },
    );
  }
  const expectedMajor = (RINDEX_VERSION & VERSION_MAJOR_MASK) >>> 0;
  if ((header.version & VERSION_MAJOR_MASK) >>> 0 !== expectedMajor) {
    throw new OnDiskError(
      'RINDEX_VERSION',
      `bad rindex header version ${at}: found ${hex32(header.version)}, expected major version ${hex32(expectedMajor)}`,
      {
        ...where,
        found: hex32(header.version),
        expected: hex32(expectedMajor),
      },
    );
  }
  if (header.rxOffsetBytes !== BigInt(areaOffsetBytes)) {
    throw new OnDiskError(
      'RINDEX_OFFSET',
      `bad rindex header rx_offset ${at}: found ${header.rxOffsetBytes}, expected ${areaOffsetBytes}`,
      {
        ...where,
        found: String(header.rxOffsetBytes),
        expected: String(areaOffsetBytes),
      },
    );
  }
  return header;
}

export function encodeRindexEntry(entry: RindexEntry, target: Uint8Array, offset = 0): void {
  requireBytes(target, offset, RINDEX_ENTRY_BYTES, 'rindex entry target');
  const view = viewOf(target);
  view.setBigUint64(offset + E.resOffset, checkU64(entry.resOffsetBytes, 'rindexEntry.resOffsetBytes'), true);
  view.setUint32(offset + E.flags, checkU32(entry.flags, 'rindexEntry.flags'), true);
  view.setUint32(offset + E.unused, checkU32(entry.unused, 'rindexEntry.unused'), true);
  encodeName(entry.name, target, offset + E.name, 'rindex entry name', { allowEmpty: true });
}

export function decodeRindexEntry(source: Uint8Array, offset = 0): RindexEntry {
  requireBytes(source, offset, RINDEX_ENTRY_BYTES, 'rindex entry');
  const view = viewOf(source);
  return {
    resOffsetBytes: view.getBigUint64(offset + E.resOffset, true),
    flags: view.getUint32(offset + E.flags, true),
    unused: view.getUint32(offset + E.unused, true),
    name: decodeName(source, offset + E.name),
  };
}

/** A free entry: res_offset 0 and an empty name. */
export function rindexEntryIsFree(entry: RindexEntry): boolean {
  return entry.resOffsetBytes === 0n && entry.name === '';
}

/** Entries per sector: ss / 64 (8 or 64). */
export function rindexEntriesPerSector(geometry: Geometry): number {
  return geometry.sectorSize / RINDEX_ENTRY_BYTES;
}

/** Entries the area can hold: one entry sector per host slot (16000/16000/32000/64000/128000). */
export function rindexMaxEntries(geometry: Geometry): number {
  return rindexEntriesPerSector(geometry) * geometry.maxHosts;
}

function checkEntryIndex(index: number, geometry: Geometry): void {
  const max = rindexMaxEntries(geometry);
  if (!Number.isInteger(index) || index < 0 || index >= max) {
    throw new OnDiskError('LAYOUT_INVALID', `rindex entry ${String(index)} is out of range: expected 0..${max - 1}`, {
      found: String(index),
      expected: `0..${max - 1}`,
    });
  }
}

/** Entry N: area + ss + 64*N. */
export function rindexEntryOffset(areaOffsetBytes: number, index: number, geometry: Geometry): number {
  checkAreaOffset(areaOffsetBytes, geometry);
  checkEntryIndex(index, geometry);
  return areaOffsetBytes + geometry.sectorSize + index * RINDEX_ENTRY_BYTES;
}

/** The rindex_lease paxos lease: area + align. */
export function rindexLeaseOffset(areaOffsetBytes: number, geometry: Geometry): number {
  checkAreaOffset(areaOffsetBytes, geometry);
  return areaOffsetBytes + geometry.alignBytes;
}

/** Resource N's paxos lease: area + 2*align + N*align. */
export function rindexResourceOffset(areaOffsetBytes: number, index: number, geometry: Geometry): number {
  checkAreaOffset(areaOffsetBytes, geometry);
  checkEntryIndex(index, geometry);
  return areaOffsetBytes + (2 + index) * geometry.alignBytes;
}

export interface RindexAreaOptions {
  lockspaceName: string;
  geometry: Geometry;
  /** Absolute offset of the rindex area (stored in the header as rx_offset). */
  areaOffsetBytes: number;
  maxResources?: number;
}

/** The align-sized rindex area `direct format -x` writes: the header, every other byte zero. */
export function buildRindexArea(opts: RindexAreaOptions): Uint8Array {
  const geometry = geometryFor(opts.geometry.sectorSize, opts.geometry.alignBytes);
  checkAreaOffset(opts.areaOffsetBytes, geometry);
  validateName(opts.lockspaceName, 'lockspace name');
  const area = new Uint8Array(geometry.alignBytes);
  encodeRindexHeader(
    {
      magic: RINDEX_MAGIC,
      version: RINDEX_VERSION,
      flags: rindexAlignFlag(geometry.alignBytes),
      sectorSize: geometry.sectorSize,
      maxResources: opts.maxResources ?? RINDEX_DEFAULT_MAX_RESOURCES,
      unused: 0,
      rxOffsetBytes: BigInt(opts.areaOffsetBytes),
      lockspaceName: opts.lockspaceName,
    },
    area,
    0,
  );
  return area;
}
