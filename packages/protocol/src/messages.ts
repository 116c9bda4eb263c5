/**
 * The client protocol: newline-delimited JSON over the daemon's Unix socket.
 *
 *   request   {"id": 7, "op": "acquire", ...params}
 *   success   {"id": 7, "ok": true, "result": {...}}
 *   failure   {"id": 7, "ok": false, "error": {"code": "LEASE_HELD", "message": "...", "details": {...}}}
 *   progress  {"id": 7, "progress": {...}}         (zero or more before the reply of a waiting lockstart/lockstop)
 *
 * Every request carries an id chosen by the client (a non-negative integer, unique among its requests
 * in progress on that connection); replies may come in any order. u64 values (lver, generation,
 * event, data) travel as decimal strings. A line longer than MAX_MESSAGE_BYTES closes the connection.
 */
import type { ActivationInfo, LvMapping } from './activation.js';
import type { WireError } from './codes.js';

export type LeaseMode = 'EX' | 'SH';
/** What a `request` asks the holder to do: sanlock's force_mode 0 (clear), 1 (SIGKILL), 2 (graceful). */
export type ForceMode = 'none' | 'force' | 'graceful';

export interface ResourceLocation {
  lockspace: string;
  resource: string;
  path: string;
  offsetBytes: number;
}

export interface RegisterRequest {
  op: 'register';
  /** Shown in status output. */
  name?: string;
  protocolVersion?: number;
}

export interface AcquireRequest extends ResourceLocation {
  op: 'acquire';
  mode: LeaseMode;
  /** 0 (default): fail at once when the lease is busy; otherwise retry up to this many seconds. */
  waitSeconds?: number;
  /** Fail with LVER mismatch unless the lease's version is this (decimal u64). */
  lver?: string;
  /** Held by the daemon itself (outlives this client) instead of by the calling process. */
  persistent?: boolean;
  /** Acquire for this child process of the caller instead of the caller (used by `leasehold run`). */
  holderPid?: number;
  /** Read the lease's value block (sanlock's SANLK_ACQUIRE_LVB); the result carries it. */
  lvb?: boolean;
}

export interface ReleaseRequest {
  op: 'release';
  lockspace: string;
  resource: string;
  persistent?: boolean;
  holderPid?: number;
  /** Set the value block (hex) just before releasing: written if the lease is held EX. */
  lvb?: string;
}

/** sanlock's set_lvb: the value (hex, at most one sector) is written when the lease is released EX. */
export interface SetLvbRequest {
  op: 'set_lvb';
  lockspace: string;
  resource: string;
  data: string;
  persistent?: boolean;
  holderPid?: number;
}

/** sanlock's get_lvb: the value block as read at acquire (or as last set), `size` bytes (default one sector). */
export interface GetLvbRequest {
  op: 'get_lvb';
  lockspace: string;
  resource: string;
  size?: number;
  persistent?: boolean;
  holderPid?: number;
}

export interface ConvertRequest {
  op: 'convert';
  lockspace: string;
  resource: string;
  mode: LeaseMode;
  persistent?: boolean;
  holderPid?: number;
}

export interface InquireRequest {
  op: 'inquire';
  /** Also list the daemon's persistent leases. */
  persistent?: boolean;
}

export interface RequestRequest extends ResourceLocation {
  op: 'request';
  /** The lease version the holder must exceed to act (decimal u64), or 'next' for the current + 1. */
  lver: string;
  forceMode: ForceMode;
}

export interface SetEventRequest {
  op: 'set_event';
  lockspace: string;
  hostId: number;
  event: string;
  data: string;
  generation?: string;
  replace?: boolean;
}

export interface GetEventsRequest {
  op: 'get_events';
  lockspace: string;
  /** Return events with a sequence number above this (default 0: everything kept). */
  afterSeq?: number;
}

export interface StatusRequest {
  op: 'status';
}

export interface HostStatusRequest {
  op: 'host_status';
  lockspace: string;
}

