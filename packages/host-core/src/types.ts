/**
 * What goes into the host core (events) and what comes out (actions). The daemon and the simulator
 * turn real or simulated happenings into events and execute the actions; the core does no I/O.
 */

export type LeaseMode = 'EX' | 'SH';

/** Who holds a lease on this host: a client process (pid + start time) or the daemon itself. */
export type Holder = { kind: 'process'; pid: number; startTime: bigint } | { kind: 'persistent' };

export function holderKey(holder: Holder): string {
  return holder.kind === 'persistent' ? 'persistent' : `pid:${holder.pid}:${holder.startTime}`;
}

export function describeHolder(holder: Holder): string {
  return holder.kind === 'persistent' ? 'the daemon (persistent)' : `pid ${holder.pid}`;
}

export type HostIdSource = 'given' | 'config' | 'remembered' | 'picked' | 'restored';

export type CoreErrorCode =
  | 'NO_LOCKSPACE'
  | 'LOCKSPACE_STARTING'
  | 'LOCKSPACE_STOPPING'
  | 'LOCKSPACE_LOST'
  | 'LOCKSPACE_EXISTS'
  | 'LOCKSPACE_BUSY'
  | 'TOO_MANY_LOCKSPACES'
  | 'TOO_MANY_CLIENTS'
  | 'TOO_MANY_LEASES'
  | 'TOO_MANY_REQUESTS'
  | 'ALREADY_HELD'
  | 'LEASE_HELD_LOCALLY'
  | 'NOT_HELD'
  | 'NOT_OWNER'
  | 'CLIENT_GONE'
  | 'WATCHDOG_UNAVAILABLE'
  | 'SHUTTING_DOWN'
  | 'ILLEGAL_EVENT'
  | (string & {});

export interface CoreError {
  code: CoreErrorCode;
  message: string;
  /** Opaque to the core: what the shell's client sees beside the code (who holds a busy lease). */
  details?: Record<string, unknown>;
}

/** A lockspace row of local state: what is started, with which host_id and generation. */
export interface LockspaceRow {
  name: string;
  path: string;
  offsetBytes: number;
  hostIdRequest: number | 'auto';
  hostId: number | null;
  generation: bigint | null;
  state: 'starting' | 'joined' | 'lost' | 'stopping' | 'stopped';
}

/** A lease row: an intent (token '') before the acquire starts, the held lease's token after. */
export interface LeaseRow {
  lockspace: string;
  resource: string;
  mode: LeaseMode;
  holder: Holder;
  /** Opaque to the core: what the lease layer needs to release the lease ('' = acquire in progress). */
  token: string;
}

export interface JoinedFacts {
  hostId: number;
  generation: bigint;
  /** Local clock seconds at which the last successful renewal (or the join) started. */
  lastRenewalSeconds: number;
}

export type HostEvent =
  | { type: 'state_loaded'; lockspaces: LockspaceRow[]; leases: LeaseRow[]; sameBoot: boolean }
  | {
      type: 'lockstart';
      reqId: number;
      name: string;
      path: string;
      offsetBytes: number;
      hostIdRequest: number | 'auto';
      configuredHostId?: number;
      rememberedHostId?: number;
    }
  | { type: 'lockstop'; reqId: number; name: string }
  | { type: 'companion_ack'; name: string; step: 'prepare' | 'add'; ok: boolean; message?: string }
  | { type: 'join_result'; name: string; result: { ok: true; facts: JoinedFacts } | { ok: false; error: CoreError } }
  | {
      type: 'renewal_result';
      name: string;
      result: { ok: true; lastRenewalSeconds: number } | { ok: false; error: CoreError };
    }
  | { type: 'leave_done'; name: string }
  | { type: 'expiry_tick' }
  | { type: 'acquire'; reqId: number; lockspace: string; resource: string; mode: LeaseMode; holder: Holder }
  | {
      type: 'acquire_result';
      lockspace: string;
      resource: string;
      result: { ok: true; token: string } | { ok: false; error: CoreError };
    }
  /** The requester of an acquire in progress went away (its connection closed): give the lease back when it comes. */
  | { type: 'cancel_acquire'; lockspace: string; resource: string }
  | { type: 'convert'; reqId: number; lockspace: string; resource: string; mode: LeaseMode; holder: Holder }
  | {
      type: 'convert_result';
      lockspace: string;
      resource: string;
      /** A failed conversion may still have changed what is held (`still`: the lease as it is now). */
      result:
        | { ok: true; token: string; mode: LeaseMode }
        | { ok: false; error: CoreError; still?: { token: string; mode: LeaseMode } };
    }
  /** The holder changed what its held lease carries (a value block to write at release): a new token. */
  | { type: 'update_token'; reqId: number; lockspace: string; resource: string; holder: Holder; token: string }
  | { type: 'release'; reqId: number; lockspace: string; resource: string; holder: Holder }
  | { type: 'release_result'; lockspace: string; resource: string }
  /** The clean_intent of this resource ended (whatever its outcome): acquires of it are admitted again. */
  | { type: 'clean_done'; lockspace: string; resource: string }
  | { type: 'client_exit'; pid: number; startTime: bigint }
  | { type: 'kill_done'; name: string; holder: Holder }
  | { type: 'shutdown' };

