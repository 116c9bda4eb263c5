/** A freshly initialized lockspace on an in-memory disk, as `sanlock direct init -s` writes it. */
import { MemoryDisk } from '@leasehold/disk';
import {
  buildLockspaceArea,
  decodeDeltaSector,
  deltaSectorOffset,
  encodeDeltaSector,
  geometryFor,
  MIB,
  type DeltaSector,
  type Geometry,
  type LeaderRecord,
} from '@leasehold/ondisk';
import type { DeltaLeaseConfig } from '@leasehold/lease';
import { HookDisk } from './hook-disk.js';

export const SPACE = 'LS1';
export const AREA_OFFSET_BYTES = 0;

export interface TestLockspace {
  memory: MemoryDisk;
  disk: HookDisk;
  geometry: Geometry;
  /** Reads host_id's delta sector straight from memory (no I/O logged). */
  sector(hostId: number): DeltaSector;
  /** Overwrites host_id's delta sector (another writer, bypassing the lease code). */
  writeSector(hostId: number, leader: LeaderRecord, bitmap?: Uint8Array | null): void;
}

export function makeLockspace(
  options: { ioTimeoutSeconds?: number; sectorSize?: 512 | 4096; alignBytes?: number } = {},
): TestLockspace {
  const geometry = geometryFor(options.sectorSize ?? 512, options.alignBytes ?? MIB);
  const area = buildLockspaceArea({ spaceName: SPACE, geometry, ioTimeoutSeconds: options.ioTimeoutSeconds ?? 10 });
  const memory = new MemoryDisk({
    sectorSize: geometry.sectorSize,
    sizeBytes: geometry.alignBytes,
    initialBytes: area,
  });
  const disk = new HookDisk(memory);
  return {
    memory,
    disk,
    geometry,
    sector: (hostId) =>
      decodeDeltaSector(
        memory.readSync(deltaSectorOffset(AREA_OFFSET_BYTES, hostId, geometry), geometry.sectorSize),
        0,
      ),
    writeSector: (hostId, leader, bitmap = null) =>
      memory.writeSync(
        deltaSectorOffset(AREA_OFFSET_BYTES, hostId, geometry),
        encodeDeltaSector(leader, bitmap, geometry.sectorSize),
      ),
  };
}

export function config(hostId: number, hostName: string, overrides: Partial<DeltaLeaseConfig> = {}): DeltaLeaseConfig {
  return {
    spaceName: SPACE,
    hostId,
    areaOffsetBytes: AREA_OFFSET_BYTES,
    hostName,
    ioTimeoutSeconds: 10,
    watchdogFireTimeoutSeconds: 60,
    ...overrides,
  };
}