export interface RenewalHistoryRequest {
  op: 'renewal_history';
  lockspace: string;
  limit?: number;
}

export interface LockstartRequest {
  op: 'lockstart';
  lockspace: string;
  /** A host_id, or 'auto' (host-id.conf, then remembered state, then a free slot). */
  hostId: number | 'auto';
  path: string;
  offsetBytes: number;
  /** Reply only when the lockspace is joined (or failed), with progress messages meanwhile. */
  wait?: boolean;
}

export interface LockstopRequest {
  op: 'lockstop';
  lockspace: string;
  wait?: boolean;
}

/**
 * Activate an LV on this host: the daemon takes its lease persistently (EX or SH), makes the device
 * (the configured backend) and records it. resource = the LV's UUID; path/offsetBytes = its lease.
 * Already active here in the other mode: converted (SH to EX fails with SHARED_HOLDERS).
 */
export interface ActivateRequest extends ResourceLocation {
  op: 'activate';
  mode: LeaseMode;
  /** The LV's sectors on this host's PVs, from the VG metadata the command read. */
  mapping: LvMapping;
  /** The seqno of that metadata. */
  vgSeqno: number;
  /** 0 (default): fail at once when another host holds the lease; otherwise retry this long. */
  waitSeconds?: number;
}

/** Deactivate: the device goes (refused with LV_IN_USE while a process has it open), then the lease. */
export interface DeactivateRequest {
  op: 'deactivate';
  lockspace: string;
  resource: string;
}

/** Make an active device follow a changed mapping (after an extend). */
export interface RefreshRequest {
  op: 'refresh';
  lockspace: string;
  resource: string;
  mapping: LvMapping;
  vgSeqno: number;
}

/** The LVs active on this host (in one lockspace, or all). */
export interface ActivationsRequest {
  op: 'activations';
  lockspace?: string;
}

export type Request =
  | RegisterRequest
  | AcquireRequest
  | ReleaseRequest
  | SetLvbRequest
  | GetLvbRequest
  | ConvertRequest
  | InquireRequest
  | RequestRequest
  | SetEventRequest
  | GetEventsRequest
  | StatusRequest
  | HostStatusRequest
  | RenewalHistoryRequest
  | LockstartRequest
  | LockstopRequest
  | ActivateRequest
  | DeactivateRequest
  | RefreshRequest
  | ActivationsRequest;

export type Op = Request['op'];

// ---------------------------------------------------------------------------------------- results

export interface RegisterResult {
  pid: number;
  uid: number;
  hostName: string;
  protocolVersion: number;
  daemonPid: number;
}

export interface LeaseInfo extends ResourceLocation {
  mode: LeaseMode;
  /** Decimal u64. */
  lver: string;
  /** Our host_id and generation in the lockspace when acquired. */
  hostId: number;
  generation: string;
  /** 'process' (a client process) or 'persistent' (the daemon itself). */
  holder: 'process' | 'persistent';
  pid?: number;
  acquiredAt: string; // ISO wall-clock time, for humans
}

export interface AcquireResult {
  lease: LeaseInfo;
  /** The value block as read (hex, one sector), when acquired with `lvb`. */
  lvb?: string;
}

export interface GetLvbResult {
  /** Hex. */
  lvb: string;
}

export interface InquireResult {
  leases: LeaseInfo[];
}

export type LockspaceState = 'starting' | 'joined' | 'lost' | 'stopping' | 'failed';

export interface LockspaceInfo {
  lockspace: string;
  state: LockspaceState;
  hostId: number | null;
  /** How the host_id was chosen: 'given', 'config' (host-id.conf), 'remembered', 'picked'. */
  hostIdSource: string | null;
  generation: string | null;
  path: string;
  offsetBytes: number;
  ioTimeoutSeconds: number;
  /** Seconds since the last successful renewal (null before the first). */
  renewedSecondsAgo: number | null;
  /** Seconds until the lease is lost without a renewal (8 x io_timeout after the last). */
  expiresInSeconds: number | null;
  leaseCount: number;
  /** Why it failed or was lost. */
  error?: WireError;
}

