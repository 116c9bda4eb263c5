/** Who we are for a resource lease: the host_id and generation of our held delta lease. */
import { namesEqual } from '@leasehold/ondisk';
import type { DeltaLease } from '../delta/api.js';
import { PaxosError } from './errors.js';
import type { ResourceLocation } from './types.js';

export interface OurIdentity {
  hostId: number;
  generation: bigint;
}

/**
 * §5.1 step 3: acquiring needs our own host-status table for the lease's lockspace, so we must hold
 * that lockspace's delta lease (sanlock -241 otherwise). A lost or released delta lease means the
 * watchdog deadline is running out: no new lease may be taken with it.
 */
export function ourIdentity(delta: DeltaLease, location: ResourceLocation): OurIdentity {
  if (!namesEqual(delta.config.spaceName, location.spaceName)) {
    throw new PaxosError(
      'NOT_JOINED',
      `resource ${location.resourceName} belongs to lockspace ${location.spaceName}, but our delta lease is for ${delta.config.spaceName}`,
      { spaceName: location.spaceName, resourceName: location.resourceName, offsetBytes: location.offsetBytes },
    );
  }
  if (delta.released || delta.lost) {
    throw new PaxosError(
      'NOT_JOINED',
      `our delta lease in lockspace ${location.spaceName} (host_id ${delta.config.hostId}) is ${delta.lost ? 'lost' : 'released'}`,
      { spaceName: location.spaceName, resourceName: location.resourceName, offsetBytes: location.offsetBytes },
    );
  }
  return { hostId: delta.config.hostId, generation: delta.generation };
}

/** Still joined, for operations that must stop touching the disk once our delta lease is gone (§7.5). */
export function stillJoined(delta: DeltaLease): boolean {
  return !delta.released && !delta.lost;
}
