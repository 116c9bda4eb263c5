/**
 * Area geometry: the five sector-size x align-size combinations sanlock 3.8 accepts, and the offsets
 * of the sectors inside a lockspace (delta) area and a resource (paxos) area. Offsets are bytes.
 *
 *   ss / align   max_hosts  LFL   RHF
 *   512 / 1M     2000       0x10  0x1
 *   4K  / 1M     250        0x10  0x1
 *   4K  / 2M     500        0x20  0x2
 *   4K  / 4M     1000       0x40  0x4
 *   4K  / 8M     2000       0x80  0x8
 *
 * Lockspace area: host_id N's delta lease is sector N-1.
 * Resource area: sector 0 leader, sector 1 request, sector N+1 host_id N's dblock (mode block at +128),
 * LVB at sector 2002 whatever the align (for 4K/1M..4M that is past the area: a sanlock quirk).
 */
import {
  ALIGN_SIZES_BYTES,
  LFL_ALIGN_1M,
  LFL_ALIGN_2M,
  LFL_ALIGN_4M,
  LFL_ALIGN_8M,
  LFL_ALIGN_MASK,
  LVB_SECTOR_INDEX,
  MAX_HOST_ID,
  MIB,
  RHF_ALIGN_1M,
  RHF_ALIGN_2M,
  RHF_ALIGN_4M,
  RHF_ALIGN_8M,
  SECTOR_SIZES,
  type AlignSizeBytes,
  type SectorSize,
} from './constants.js';
import { OnDiskError, hex32 } from './errors.js';

/** One of the five sector/align combinations sanlock accepts. */
export interface Geometry {
  sectorSize: SectorSize;
  alignBytes: AlignSizeBytes;
  /** Max host_id (and default paxos max_hosts/num_hosts): 2000/250/500/1000/2000. */
  maxHosts: number;
}

interface GeometryRow extends Geometry {
  leaderFlag: number;
  rindexFlag: number;
}

const GEOMETRIES: readonly GeometryRow[] = [
  { sectorSize: 512, alignBytes: 1 * MIB, maxHosts: 2000, leaderFlag: LFL_ALIGN_1M, rindexFlag: RHF_ALIGN_1M },
  { sectorSize: 4096, alignBytes: 1 * MIB, maxHosts: 250, leaderFlag: LFL_ALIGN_1M, rindexFlag: RHF_ALIGN_1M },
  { sectorSize: 4096, alignBytes: 2 * MIB, maxHosts: 500, leaderFlag: LFL_ALIGN_2M, rindexFlag: RHF_ALIGN_2M },
  { sectorSize: 4096, alignBytes: 4 * MIB, maxHosts: 1000, leaderFlag: LFL_ALIGN_4M, rindexFlag: RHF_ALIGN_4M },
  { sectorSize: 4096, alignBytes: 8 * MIB, maxHosts: 2000, leaderFlag: LFL_ALIGN_8M, rindexFlag: RHF_ALIGN_8M },
];

/** Align flag per align size (the same for leaders of either sector size). */
const ALIGN_FLAGS: readonly { alignBytes: AlignSizeBytes; leaderFlag: number; rindexFlag: number }[] = [
  { alignBytes: 1 * MIB, leaderFlag: LFL_ALIGN_1M, rindexFlag: RHF_ALIGN_1M },
  { alignBytes: 2 * MIB, leaderFlag: LFL_ALIGN_2M, rindexFlag: RHF_ALIGN_2M },
  { alignBytes: 4 * MIB, leaderFlag: LFL_ALIGN_4M, rindexFlag: RHF_ALIGN_4M },
  { alignBytes: 8 * MIB, leaderFlag: LFL_ALIGN_8M, rindexFlag: RHF_ALIGN_8M },
];

/** Align used when a leader carries no align flag (records older than minor version 4). */
const FALLBACK_ALIGN_BYTES: Record<SectorSize, AlignSizeBytes> = { 512: 1 * MIB, 4096: 8 * MIB };

const SUPPORTED_TEXT = '512/1M, 4096/1M, 4096/2M, 4096/4M or 4096/8M';

function toGeometry(row: GeometryRow): Geometry {
  return { sectorSize: row.sectorSize, alignBytes: row.alignBytes, maxHosts: row.maxHosts };
}

function layoutError(message: string, found: string, expected: string): OnDiskError {
  return new OnDiskError('LAYOUT_INVALID', message, { found, expected });
}

export function isSectorSize(value: number): value is SectorSize {
  return (SECTOR_SIZES as readonly number[]).includes(value);
}