export interface ClientInfo {
  pid: number;
  uid: number;
  name: string | null;
  connections: number;
  leaseCount: number;
}

export interface StatusResult {
  daemon: {
    pid: number;
    hostName: string;
    ioTimeoutSeconds: number;
    watchdogFireTimeoutSeconds: number;
    killGraceSeconds: number;
    watchdog: string;
    socketPath: string;
    stateDir: string;
    uptimeSeconds: number;
  };
  lockspaces: LockspaceInfo[];
  leases: LeaseInfo[];
  clients: ClientInfo[];
  /** LVs active on this host, and what became of those whose lockspace was lost (absent: an older daemon). */
  activations?: ActivationInfo[];
}

export interface HostInfo {
  hostId: number;
  state: 'FREE' | 'LIVE' | 'UNKNOWN' | 'FAIL' | 'DEAD';
  generation: string;
  timestamp: string;
  hostName: string;
  ioTimeoutSeconds: number;
  /** Seconds since a change of this host's lease was last seen (null if never). */
  lastLiveSecondsAgo: number | null;
  self: boolean;
}

export interface HostStatusResult {
  lockspace: string;
  hostId: number;
  hosts: HostInfo[];
}

export interface RenewalRecord {
  /** Seconds ago (on the daemon's monotonic clock) that the renewal started. */
  startedSecondsAgo: number;
  durationMs: number;
  ok: boolean;
  code?: string;
  message?: string;
}

export interface RenewalHistoryResult {
  lockspace: string;
  renewals: RenewalRecord[];
}

export interface EventInfo {
  seq: number;
  fromHostId: number;
  fromGeneration: string;
  targetGeneration: string;
  event: string;
  data: string;
}

export interface GetEventsResult {
  events: EventInfo[];
  lastSeq: number;
}

export interface LockstartResult {
  lockspace: LockspaceInfo;
}

export interface LockstopResult {
  lockspace: string;
  state: 'stopping' | 'stopped';
}

export interface ProgressInfo {
  lockspace: string;
  phase: string;
  message: string;
  elapsedSeconds: number;
  /** The longest this phase can take, when known. */
  expectedSeconds?: number;
}

export interface ActivateResult {
  activation: ActivationInfo;
  /** activated: newly; converted: it was active here in the other mode; unchanged: already so. */
  change: 'activated' | 'converted' | 'unchanged';
}

export interface DeactivateResult {
  /** false: it was not active on this host. */
  deactivated: boolean;
}

export interface RefreshResult {
  activation: ActivationInfo;
}

export interface ActivationsResult {
  activations: ActivationInfo[];
}

export interface ResultOf {
  register: RegisterResult;
  acquire: AcquireResult;
  release: Record<string, never>;
  set_lvb: Record<string, never>;
  get_lvb: GetLvbResult;
  convert: AcquireResult;
  inquire: InquireResult;
  request: Record<string, never>;
  set_event: Record<string, never>;
  get_events: GetEventsResult;
  status: StatusResult;
  host_status: HostStatusResult;
  renewal_history: RenewalHistoryResult;
  lockstart: LockstartResult;
  lockstop: LockstopResult;
  activate: ActivateResult;
  deactivate: DeactivateResult;
  refresh: RefreshResult;
  activations: ActivationsResult;
}

// ---------------------------------------------------------------------------------------- replies

export interface SuccessReply {
  id: number;
  ok: true;
  result: unknown;
}

export interface FailureReply {
  /** null when the request could not be read far enough to know its id. */
  id: number | null;
  ok: false;
  error: WireError;
}

export interface ProgressReply {
  id: number;
  progress: ProgressInfo;
}

export type Reply = SuccessReply | FailureReply | ProgressReply;
