import { buildLockspaceArea, geometryFor, type Geometry } from '@leasehold/ondisk';
import type { IoFaultSettings } from '../io-faults.js';
import type { SharedDisk } from '../shared-disk.js';
import type { SimWorld } from '../world.js';

/** sanlock's smallest align size; every renewal reads this much, so smaller is faster to simulate. */
export const ONE_MIB_BYTES = 1024 * 1024;
export const DEFAULT_SPACE_NAME = 'simspace';

export interface SimLockspaceOptions {
  spaceName?: string;
  /** 4096 gives 250 host slots per 1 MiB area (fast to sample); 512 gives 2000. */
  sectorSize: 512 | 4096;
  alignBytes?: number;
  /** The io_timeout `direct init -o` writes into every slot (N' of the first acquire). */
  initIoTimeoutSeconds: number;
  diskName?: string;
  /** Faults of the storage itself, seen by every host. */
  ioFaults?: Partial<IoFaultSettings>;
}

/** A shared disk holding one freshly initialized lockspace area at offset 0. */
export interface SimLockspace {
  disk: SharedDisk;
  spaceName: string;
  geometry: Geometry;
  areaOffsetBytes: number;
  /** The host_id whose delta sector holds `offsetBytes`, or undefined outside the slots. */
  slotAt(offsetBytes: number): number | undefined;
  /** True for a read of the whole area (what a renewal does). */
  isWholeAreaRead(offsetBytes: number, lengthBytes: number): boolean;
}

export function createLockspace(world: SimWorld, options: SimLockspaceOptions): SimLockspace {
  const spaceName = options.spaceName ?? DEFAULT_SPACE_NAME;
  const geometry = geometryFor(options.sectorSize, options.alignBytes ?? ONE_MIB_BYTES);
  const areaOffsetBytes = 0;
  const image = buildLockspaceArea({ spaceName, geometry, ioTimeoutSeconds: options.initIoTimeoutSeconds });
  const disk = world.addDisk({
    name: options.diskName ?? 'lockspace',
    sectorSize: geometry.sectorSize,
    sizeBytes: geometry.alignBytes,
    initialBytes: image,
    ...(options.ioFaults === undefined ? {} : { ioFaults: options.ioFaults }),
  });
  return {
    disk,
    spaceName,
    geometry,
    areaOffsetBytes,
    slotAt: (offsetBytes) => {
      const index = Math.floor((offsetBytes - areaOffsetBytes) / geometry.sectorSize);
      return index >= 0 && index < geometry.maxHosts ? index + 1 : undefined;
    },
    isWholeAreaRead: (offsetBytes, lengthBytes) =>
      offsetBytes === areaOffsetBytes && lengthBytes === geometry.alignBytes,
  };
}