export function isAlignSize(value: number): value is AlignSizeBytes {
  return (ALIGN_SIZES_BYTES as readonly number[]).includes(value);
}

/** Throws LAYOUT_INVALID unless sectorSize is 512 or 4096. */
export function checkSectorSize(sectorSize: number): SectorSize {
  if (!isSectorSize(sectorSize)) {
    throw layoutError(
      `unsupported sector size ${String(sectorSize)}: expected 512 or 4096`,
      String(sectorSize),
      '512 or 4096',
    );
  }
  return sectorSize;
}

/** "1M" style text for an align size in bytes. */
export function formatAlignSize(alignBytes: number): string {
  return alignBytes % MIB === 0 ? `${alignBytes / MIB}M` : `${alignBytes} bytes`;
}

/** Throws LAYOUT_INVALID for any combination other than 512/1M, 4K/1M, 4K/2M, 4K/4M, 4K/8M. */
export function geometryFor(sectorSize: number, alignBytes: number): Geometry {
  const row = GEOMETRIES.find((g) => g.sectorSize === sectorSize && g.alignBytes === alignBytes);
  if (!row) {
    const found = `${String(sectorSize)}/${formatAlignSize(alignBytes)}`;
    throw layoutError(
      `unsupported sector size/align combination ${found}: expected ${SUPPORTED_TEXT}`,
      found,
      SUPPORTED_TEXT,
    );
  }
  return toGeometry(row);
}

/** The default for a device: 512 -> 512/1M, 4096 -> 4096/8M. */
export function defaultGeometry(deviceSectorSize: number): Geometry {
  const sectorSize = checkSectorSize(deviceSectorSize);
  return geometryFor(sectorSize, FALLBACK_ALIGN_BYTES[sectorSize]);
}

/** All five supported geometries. */
export function allGeometries(): Geometry[] {
  return GEOMETRIES.map(toGeometry);
}

function alignRow(alignBytes: number): (typeof ALIGN_FLAGS)[number] {
  const row = ALIGN_FLAGS.find((r) => r.alignBytes === alignBytes);
  if (!row) {
    throw layoutError(
      `unsupported align size ${formatAlignSize(alignBytes)}: expected 1M, 2M, 4M or 8M`,
      String(alignBytes),
      '1M, 2M, 4M or 8M',
    );
  }
  return row;
}

export function leaderAlignFlag(alignBytes: number): number {
  return alignRow(alignBytes).leaderFlag;
}

export function rindexAlignFlag(alignBytes: number): number {
  return alignRow(alignBytes).rindexFlag;
}

/** Geometry from a leader's sector_size and flags; no align flag: 512 -> 1M, 4096 -> 8M. Throws LEADER_SECTORSIZE/LEADER_ALIGN. */
export function geometryFromLeader(sectorSize: number, flags: number): Geometry {
  if (!isSectorSize(sectorSize)) {
    throw new OnDiskError(
      'LEADER_SECTORSIZE',
      `bad leader sector_size: found ${String(sectorSize)}, expected 512 or 4096`,
      {
        found: String(sectorSize),
        expected: '512 or 4096',
      },
    );
  }
  const alignBits = (flags & LFL_ALIGN_MASK) >>> 0;
  if (alignBits === 0) return geometryFor(sectorSize, FALLBACK_ALIGN_BYTES[sectorSize]);
  const row = ALIGN_FLAGS.find((r) => r.leaderFlag === alignBits);
  // More than one align bit set is never written by sanlock: refuse rather than guess.
  const geometry = row && GEOMETRIES.find((g) => g.sectorSize === sectorSize && g.alignBytes === row.alignBytes);
  if (!row || !geometry) {
    const expected =
      sectorSize === 512
        ? `${hex32(LFL_ALIGN_1M)} (1M) or none`
        : `one of ${hex32(LFL_ALIGN_1M)}, ${hex32(LFL_ALIGN_2M)}, ${hex32(LFL_ALIGN_4M)}, ${hex32(LFL_ALIGN_8M)} or none`;
    throw new OnDiskError(
      'LEADER_ALIGN',
      `bad leader align flags for sector size ${sectorSize}: found flags ${hex32(flags)} (align bits ${hex32(alignBits)}), expected ${expected}`,
      { found: hex32(alignBits), expected },
    );
  }
  return toGeometry(geometry);
}

const ALIGN_TEXT = /^\s*(\d+)\s*([mM](?:i?[bB])?)?\s*$/;

