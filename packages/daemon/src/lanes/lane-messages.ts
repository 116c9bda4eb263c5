/**
 * Messages between the main thread and the lane workers. Everything crosses by structured clone
 * (bigints included). Commands that expect an answer carry a `reqId`; the worker answers with a
 * `reply`. Everything else a worker says is a notification.
 */
import type { Geometry } from '@leasehold/ondisk';
import type { DeltaEvent, DeltaLeaseConfig, DeltaLeaseViewInit, HeldLease, HostStatus } from '@leasehold/lease';

export interface WireFailure {
  code: string;
  message: string;
  details?: Record<string, unknown>;
  /** A failed conversion that kept the lease in its old mode (the lease as it now is). */
  stillHeld?: HeldLease;
}

export type LaneReply =
  | { type: 'reply'; reqId: number; ok: true; value: unknown }
  | { type: 'reply'; reqId: number; ok: false; error: WireFailure };

export interface LogNote {
  type: 'log';
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

// ------------------------------------------------------------------------------- renewal lane

export interface SlotView {
  hostId: number;
  ownerId: bigint;
  generation: bigint;
  timestamp: bigint;
  hostName: string;
  valid: boolean;
}

export interface SlotsReply {
  maxHosts: number;
  slots: SlotView[];
}

export interface JoinedReply {
  /** The host table as the join left it (ourselves at least). */
  hosts: HostStatus[];
  generation: bigint;
  lastRenewalSeconds: number;
  geometry: Geometry;
  hostId: number;
}

/**
 * Commands to a renewal lane. `slot` is the lockspace's slot in the lane's shared LaneControl: every
 * I/O for the lockspace goes through it, so the main thread can fence the lockspace off this lane.
 */
export type RenewalCommand =
  | { type: 'read_slots'; reqId: number; lockspace: string; path: string; offsetBytes: number; slot: number }
  | {
      type: 'join';
      reqId: number;
      slot: number;
      config: DeltaLeaseConfig;
      path: string;
      /** Take the host_id only if it is free or our own (auto selection must never wait for a stranger). */
      onlyIfFree: boolean;
      /** Give up as soon as the previous owner is seen renewing (auto selection never waits on a live host). */
      giveUpWhenRenewed?: boolean;
    }
  | {
      /** Continue our own delta lease from the disk after a daemon restart (same generation). */
      type: 'resume';
      reqId: number;
      slot: number;
      config: DeltaLeaseConfig;
      path: string;
      generation: bigint;
      /** Refuse unless at least this much of the 8N window is left. */
      minimumRemainingSeconds: number;
    }
  | { type: 'cancel_join'; lockspace: string }
  | { type: 'leave'; reqId: number; lockspace: string }
  | { type: 'abandon'; lockspace: string; reason: string }
  /** The lockspace moved to another lane (this one stalled): drop it silently, write nothing. */
  | { type: 'forget'; lockspace: string }
  | {
      type: 'set_event';
      reqId: number;
      lockspace: string;
      hostId: number;
      event: bigint;
      data: bigint;
      generation: bigint;
      replace: boolean;
    }
  | { type: 'ping_host'; lockspace: string; hostId: number };

export type RenewalNote =
  | LogNote
  | { type: 'progress'; lockspace: string; phase: string; message: string; expectedSeconds?: number }
  | { type: 'renewed'; lockspace: string; lastRenewalSeconds: number; durationMs: number; hosts: HostStatus[] }
  | { type: 'renewal_error'; lockspace: string; code: string; message: string; sinceSeconds: number; atSeconds: number }
  | { type: 'renewal_warn'; lockspace: string; sinceSeconds: number }
  | { type: 'lost'; lockspace: string; code: string; message: string }
  | { type: 'event'; lockspace: string; event: DeltaEvent }
  | { type: 'ping'; lockspace: string; fromHostId: number };

// ------------------------------------------------------------------------------ resource lane

/** What a resource lane needs to follow our delta lease (the lease layer's DeltaLeaseView), and where the lockspace is. */
export interface DeltaViewInit extends DeltaLeaseViewInit {
  /** The lockspace's device (owner delta sectors are read there). */
  path: string;
}

export interface ResourceWhere {
  resource: string;
  path: string;
  offsetBytes: number;
}

/** A held lease and the device it lives on (the lease layer's HeldLease does not carry the path). */
export interface PlacedLease {
  path: string;
  held: HeldLease;
}

/**
 * Commands to a resource lane. A resource lane serves several lockspaces; each has a slot in the
 * lane's LaneControl, and every I/O done for it is bracketed there (so a stall is seen, and a
 * lockspace can be fenced off the lane and served elsewhere).
 */
export type ResourceCommand =
  | { type: 'attach'; lockspace: string; slot: number; view: DeltaViewInit }
  | { type: 'renewed'; lockspace: string; lastRenewalSeconds: number; hosts: HostStatus[] }
  | { type: 'detach'; lockspace: string; reason: string }
  | {
      type: 'acquire';
      reqId: number;
      lockspace: string;
      where: ResourceWhere;
      mode: 'exclusive' | 'shared';
      lver?: bigint;
      /** How long the lease layer may wait for an owner that may be dead. */
      waitSeconds: number;
      /** Read the value block after acquiring. */
      valueBlock?: boolean;
    }
  | { type: 'release'; reqId: number; lockspace: string; lease: PlacedLease }
  | {
      type: 'convert';
      reqId: number;
      lockspace: string;
      lease: PlacedLease;
      mode: 'exclusive' | 'shared';
      waitSeconds: number;
    }
  | { type: 'cancel'; targetReqId: number }
  | { type: 'examine_requests'; reqId: number; lockspace: string; leases: PlacedLease[]; fromHostIds: number[] }
  | {
      type: 'request';
      reqId: number;
      lockspace: string;
      where: ResourceWhere;
      lver: bigint;
      nextLver: boolean;
      forceMode: 0 | 1 | 2;
    };

export type ResourceNote = LogNote | { type: 'ping_host'; lockspace: string; hostId: number };
