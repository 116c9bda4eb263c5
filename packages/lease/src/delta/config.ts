/** Validation of a DeltaLeaseConfig, and the io_timeout rules of §3. */
import { MAX_HOST_ID, validateName } from '@leasehold/ondisk';
import { MAX_IO_TIMEOUT_SECONDS } from '../timeouts.js';
import type { DeltaLeaseConfig } from './api.js';
import { DeltaError, toDeltaError } from './errors.js';

/** Throws INVALID_ARGUMENT for a config no lockspace could accept (host id range is checked later against the geometry). */
export function validateDeltaConfig(config: DeltaLeaseConfig): void {
  try {
    validateName(config.spaceName, 'lockspace name');
    validateName(config.hostName, 'host name');
  } catch (error) {
    throw toDeltaError(error, 'invalid delta lease config');
  }
  if (!Number.isInteger(config.hostId) || config.hostId < 1 || config.hostId > MAX_HOST_ID) {
    throw invalid(`host_id must be an integer 1-${MAX_HOST_ID}, got ${config.hostId}`);
  }
  // §1.1: io_timeout is written as (value & 0xFF); a larger value would publish a wrong one.
  if (
    !Number.isInteger(config.ioTimeoutSeconds) ||
    config.ioTimeoutSeconds < 1 ||
    config.ioTimeoutSeconds > MAX_IO_TIMEOUT_SECONDS
  ) {
    throw invalid(`io_timeout must be an integer 1-${MAX_IO_TIMEOUT_SECONDS} seconds, got ${config.ioTimeoutSeconds}`);
  }
  if (!Number.isFinite(config.watchdogFireTimeoutSeconds) || config.watchdogFireTimeoutSeconds < 0) {
    throw invalid(
      `watchdog_fire_timeout must be a non-negative number of seconds, got ${config.watchdogFireTimeoutSeconds}`,
    );
  }
  if (!Number.isSafeInteger(config.areaOffsetBytes) || config.areaOffsetBytes < 0) {
    throw invalid(`lockspace offset must be a non-negative byte count, got ${config.areaOffsetBytes}`);
  }
}

/**
 * §3: thresholds for judging a host use the io_timeout it published in its delta lease; a 0 there
 * means "use the local io_timeout".
 */
export function effectiveIoTimeoutSeconds(publishedIoTimeoutSeconds: number, ourIoTimeoutSeconds: number): number {
  return publishedIoTimeoutSeconds === 0 ? ourIoTimeoutSeconds : publishedIoTimeoutSeconds;
}

function invalid(message: string): DeltaError {
  return new DeltaError('INVALID_ARGUMENT', message);
}
