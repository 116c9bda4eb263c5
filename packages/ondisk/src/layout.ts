import type { AlignSizeBytes, SectorSize } from './constants.js';

/** One of the five sector/align combinations sanlock accepts. */
export interface Geometry {
  sectorSize: SectorSize;
  alignBytes: AlignSizeBytes;
  /** Max host_id (and default paxos max_hosts/num_hosts): 2000/250/500/1000/2000. */
  maxHosts: number;
}

/** Throws LAYOUT_INVALID for any combination other than 512/1M, 4K/1M, 4K/2M, 4K/4M, 4K/8M. */
export function geometryFor(sectorSize: number, alignBytes: number): Geometry {
  throw new Error('stub');
}
/** The default for a device: 512 -> 512/1M, 4096 -> 4096/8M. */
export function defaultGeometry(deviceSectorSize: number): Geometry {
  throw new Error('stub');
}
/** All five supported geometries. */
export function allGeometries(): Geometry[] {
  throw new Error('stub');
}
export function leaderAlignFlag(alignBytes: number): number {
  throw new Error('stub');
}
export function rindexAlignFlag(alignBytes: number): number {
  throw new Error('stub');
}
/** Geometry from a leader's sector_size and flags; no align flag: 512 -> 1M, 4096 -> 8M. Throws LEADER_SECTORSIZE/LEADER_ALIGN. */
export function geometryFromLeader(sectorSize: number, flags: number): Geometry {
  throw new Error('stub');
}
/** Parses "1M" | "2M" | "4M" | "8M" | a byte count. */
export function parseAlignSize(text: string): number {
  throw new Error('stub');
}
/** Throws LAYOUT_INVALID unless 1 <= hostId <= geometry.maxHosts. */
export function checkHostId(hostId: number, geometry: Geometry): void {
  throw new Error('stub');
}
/** Throws LAYOUT_INVALID unless offsetBytes is a non-negative multiple of the align size. */
export function checkAreaOffset(offsetBytes: number, geometry: Geometry): void {
  throw new Error('stub');
}
/** Delta lease of host_id N: area + (N-1)*ss. */
export function deltaSectorOffset(areaOffsetBytes: number, hostId: number, geometry: Geometry): number {
  throw new Error('stub');
}
/** Request record: area + ss. */
export function requestSectorOffset(areaOffsetBytes: number, geometry: Geometry): number {
  throw new Error('stub');
}
/** dblock/mode sector of host_id N: area + (N+1)*ss. */
export function hostSectorOffset(areaOffsetBytes: number, hostId: number, geometry: Geometry): number {
  throw new Error('stub');
}
/** LVB: area + 2002*ss whatever the align (a sanlock quirk). */
export function lvbSectorOffset(areaOffsetBytes: number, geometry: Geometry): number {
  throw new Error('stub');
}
/** Sectors a ballot reads from the area start: roundup_pow2(numHosts + 2). */
export function ballotReadSectors(numHosts: number): number {
  throw new Error('stub');
}
