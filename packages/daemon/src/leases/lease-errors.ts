/**
 * Lease-layer failures as protocol errors. The lease layer's own code stays in the details
 * (`leaseCode`, with sanlock's errno), so nothing is lost; the top-level code is one of the stable
 * protocol codes a script can match.
 */
import { canonicalCode, classifyError } from '@leasehold/errors';
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

/** Where the daemon reads a lease-layer code its own way; every other code maps by the catalogue. */
const DAEMON_CODE_OF: Record<string, string> = {
  NOT_JOINED: 'LOCKSPACE_LOST',
  ABORTED: 'CLIENT_GONE',
};

/** The catalogue code of a lane failure (refined by the worker from the cause, where it had one). */
function protocolCodeOf(code: string, details: Record<string, unknown> | undefined): string {
  const refined = details?.['catalogueCode'];
  return DAEMON_CODE_OF[code] ?? (typeof refined === 'string' ? refined : canonicalCode(code));
}

export function leaseCodeOf(error: unknown): string | undefined {
  if (error instanceof LaneFailure) return error.failure.code;
  if (error instanceof DaemonError) return error.code;
  return undefined;
}

/** A DaemonError for any failure of a lane operation. */
export function toProtocolError(error: unknown): DaemonError {
  if (error instanceof LaneFailure) {
    const { code, message, details } = error.failure;
    const protocolCode = protocolCodeOf(code, details);
    const safeDetails = (details === undefined ? {} : (jsonSafe(details) as Record<string, unknown>)) as Record<
      string,
      unknown
    >;
    return new DaemonError(
      protocolCode,
      message,
      protocolCode === code ? (details === undefined ? undefined : safeDetails) : { ...safeDetails, leaseCode: code },
    );
  }
  if (error instanceof DaemonError) return error;
  const { code, message } = classifyError(error);
  return new DaemonError(code, message);
}
