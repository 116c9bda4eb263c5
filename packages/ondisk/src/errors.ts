/**
 * Typed errors for on-disk data. Every failure says what was found, where, and what was expected,
 * and carries a stable `code` (and sanlock's numeric error where one exists, for comparison).
 */
import { canonicalCode, type ErrorCode } from '@leasehold/errors';
import { DELTA_LEADER_MAGIC, PAXOS_LEADER_MAGIC } from './constants.js';

export type OnDiskErrorCode =
  | 'LEADER_MAGIC' // sanlock -223
  | 'LEADER_CLEARED' // sanlock -223 (magic 0x11282016: deliberately invalidated)
  | 'LEADER_VERSION' // sanlock -224
  | 'LEADER_SECTORSIZE' // sector_size field not 512/4096 or not what was expected
  | 'LEADER_ALIGN' // align flags inconsistent with the sector size
  | 'LEADER_LOCKSPACE' // sanlock -226
  | 'LEADER_RESOURCE' // sanlock -227
  | 'LEADER_NUMHOSTS' // sanlock -228
  | 'LEADER_CHECKSUM' // sanlock -229
  | 'DBLOCK_CHECKSUM' // sanlock -214
  | 'REQUEST_MAGIC' // sanlock -270
  | 'REQUEST_VERSION' // sanlock -271
  | 'RINDEX_MAGIC'
  | 'RINDEX_VERSION'
  | 'RINDEX_OFFSET'
  | 'NAME_TOO_LONG'
  | 'NAME_INVALID'
  | 'LAYOUT_INVALID' // unsupported sector/align combination, misaligned offset, host id out of range
  | 'LOCK_ARGS_INVALID' // lvmlockd lock_args text that does not parse
  | 'LOCK_ARGS_VERSION' // lvmlockd lock_args with a major version this code does not know
  | 'VALUE_BLOCK_VERSION' // an lvmlockd value block with a major version this code does not know
  | 'BUFFER_SIZE'; // a buffer shorter than the record it should hold

export const SANLOCK_ERRNO: Partial<Record<OnDiskErrorCode, number>> = {
  LEADER_MAGIC: -223,
  LEADER_CLEARED: -223,
  LEADER_VERSION: -224,
  LEADER_LOCKSPACE: -226,
  LEADER_RESOURCE: -227,
  LEADER_NUMHOSTS: -228,
  LEADER_CHECKSUM: -229,
  DBLOCK_CHECKSUM: -214,
  REQUEST_MAGIC: -270,
  REQUEST_VERSION: -271,
};

export interface OnDiskErrorDetails {
  /** Absolute byte offset of the record on the device, when known. */
  offsetBytes?: number;
  found?: string;
  expected?: string;
}

export class OnDiskError extends Error {
  override readonly name = 'OnDiskError';
  readonly sanlockErrno: number | undefined;
  /** The code users see (@leasehold/errors): "not initialised", "wrong kind", "wrong name", "damaged", ... */
  readonly catalogueCode: ErrorCode;
  constructor(
    readonly code: OnDiskErrorCode,
    message: string,
    readonly details: OnDiskErrorDetails = {},
  ) {
    super(message);
    this.sanlockErrno = SANLOCK_ERRNO[code];
    this.catalogueCode = catalogueCodeOf(code, details);
  }
}

/** Leader magics by their hex text, as `details.found` carries them. */
const LEASE_MAGIC_TEXTS: ReadonlySet<string> = new Set(
  [DELTA_LEADER_MAGIC, PAXOS_LEADER_MAGIC].map((magic) => hex32(magic)),
);

/**
 * LEADER_MAGIC says only "not the magic expected": the other kind's magic means a lockspace was
 * found where a resource was expected (or the reverse); anything else means nothing is initialised.
 */
function catalogueCodeOf(code: OnDiskErrorCode, details: OnDiskErrorDetails): ErrorCode {
  if (code === 'LEADER_MAGIC' && details.found !== undefined && LEASE_MAGIC_TEXTS.has(details.found))
    return 'WRONG_KIND';
  return canonicalCode(code);
}

export function hex32(value: number): string {
  return '0x' + (value >>> 0).toString(16).padStart(8, '0');
}
