/**
 * PaxosError: the typed failure of every resource-lease operation. `code` is stable; `sanlockErrno`
 * is sanlock's number for the same condition where one exists (so logs compare with sanlock's);
 * `details` carries the facts a user needs: which host holds the lease, since when, what to do.
 */
import { DiskError } from '@leasehold/disk';
import { OnDiskError, type OnDiskErrorCode } from '@leasehold/ondisk';
import type { HostState } from '../delta/api.js';
import { DeltaError } from '../delta/errors.js';
import type { HeldLease, LeaseMode } from './types.js';

export type PaxosErrorCode =
  | 'ACQUIRE_LVER' // -240: the caller's lver is not the leader's
  | 'NOT_JOINED' // -241: our delta lease for the leader's lockspace is not held
  | 'ACQUIRE_IDLIVE' // -243: the owner is alive (its delta lease changed recently)
  | 'ACQUIRE_OWNED' // -244: another host committed the ballot for this lver
  | 'ACQUIRE_OTHER' // -245: we committed another host's value (it owns the lease now)
  | 'ACQUIRE_SHRETRY' // -246: shared acquire gave up after sh_retries SHORT_HOLD retries
  | 'OWNER_NOWAIT' // -247: the owner may still be alive and we may not (or no longer) wait for its deadline
  | 'SHARED_HELD' // -11 EAGAIN: live shared holders keep an exclusive acquire/convert out
  | 'DBLOCK_LVER' // -212: a dblock carries a larger lver than the leader allows (leader went backwards)
  | 'RELEASE_LVER' // -250: the leader's lver is not the one we hold
  | 'RELEASE_OWNER' // -251: the leader is not as we left it
  | 'REQUEST_OLD' // -272: the leader's lver is already >= the requested lver
  | 'REQUEST_LVER' // -273: a request for a larger lver is already on disk
  | 'LEADER_CLEARED' // -223: the lease was deliberately invalidated (CLEAR magic)
  | 'CORRUPT' // an on-disk record failed verification (cause: OnDiskError, errno from it)
  | 'IO_ERROR' // a disk I/O failed
  | 'NOT_HELD' // release/convert of a lease this host does not hold (in that mode)
  | 'ABORTED' // the caller's AbortSignal ended a wait
  | 'INVALID_ARGUMENT';

const EAGAIN = -11;

export const PAXOS_SANLOCK_ERRNO: Partial<Record<PaxosErrorCode, number>> = {
  ACQUIRE_LVER: -240,
  NOT_JOINED: -241,
  ACQUIRE_IDLIVE: -243,
  ACQUIRE_OWNED: -244,
  ACQUIRE_OTHER: -245,
  ACQUIRE_SHRETRY: -246,
  OWNER_NOWAIT: -247,
  SHARED_HELD: EAGAIN,
  DBLOCK_LVER: -212,
  RELEASE_LVER: -250,
  RELEASE_OWNER: -251,
  REQUEST_OLD: -272,
  REQUEST_LVER: -273,
  LEADER_CLEARED: -223,
};

/** Who holds a lease, as far as this host can tell. Times are on OUR clock (seconds). */
export interface LeaseHolder {
  hostId: number;
  generation: bigint;
  mode: LeaseMode;
  /** The holder's unique host name from its delta lease, when known. */
  hostName?: string;
  /** Its delta-lease state in our host table (§3), when known. */
  state?: HostState;
  /** When we last saw its delta lease change (our clock), when known. */
  lastLiveSeconds?: number;
  /** From when on it counts as dead (last change + 8N_holder + W; our clock), when known. */
  deadAtSeconds?: number;
}

export interface PaxosErrorDetails {
  spaceName?: string;
  resourceName?: string;
  /** Absolute offset of the resource lease area. */
  offsetBytes?: number;
  /** The leader's lver when the operation failed. */
  lver?: bigint;
  /** The holders that kept us out (the owner, or live shared holders). */
  holders?: LeaseHolder[];
  /** The leader record last read, e.g. for the SHORT_HOLD retry decision. */
  leaderFlags?: number;
}

export interface PaxosErrorOptions {
  cause?: unknown;
  /** Overrides the errno of `code` (e.g. -214 for a CORRUPT dblock). */
  sanlockErrno?: number;
  /** A failed conversion keeps a lease: this is it, as it now is on disk. */
  stillHeld?: HeldLease;
}

export class PaxosError extends Error {
  override readonly name = 'PaxosError';
  readonly sanlockErrno: number | undefined;
  /** Set when the operation failed but a lease is still held (a conversion that kept the old mode). */
  readonly stillHeld: HeldLease | undefined;

  constructor(
    readonly code: PaxosErrorCode,
    message: string,
    readonly details: PaxosErrorDetails = {},
    options?: PaxosErrorOptions,
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.sanlockErrno = options?.sanlockErrno ?? PAXOS_SANLOCK_ERRNO[code];
    this.stillHeld = options?.stillHeld;
  }
}

export function isPaxosError(value: unknown, code?: PaxosErrorCode): value is PaxosError {
  return value instanceof PaxosError && (code === undefined || value.code === code);
}

/** OnDiskError codes that mean "wrong arguments for this lease" rather than "damaged data". */
const INVALID_ARGUMENT_CODES: ReadonlySet<OnDiskErrorCode> = new Set<OnDiskErrorCode>([
  'LAYOUT_INVALID',
  'NAME_TOO_LONG',
  'NAME_INVALID',
  'LEADER_LOCKSPACE',
  'LEADER_RESOURCE',
  'LEADER_NUMHOSTS',
]);

/**
 * Maps a failure of a disk, codec or delta-lease call: OnDiskError LEADER_CLEARED → LEADER_CLEARED,
 * wrong names or layout → INVALID_ARGUMENT, other OnDiskErrors → CORRUPT (sanlock's errno kept),
 * DiskError → IO_ERROR, DeltaError → the same code where it exists here. PaxosErrors pass through;
 * anything else is a bug and is thrown as it is rather than disguised as an I/O error.
 */
export function toPaxosError(error: unknown, context: string, details: PaxosErrorDetails = {}): PaxosError {
  if (error instanceof PaxosError) return error;
  if (error instanceof DeltaError) {
    const code: PaxosErrorCode =
      error.code === 'CORRUPT'
        ? 'CORRUPT'
        : error.code === 'NOT_JOINED'
          ? 'NOT_JOINED'
          : error.code === 'INVALID_ARGUMENT'
            ? 'INVALID_ARGUMENT'
            : 'IO_ERROR';
    return new PaxosError(code, `${context}: ${error.message}`, details, { cause: error });
  }
  if (error instanceof OnDiskError) {
    const code: PaxosErrorCode =
      error.code === 'LEADER_CLEARED'
        ? 'LEADER_CLEARED'
        : INVALID_ARGUMENT_CODES.has(error.code)
          ? 'INVALID_ARGUMENT'
          : 'CORRUPT';
    const errno = error.sanlockErrno;
    return new PaxosError(
      code,
      `${context}: ${error.message}`,
      details,
      errno === undefined ? { cause: error } : { cause: error, sanlockErrno: errno },
    );
  }
  if (error instanceof DiskError) {
    return new PaxosError('IO_ERROR', `${context}: ${error.message}`, details, { cause: error });
  }
  throw error;
}
