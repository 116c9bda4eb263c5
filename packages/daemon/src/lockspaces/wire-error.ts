/** Any failure as the protocol's wire error (code, message, details). */
import { classifyError } from '@leasehold/errors';
import { DaemonError, type WireError } from '@leasehold/protocol';
import { LaneFailure } from '../lanes/lane.js';
import { jsonSafe } from '../util/wire.js';

export function wireErrorOf(error: unknown): WireError {
  if (error instanceof LaneFailure)
    return {
      code: error.failure.code,
      message: error.failure.message,
      ...(error.failure.details ? { details: jsonSafe(error.failure.details) as Record<string, unknown> } : {}),
    };
  if (error instanceof DaemonError) return error.toWire();
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') {
    return { code: (error as { code: string }).code, message: String((error as { message?: unknown }).message ?? '') };
  }
  return classifyError(error);
}
