/**
 * DeltaError: the typed failure of every delta-lease operation. `code` is stable (see DeltaErrorCode in
 * api.ts); `sanlockErrno` is sanlock's number for the same condition where one exists, so logs can
 * be compared with sanlock's; `details` carries the facts a user needs (who holds the host_id, ...).
 */
import { OnDiskError } from '@leasehold/ondisk';
import type { DeltaErrorCode, DeltaErrorShape } from './api.js';

const SANLOCK_EBUSY = -16;

export const DELTA_SANLOCK_ERRNO: Partial<Record<DeltaErrorCode, number>> = {
  HOSTID_BUSY: -262,
  RENEW_OWNER: -260,
  RENEW_DIFF: -261,
  EVENT_BUSY: SANLOCK_EBUSY,
};

/** Facts about the failure; all optional, filled in where known. */
export interface DeltaErrorDetails {
  spaceName?: string;
  hostId?: number;
  /** The owner found on disk (another host, or a stranger in our own sector). */
  ownerId?: bigint;
  ownerGeneration?: bigint;
  ownerName?: string;
  /** Absolute device offset of the sector concerned. */
  offsetBytes?: number;
}

export class DeltaError extends Error implements DeltaErrorShape {
  override readonly name = 'DeltaError';
  readonly sanlockErrno: number | undefined;

  constructor(
    readonly code: DeltaErrorCode,
    message: string,
    readonly details: DeltaErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.sanlockErrno = DELTA_SANLOCK_ERRNO[code];
  }
}

/** §4 renew step 4: no successful renewal for 8N. */
export function leaseExpiredError(
  where: { spaceName: string; hostId: number; ioTimeoutSeconds: number },
  generation: bigint,
  sinceSuccessSeconds: number,
): DeltaError {
  const limitSeconds = 8 * where.ioTimeoutSeconds;
  return new DeltaError(
    'LEASE_LOST',
    `no successful renewal of host_id ${where.hostId} in lockspace ${where.spaceName} for ${sinceSuccessSeconds.toFixed(1)} s ` +
      `(limit 8 x io_timeout = ${limitSeconds} s): other hosts will treat it as failed; stop all use of its leases and join again`,
    { spaceName: where.spaceName, hostId: where.hostId, ownerGeneration: generation },
  );
}

/**
 * §3/§4: the acquire was held up so long after its write (paused, slow or hung I/O) that other hosts
 * may already have seen our new record silent for 8N + W and called it DEAD (first-renewal.ts).
 */
export function acquireTooLateError(
  where: { spaceName: string; hostId: number; ioTimeoutSeconds: number; watchdogFireTimeoutSeconds: number },
  generation: bigint,
  sinceWriteSeconds: number,
  why: string,
): DeltaError {
  return new DeltaError(
    'LEASE_LOST',
    `the acquire of host_id ${where.hostId} in lockspace ${where.spaceName} (generation ${generation}) was held up for ` +
      `${sinceWriteSeconds.toFixed(1)} s after its write: ${why}, so other hosts may already count it as dead ` +
      `(8 x io_timeout + W = ${8 * where.ioTimeoutSeconds + where.watchdogFireTimeoutSeconds} s); nothing more is written for it. ` +
      'Try again: the same host name reacquires it without the long wait',
    { spaceName: where.spaceName, hostId: where.hostId, ownerGeneration: generation },
  );
}

export function isDeltaError(value: unknown): value is DeltaError {
  return value instanceof DeltaError;
}

/**
 * Maps a failure of a disk or codec call to a DeltaError: OnDiskError → CORRUPT (LAYOUT_INVALID and
 * name errors → INVALID_ARGUMENT), anything else from the disk → IO_ERROR. DeltaErrors pass through.
 */
export function toDeltaError(error: unknown, context: string, details: DeltaErrorDetails = {}): DeltaError {
  if (error instanceof DeltaError) return error;
  if (error instanceof OnDiskError) {
    const invalid = error.code === 'LAYOUT_INVALID' || error.code === 'NAME_TOO_LONG' || error.code === 'NAME_INVALID';
    return new DeltaError(invalid ? 'INVALID_ARGUMENT' : 'CORRUPT', `${context}: ${error.message}`, details, {
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new DeltaError('IO_ERROR', `${context}: ${message}`, details, { cause: error });
}
