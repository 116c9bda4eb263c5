/** Failures the client reports: the daemon's coded errors, and a few of its own. */
import type { WireError } from '@leasehold/protocol';

/** Codes raised by the client itself (the daemon's codes are listed in @leasehold/protocol). */
export type ClientErrorCode = 'NO_DAEMON' | 'CONNECTION_CLOSED' | 'PROTOCOL_ERROR' | 'TIMEOUT';

export class LeaseholdError extends Error {
  override readonly name = 'LeaseholdError';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  static fromWire(error: WireError): LeaseholdError {
    return new LeaseholdError(error.code, error.message, error.details);
  }
}

export function isLeaseholdError(value: unknown, code?: string): value is LeaseholdError {
  return value instanceof LeaseholdError && (code === undefined || value.code === code);
}
