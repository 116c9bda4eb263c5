/** Failures the client reports: the daemon's coded errors, and a few of its own, as catalogue codes (@leasehold/errors). */
import { canonicalCode } from '@leasehold/errors';
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

  /** The daemon's code as the catalogue names it; a finer wire code (BAD_JSON, ...) stays in details.wireCode. */
  static fromWire(error: WireError): LeaseholdError {
    const code = canonicalCode(error.code);
    return new LeaseholdError(
      code,
      error.message,
      code === error.code ? error.details : { ...(error.details ?? {}), wireCode: error.code },
    );
  }
}

export function isLeaseholdError(value: unknown, code?: string): value is LeaseholdError {
  return value instanceof LeaseholdError && (code === undefined || value.code === code);
}
