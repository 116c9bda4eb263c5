/**
 * Resuming our own delta lease after the daemon restarted (same boot): the host_id is still ours
 * on disk with our generation and host name, and enough of the 8N window is left to renew before
 * the deadline. Nothing is written: the renewal loop's next renewal continues the lease.
 */
import type { Disk } from '@leasehold/disk';
import { namesEqual } from '@leasehold/ondisk';
import type { Clock } from '../clock.js';
import { silentLogger, type Logger } from '../logger.js';
import { idRenewalFailSeconds } from '../timeouts.js';
import type { DeltaLeaseConfig } from './api.js';
import { DeltaError } from './errors.js';
import { HeldDeltaLease } from './held-lease.js';
import { readLockspaceHosts } from './lockspace-hosts.js';

export async function resumeDeltaLease(
  disk: Disk,
  clock: Clock,
  config: DeltaLeaseConfig,
  generation: bigint,
  minimumRemainingSeconds: number,
  logger: Logger = silentLogger,
): Promise<HeldDeltaLease> {
  const lockspace = config.spaceName;
  const snapshot = await readLockspaceHosts(disk, { spaceName: lockspace, areaOffsetBytes: config.areaOffsetBytes });
  const slot = snapshot.slots.find((candidate) => candidate.hostId === config.hostId);
  const leader = slot?.leader;
  if (
    slot === undefined ||
    leader === undefined ||
    !slot.valid ||
    leader.timestamp === 0n ||
    leader.ownerId !== BigInt(config.hostId) ||
    leader.ownerGeneration !== generation ||
    !namesEqual(leader.resourceName, config.hostName)
  ) {
    throw new DeltaError(
      'RENEW_OWNER',
      `host_id ${config.hostId} of ${lockspace} no longer holds our generation ${generation}; cannot resume`,
    );
  }
  // Our timestamps are whole monotonic seconds at the write; one second earlier is surely no later
  // than the start of that renewal, so the deadline computed from it is never late.
  const nowSeconds = clock.nowSeconds();
  const acquiredAtSeconds = Math.min(Number(leader.timestamp) - 1, nowSeconds);
  const remainingSeconds = acquiredAtSeconds + idRenewalFailSeconds(config.ioTimeoutSeconds) - nowSeconds;
  if (remainingSeconds < minimumRemainingSeconds) {
    throw new DeltaError(
      'LEASE_LOST',
      `our last renewal of ${lockspace} is too old to resume (${remainingSeconds.toFixed(1)} s left of 8 x io_timeout)`,
    );
  }
  logger.info(
    { lockspace, hostId: config.hostId, generation, remainingSeconds },
    'delta lease resumed after a daemon restart',
  );
  return new HeldDeltaLease({
    disk,
    clock,
    config,
    geometry: snapshot.geometry,
    logger,
    written: leader,
    acquiredAtSeconds,
  });
}
