/**
 * The delta layer's disk I/O: learning a lockspace's geometry, reading and verifying one host's delta
 * sector, reading the whole area, writing our own sector. Every failure becomes a DeltaError.
 */
import type { Disk } from '@leasehold/disk';
import {
  checkAreaOffset,
  decodeDeltaSector,
  decodeLeader,
  deltaSectorOffset,
  encodeDeltaSector,
  geometryFromLeader,
  verifyLeader,
  type DeltaSector,
  type Geometry,
  type LeaderRecord,
} from '@leasehold/ondisk';
import { DeltaError, toDeltaError } from './errors.js';

/** §2.2: add_lockspace reads this much at the area start to learn the sizes from host 1's record. */
export const LOCKSPACE_PROBE_BYTES = 4096;

export interface LockspaceLocation {
  spaceName: string;
  areaOffsetBytes: number;
}

/**
 * §2.2 / §7.10: the geometry comes from host 1's record (sector 0): its sector_size and align flag,
 * with the 512→1M / 4096→8M fallback when no align flag is set. The record is verified first (magic,
 * version major, space name, checksum), so a wrong offset or name is reported, not guessed around.
 */
export async function readLockspaceGeometry(disk: Disk, where: LockspaceLocation): Promise<Geometry> {
  const context = `lockspace ${where.spaceName} at ${disk.path}:${where.areaOffsetBytes}`;
  const probeBytes = Math.max(LOCKSPACE_PROBE_BYTES, disk.sectorSize);
  if (where.areaOffsetBytes % disk.sectorSize !== 0 || where.areaOffsetBytes + probeBytes > disk.sizeBytes) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `${context}: offset is not sector aligned or lies past the end of the device (${disk.sizeBytes} bytes)`,
      { spaceName: where.spaceName, offsetBytes: where.areaOffsetBytes },
    );
  }
  let geometry: Geometry;
  try {
    const probe = await disk.read(where.areaOffsetBytes, probeBytes);
    const hostOne = verifyLeader(probe, 0, {
      kind: 'delta',
      spaceName: where.spaceName,
      offsetBytes: where.areaOffsetBytes,
    });
    geometry = geometryFromLeader(hostOne.sectorSize, hostOne.flags);
    checkAreaOffset(where.areaOffsetBytes, geometry);
  } catch (error) {
    throw toDeltaError(error, context, { spaceName: where.spaceName, offsetBytes: where.areaOffsetBytes });
  }
  if (geometry.sectorSize % disk.sectorSize !== 0) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `${context}: the lockspace uses ${geometry.sectorSize}-byte sectors but the device's logical sector size is ${disk.sectorSize}`,
      { spaceName: where.spaceName },
    );
  }
  // §2.2: every renewal reads the whole align area, so all of it must be on the device.
  if (where.areaOffsetBytes + geometry.alignBytes > disk.sizeBytes) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `${context}: the ${geometry.alignBytes}-byte lockspace area does not fit on the device (${disk.sizeBytes} bytes)`,
      { spaceName: where.spaceName },
    );
  }
  return geometry;
}

/** Verifies the delta sector of `hostId` inside `area` (a buffer that starts at the area start). */
export function verifyDeltaSectorInArea(
  area: Uint8Array,
  geometry: Geometry,
  where: LockspaceLocation,
  hostId: number,
): DeltaSector {
  return verifyDeltaSectorAt(
    area,
    (hostId - 1) * geometry.sectorSize,
    deltaSectorOffset(where.areaOffsetBytes, hostId, geometry),
    where.spaceName,
    hostId,
  );
}

/** §4 acquire step 1: one single-sector read of host_id's delta lease, verified. */
export async function readDeltaSector(
  disk: Disk,
  geometry: Geometry,
  where: LockspaceLocation,
  hostId: number,
): Promise<DeltaSector> {
  const offsetBytes = deltaSectorOffset(where.areaOffsetBytes, hostId, geometry);
  let sector: Uint8Array;
  try {
    sector = await disk.read(offsetBytes, geometry.sectorSize);
  } catch (error) {
    throw toDeltaError(error, `reading the delta lease of host_id ${hostId} at ${disk.path}:${offsetBytes}`, {
      hostId,
      offsetBytes,
    });
  }
  return verifyDeltaSectorAt(sector, 0, offsetBytes, where.spaceName, hostId);
}

/**
 * §4 acquire step 1 checks: magic, version major, space name, checksum (-223/-224/-226/-229).
 * `offsetBytes` is the sector's device offset, for messages.
 */
