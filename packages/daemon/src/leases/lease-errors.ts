/**
 * Lease-layer failures as protocol errors. The lease layer's own code stays in the details
 * (`leaseCode`, with sanlock's errno), so nothing is lost; the top-level code is one of the stable
 * protocol codes a script can match.
 */
import { DaemonError } from '@leasehold/protocol';
import { LaneFailure } from '../lanes/lane.js';
import { jsonSafe } from '../util/wire.js';

/** Lease-layer codes that mean "someone else has it right now": an acquire with a wait retries. */
export const BUSY_LEASE_CODES: ReadonlySet<string> = new Set([
  'ACQUIRE_IDLIVE',
  'ACQUIRE_OWNED',
  'ACQUIRE_OTHER',
  'OWNER_NOWAIT',
  'ACQUIRE_SHRETRY',
  'SHARED_HELD',
]);

const PROTOCOL_CODE_OF: Record<string, string> = {
  ACQUIRE_IDLIVE: 'LEASE_HELD',
  ACQUIRE_OWNED: 'LEASE_HELD',
  ACQUIRE_OTHER: 'LEASE_HELD',
  OWNER_NOWAIT: 'LEASE_HELD',
  ACQUIRE_SHRETRY: 'LEASE_HELD',
  SHARED_HELD: 'SHARED_HOLDERS',
  NOT_JOINED: 'LOCKSPACE_LOST',
  LEADER_CLEARED: 'CORRUPT',
  ABORTED: 'CLIENT_GONE',
};

export function leaseCodeOf(error: unknown): string | undefined {
  if (error instanceof LaneFailure) return error.failure.code;
  if (error instanceof DaemonError) return error.code;
  return undefined;
}

/** A DaemonError for any failure of a lane operation. */
export function toProtocolError(error: unknown): DaemonError {
  if (error instanceof LaneFailure) {
    const { code, message, details } = error.failure;
    const protocolCode = PROTOCOL_CODE_OF[code] ?? code;
    const safeDetails = (details === undefined ? {} : (jsonSafe(details) as Record<string, unknown>)) as Record<string, unknown>;
    return new DaemonError(protocolCode, message, protocolCode === code ? (details === undefined ? undefined : safeDetails) : { ...safeDetails, leaseCode: code });
  }
  if (error instanceof DaemonError) return error;
  return new DaemonError('INTERNAL', error instanceof Error ? (error.stack ?? error.message) : String(error));
}