export type LaneCommand =
  | { type: 'join'; name: string; path: string; offsetBytes: number; hostId: number; onlyIfFree: boolean }
  | { type: 'pick_and_join'; name: string; path: string; offsetBytes: number }
  | { type: 'resume'; name: string; path: string; offsetBytes: number; hostId: number; generation: bigint }
  /**
   * Stop the join or resume in progress. Its join_result must follow promptly (a failure, unless the
   * join had already finished): a lane whose device hangs answers at once for it, and drops the late
   * result, so that a lockstop never waits for a dead device.
   */
  | { type: 'cancel_join'; name: string }
  | { type: 'leave'; name: string }
  | { type: 'abandon'; name: string }
  | { type: 'acquire'; lockspace: string; resource: string; mode: LeaseMode }
  | { type: 'convert'; lockspace: string; resource: string; mode: LeaseMode; token: string }
  | { type: 'release'; lockspace: string; resource: string; token: string }
  /**
   * Give back a lease an acquire interrupted by the daemon's restart may have left ours on disk
   * (acquire as ourselves, release). Its clean_done must follow, whatever the outcome: until then
   * no acquire of the resource is admitted on this host (two ballots of one host_id share its
   * dblock, and the clean's release would free the other's lease).
   */
  | { type: 'clean_intent'; lockspace: string; resource: string };

export type WatchdogMessage =
  | { type: 'prepare'; name: string }
  | { type: 'add'; name: string; expiresAtSeconds: number }
  | { type: 'renew'; name: string; expiresAtSeconds: number }
  | { type: 'lost'; name: string }
  | { type: 'remove'; name: string };

export type StateChange =
  | { type: 'put_lockspace'; row: LockspaceRow }
  | { type: 'delete_lockspace'; name: string }
  | { type: 'put_lease'; row: LeaseRow }
  | { type: 'delete_lease'; lockspace: string; resource: string; holder: Holder }
  | { type: 'delete_leases_of'; lockspace: string }
  | { type: 'remember_host_id'; name: string; hostId: number }
  | { type: 'forget_host_id'; name: string };

export type Reply = { reqId: number; ok: true; value: ReplyValue } | { reqId: number; ok: false; error: CoreError };

export type ReplyValue =
  | { kind: 'lockspace'; name: string; state: LockspaceStateKind }
  | { kind: 'lease'; lockspace: string; resource: string; mode: LeaseMode; token: string }
  | { kind: 'released'; lockspace: string; resource: string }
  | { kind: 'updated'; lockspace: string; resource: string };

export type LockspaceStateKind = 'starting' | 'joined' | 'stopping' | 'lost' | 'stopped';

export type HostAction =
  | { type: 'lane'; command: LaneCommand }
  | { type: 'reply'; reply: Reply }
  /**
   * A round of the kill plan: 'term' starts it (SIGTERM or the kill command), 'term' with `repeat`
   * comes every second during the grace period (SIGTERM again; a kill command is not run again),
   * 'kill' every second after it.
   */
  | { type: 'kill'; name: string; holders: Holder[]; signal: 'term' | 'kill'; repeat?: boolean }
  | { type: 'watch_holder'; holder: Holder }
  | { type: 'watchdog'; message: WatchdogMessage }
  | { type: 'state'; change: StateChange }
  /** Deliver an expiry_tick no later than this local clock time. */
  | { type: 'wake'; atSeconds: number }
  /** Something a human should see in the log. */
  | { type: 'log'; level: 'info' | 'warn' | 'error'; name: string; message: string };