/** Parses "1M" | "2M" | "4M" | "8M" | a byte count. Throws LAYOUT_INVALID for anything else. */
export function parseAlignSize(text: string): number {
  const match = ALIGN_TEXT.exec(String(text));
  const digits = match?.[1];
  const value = digits === undefined ? NaN : Number(digits) * (match?.[2] ? MIB : 1);
  if (!isAlignSize(value)) {
    throw layoutError(
      `unsupported align size ${JSON.stringify(text)}: expected 1M, 2M, 4M, 8M or the same in bytes`,
      String(text),
      '1M, 2M, 4M or 8M',
    );
  }
  return value;
}

/** Throws LAYOUT_INVALID unless 1 <= hostId <= geometry.maxHosts. */
export function checkHostId(hostId: number, geometry: Geometry): void {
  if (!Number.isInteger(hostId) || hostId < 1 || hostId > geometry.maxHosts) {
    throw layoutError(
      `host_id ${String(hostId)} is out of range for ${geometry.sectorSize}/${formatAlignSize(geometry.alignBytes)}: expected 1..${geometry.maxHosts}`,
      String(hostId),
      `1..${geometry.maxHosts}`,
    );
  }
}

/** Throws LAYOUT_INVALID unless offsetBytes is a non-negative multiple of the align size. */
export function checkAreaOffset(offsetBytes: number, geometry: Geometry): void {
  if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0 || offsetBytes % geometry.alignBytes !== 0) {
    throw layoutError(
      `area offset ${String(offsetBytes)} is not a multiple of the align size ${formatAlignSize(geometry.alignBytes)} (${geometry.alignBytes} bytes)`,
      String(offsetBytes),
      `a non-negative multiple of ${geometry.alignBytes}`,
    );
  }
}

function checkBase(areaOffsetBytes: number): void {
  if (!Number.isSafeInteger(areaOffsetBytes) || areaOffsetBytes < 0) {
    throw layoutError(
      `bad area offset ${String(areaOffsetBytes)}: expected a non-negative integer`,
      String(areaOffsetBytes),
      'a non-negative integer',
    );
  }
}

/** Delta lease of host_id N: area + (N-1)*ss. */
export function deltaSectorOffset(areaOffsetBytes: number, hostId: number, geometry: Geometry): number {
  checkBase(areaOffsetBytes);
  checkHostId(hostId, geometry);
  return areaOffsetBytes + (hostId - 1) * geometry.sectorSize;
}

/** Paxos leader: area + 0. */
export function leaderSectorOffset(areaOffsetBytes: number): number {
  checkBase(areaOffsetBytes);
  return areaOffsetBytes;
}

/** Request record: area + ss. */
export function requestSectorOffset(areaOffsetBytes: number, geometry: Geometry): number {
  checkBase(areaOffsetBytes);
  return areaOffsetBytes + geometry.sectorSize;
}

/** dblock/mode sector of host_id N: area + (N+1)*ss. */
export function hostSectorOffset(areaOffsetBytes: number, hostId: number, geometry: Geometry): number {
  checkBase(areaOffsetBytes);
  checkHostId(hostId, geometry);
  return areaOffsetBytes + (hostId + 1) * geometry.sectorSize;
}

/** LVB: area + 2002*ss whatever the align (a sanlock quirk). */
export function lvbSectorOffset(areaOffsetBytes: number, geometry: Geometry): number {
  checkBase(areaOffsetBytes);
  return areaOffsetBytes + LVB_SECTOR_INDEX * geometry.sectorSize;
}

/** True when the LVB sector lies inside the lease's own align area (512/1M and 4K/8M only). */
export function lvbInsideArea(geometry: Geometry): boolean {
  return (LVB_SECTOR_INDEX + 1) * geometry.sectorSize <= geometry.alignBytes;
}

/**
 * Sectors a ballot reads from the area start: roundup_pow2(numHosts + 2) (leader, request and one
 * dblock per host). With `geometry`, numHosts must not exceed its maxHosts (the read would leave the area).
 */
export function ballotReadSectors(numHosts: number, geometry?: Geometry): number {
  const limit = geometry?.maxHosts ?? MAX_HOST_ID;
  if (!Number.isInteger(numHosts) || numHosts < 0 || numHosts > limit) {
    throw layoutError(
      `bad num_hosts ${String(numHosts)} for a ballot read: expected 0..${limit}`,
      String(numHosts),
      `0..${limit}`,
    );
  }
  let sectors = 1;
  while (sectors < numHosts + 2) sectors *= 2;
  return sectors;
}
