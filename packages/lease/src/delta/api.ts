/**
 * Contract of the delta-lease layer (host_id leases and lockspace membership).
 * Implemented in this folder; used by the simulator, the CLI (`direct join|hosts`), the paxos layer
 * and later the daemon. Everything takes a Disk and a Clock only: no Date.now, timers or fs.
 */
import type { Geometry, OnDiskError } from '@leasehold/ondisk';
import type { MembershipBound } from './membership.js';

export type HostState = 'FREE' | 'LIVE' | 'UNKNOWN' | 'FAIL' | 'DEAD';

export interface DeltaLeaseConfig {
  spaceName: string;
  hostId: number;
  /** Absolute offset of the lockspace area (a multiple of the align size). */
  areaOffsetBytes: number;
  /** This incarnation's unique name (<= 48 bytes); equal names allow the fast reacquire. */
  hostName: string;
  ioTimeoutSeconds: number;
  watchdogFireTimeoutSeconds: number;
}

/** What this host knows about one host slot, judged only from observed changes on our own clock. */
export interface HostStatus {
  hostId: number;
  state: HostState;
  ownerId: bigint;
  generation: bigint;
  /** The owner's last written timestamp (its clock, only compared for change). 0 = free. */
  timestamp: bigint;
  hostName: string;
  /** The io_timeout the owner published (0 on disk means: use ours). */
  ioTimeoutSeconds: number;
  /** Observer-clock seconds; undefined until sampled / seen to change. */
  firstCheckSeconds: number | undefined;
  /** When our latest sample of the slot completed. */
  lastCheckSeconds: number | undefined;
  /**
   * When the read of our latest sample was issued. The sample shows the disk as it was at some
   * moment between this and lastCheckSeconds, so the host's silence is proven only up to here:
   * `state` is judged from `lastCheckStartSeconds - (lastLiveSeconds ?? firstCheckSeconds)`
   * (see provenSilenceSeconds), never from "now". `now - lastCheckStartSeconds` is how old the
   * verdict is (large when we were paused or our own I/O stalled).
   */
  lastCheckStartSeconds: number | undefined;
  /** When we first saw the current (owner, generation, timestamp) triple: late, the safe side. */
  lastLiveSeconds: number | undefined;
}

/** An event received from another host (sanlock set_event semantics). */
export interface DeltaEvent {
  fromHostId: number;
  fromGeneration: bigint;
  /** The generation the sender addressed (0 = any); the receiver compares it with its own. */
  targetGeneration: bigint;
  event: bigint;
  data: bigint;
}

export interface SetEventOptions {
  /** Target host's generation (0 = any). */
  generation?: bigint;
  /** Replace a different event sent within set_bitmap_seconds instead of failing EBUSY. */
  replace?: boolean;
}

/** Typed lease-layer failures with stable codes (sanlock's number where one exists). */
export type DeltaErrorCode =
  | 'HOSTID_BUSY' // -262: someone else holds / raced for the host_id
  | 'RENEW_OWNER' // -260: our sector names another owner/generation/name
  | 'RENEW_DIFF' // -261: our sector changed under us
  | 'LEASE_LOST' // no successful renewal for 8 x io_timeout
  | 'IO_ERROR' // a disk I/O failed
  | 'CORRUPT' // an on-disk record failed verification (cause: OnDiskError)
  | 'EVENT_BUSY' // another event is still being sent (sanlock -EBUSY)
  | 'NOT_JOINED' // operation needs a held lease
  | 'ABORTED' // the caller's AbortSignal ended the operation (e.g. the long acquire wait)
  | 'INVALID_ARGUMENT';

export interface DeltaErrorShape extends Error {
  code: DeltaErrorCode;
  cause?: OnDiskError | Error | unknown;
}

/** A held delta lease: one host's membership of one lockspace. */
export interface DeltaLease {
  readonly config: DeltaLeaseConfig;
  readonly geometry: Geometry;
  /** Our owner_generation for this incarnation of the host_id. */
  readonly generation: bigint;
  /** Local clock seconds at which the last successful renewal (or the acquire) started. */
  readonly lastRenewalSeconds: number;
  /** True after release() or once the lease is lost. */
  readonly released: boolean;
  /** True once the lease is lost (8N without a successful renewal, or our sector changed under us). */
  readonly lost: boolean;
  /** Why the lease was lost (LEASE_LOST, RENEW_OWNER or RENEW_DIFF); undefined while not lost. */
  readonly lostError: DeltaErrorShape | undefined;
  /**
   * Declares the lease lost (the renewal loop calls it at 8N when a renewal is still hanging): no
   * further write is issued for it, not even the release.
   */
  markLost(error: DeltaErrorShape): void;
  /** One renewal: whole-area read, verify our sector, sample hosts, write our sector. */
  renew(): Promise<void>;
  /** Clean release: timestamp 0, one write. */
  release(): Promise<void>;
  /**
   * Status of every non-empty slot, as the latest sample proves it (ourselves always LIVE while
   * held). States do not age between samples: FAIL / DEAD need a sample taken after the deadline.
   */
  hosts(): HostStatus[];
  host(hostId: number): HostStatus | undefined;
  /** Queue an event for a host (ALL_HOSTS = 0? no: use hostId); written by following renewals. */
  setEvent(targetHostId: number, event: bigint, data: bigint, options?: SetEventOptions): void;
  clearEvent(): void;
  /** Events received since the last call, de-duplicated (the same event on every renewal arrives once). */
  takeEvents(): DeltaEvent[];
  /** Set host's bit in our bitmap for set_bitmap_seconds (requests, events). */
  pingHost(hostId: number): void;
  /** Host ids whose renewals carried our bit since the last call (they want our attention). */
  takePings(): number[];
  /**
   * Which host_ids have ever been acquired, as the latest whole-area read (a renewal or
   * readMembership) showed it; undefined before the first. The paxos ballots bound their reads
   * with it (paxos/ballot-range.ts).
   */
  membership(): MembershipBound | undefined;
  /** One whole-area read now, nothing written: a fresh membership bound. */
  readMembership(): Promise<MembershipBound>;
  /** Read one host's delta sector now (1 sector I/O), for paxos owner-liveness checks. */
  readHostSector(hostId: number): Promise<import('@leasehold/ondisk').LeaderRecord>;
}