function verifyDeltaSectorAt(
  buffer: Uint8Array,
  offsetInBuffer: number,
  offsetBytes: number,
  spaceName: string,
  hostId: number,
): DeltaSector {
  try {
    verifyLeader(buffer, offsetInBuffer, { kind: 'delta', spaceName, offsetBytes });
    return decodeDeltaSector(buffer, offsetInBuffer);
  } catch (error) {
    throw toDeltaError(error, `delta lease of host_id ${hostId} in lockspace ${spaceName}`, {
      spaceName,
      hostId,
      offsetBytes,
    });
  }
}

/** Free area buffers kept per size, for reads that overlap in one thread (rare: lane I/O is synchronous). */
const MAX_POOLED_AREA_BUFFERS = 4;
/**
 * Area buffers (one align area: 1 MiB with 512-byte sectors) free for the next whole-area read of
 * this thread (module state is per isolate), by size. A buffer per lease kept a megabyte per
 * lockspace resident in the lane that renews it, and a fresh one per read (joins, host-id picks,
 * membership reads) left megabytes of garbage that V8 collects late (it is outside its heap).
 */
const freeAreaBuffers = new Map<number, Uint8Array[]>();

function takeAreaBuffer(sizeBytes: number): Uint8Array {
  return freeAreaBuffers.get(sizeBytes)?.pop() ?? new Uint8Array(sizeBytes);
}

function giveAreaBuffer(buffer: Uint8Array): void {
  let free = freeAreaBuffers.get(buffer.byteLength);
  if (free === undefined) {
    free = [];
    freeAreaBuffers.set(buffer.byteLength, free);
  }
  if (free.length < MAX_POOLED_AREA_BUFFERS) free.push(buffer);
}

/**
 * Reads the whole area and hands it to `use`, which must not keep it (nor any view of it): where
 * the disk can read into a buffer (Disk.readInto), the buffer is one of the thread's pool and goes
 * back to it once `use` returns. `read` is the whole-area read given the buffer to fill, if any.
 */
export async function withAreaBuffer<T>(
  disk: Disk,
  geometry: Geometry,
  read: (into: Uint8Array | undefined) => Promise<Uint8Array>,
  use: (area: Uint8Array) => T,
): Promise<T> {
  if (disk.readInto === undefined) return use(await read(undefined));
  const buffer = takeAreaBuffer(geometry.alignBytes);
  try {
    return use(await read(buffer));
  } finally {
    giveAreaBuffer(buffer);
  }
}

/** readLockspaceArea into a pooled buffer, handed to `use` (which must not keep it). */
export function useLockspaceArea<T>(
  disk: Disk,
  geometry: Geometry,
  where: LockspaceLocation,
  use: (area: Uint8Array) => T,
): Promise<T> {
  return withAreaBuffer(disk, geometry, (into) => readLockspaceArea(disk, geometry, where, into), use);
}

/** §4 renew step 1: the whole align area in one I/O. */
export async function readLockspaceArea(
  disk: Disk,
  geometry: Geometry,
  where: LockspaceLocation,
  /** A buffer of the area's size to read into (and return) when the disk can (Disk.readInto). */
  into?: Uint8Array,
): Promise<Uint8Array> {
  try {
    if (into !== undefined && into.byteLength === geometry.alignBytes && disk.readInto !== undefined) {
      await disk.readInto(where.areaOffsetBytes, into);
      return into;
    }
    return await disk.read(where.areaOffsetBytes, geometry.alignBytes);
  } catch (error) {
    throw toDeltaError(error, `reading lockspace ${where.spaceName} at ${disk.path}:${where.areaOffsetBytes}`, {
      spaceName: where.spaceName,
    });
  }
}

/** A delta sector ready to write, with the record exactly as encoded (checksum included). */
export interface PreparedSector {
  bytes: Uint8Array;
  leader: LeaderRecord;
}

/** §1.2: record, zero, bitmap at 256 (or zero when null: acquire and release clear it), zero padding. */
export function prepareDeltaSector(
  leader: LeaderRecord,
  bitmap: Uint8Array | null,
  geometry: Geometry,
): PreparedSector {
  const bytes = encodeDeltaSector(leader, bitmap, geometry.sectorSize);
  return { bytes, leader: decodeLeader(bytes, 0) };
}

/** §7.1: one full-sector write of host_id's delta lease (single-sector writes are atomic). */
export async function writeDeltaSector(
  disk: Disk,
  geometry: Geometry,
  where: LockspaceLocation,
  hostId: number,
  sector: PreparedSector,
): Promise<void> {
  const offsetBytes = deltaSectorOffset(where.areaOffsetBytes, hostId, geometry);
  try {
    await disk.write(offsetBytes, sector.bytes);
  } catch (error) {
    throw toDeltaError(error, `writing the delta lease of host_id ${hostId} at ${disk.path}:${offsetBytes}`, {
      hostId,
      offsetBytes,
    });
  }
}
