/** Who we are for a resource lease: the host_id and generation of our held delta lease. */
import { namesEqual } from '@leasehold/ondisk';
import type { Clock } from '../clock.js';
import { deltaDeadlineSeconds, type PaxosDeltaView } from '../delta/paxos-view.js';
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
export function ourIdentity(delta: PaxosDeltaView, location: ResourceLocation, clock: Clock): OurIdentity {
  if (!namesEqual(delta.config.spaceName, location.spaceName)) {
    throw new PaxosError(
      'NOT_JOINED',
      `resource ${location.resourceName} belongs to lockspace ${location.spaceName}, but our delta lease is for ${delta.config.spaceName}`,
      { spaceName: location.spaceName, resourceName: location.resourceName, offsetBytes: location.offsetBytes },
    );
  }
  requireJoined(delta, clock, location);
  return { hostId: delta.config.hostId, generation: delta.generation };
}

/**
 * Still joined: not released, not lost, and within 8N of the last successful renewal. Past that the
 * lease is as good as lost even if the renewal loop has not said so yet (a paused host that wakes
 * up runs whatever it was doing before its loop's deadline timer): §7.5, no new writes, no new
 * leases. Without a clock only the flags are looked at.
 */
export function stillJoined(delta: PaxosDeltaView, clock?: Clock): boolean {
  if (delta.released || delta.lost) return false;
  return (
    clock === undefined ||
    clock.nowSeconds() < deltaDeadlineSeconds(delta.lastRenewalSeconds, delta.config.ioTimeoutSeconds)
  );
}

export function requireJoined(delta: PaxosDeltaView, clock: Clock, location: ResourceLocation): void {
  if (stillJoined(delta, clock)) return;
  const why = delta.lost ? 'lost' : delta.released ? 'released' : 'past its renewal deadline';
  throw new PaxosError(
    'NOT_JOINED',
    `our delta lease in lockspace ${location.spaceName} (host_id ${delta.config.hostId}) is ${why}`,
    { spaceName: location.spaceName, resourceName: location.resourceName, offsetBytes: location.offsetBytes },
  );
}
