/**
 * Stable error codes of the client protocol. Scripts and the CLI match on these; messages are for
 * humans and may change. Codes of the lease layer (HOSTID_BUSY, IO_ERROR, ...) pass through as is.
 */
export const PROTOCOL_ERROR_CODES = [
  // The request itself.
  'BAD_JSON', // the line is not JSON
  'BAD_REQUEST', // JSON, but not a valid request (missing/extra/mistyped fields)
  'UNKNOWN_OP', // no such operation
  'MESSAGE_TOO_LARGE', // the line exceeds MAX_MESSAGE_BYTES; the connection is closed
  'TOO_MANY_REQUESTS', // more than MAX_INFLIGHT_PER_CONNECTION in progress
  'DUPLICATE_REQUEST_ID', // an id already in progress on this connection
  // Who is asking.
  'ACCESS_DENIED', // the peer is not root, the daemon's user, or in the socket group
  'TOO_MANY_CLIENTS',
  'CLIENT_GONE', // the process that opened this connection has exited (a child inherited the socket)
  'NOT_OWNER', // the lease belongs to another process
  'NOT_PERMITTED', // e.g. acquiring for a process that is not your child
  // Lockspaces.
  'NO_LOCKSPACE', // not started on this host
  'LOCKSPACE_EXISTS', // already started (or starting) with other parameters
  'LOCKSPACE_STARTING', // still joining: retry, or use wait
  'LOCKSPACE_STOPPING',
  'LOCKSPACE_LOST', // its delta lease was lost; lockstop it, then lockstart again
  'LOCKSPACE_BUSY', // leases are held in it
  'HOSTID_UNAVAILABLE', // auto host_id: no free slot could be taken
  'TOO_MANY_LOCKSPACES', // MAX_LOCKSPACES are started already
  'TOO_MANY_LANES', // MAX_LANES I/O lanes exist (stalled ones included)
  // Leases.
  'LEASE_HELD', // another host holds it (the details name the host)
  'LEASE_HELD_LOCALLY', // another process on this host holds it
  'SHARED_HOLDERS', // live shared holders prevent exclusive (sanlock -11)
  'NOT_HELD', // you do not hold it
  'ALREADY_HELD', // you hold it already
  'TOO_MANY_LEASES',
  'TIMEOUT', // the wait for a busy lease ran out
  'NOT_SUPPORTED', // the lease layer for this operation is not available
  // Activations.
  'LV_IN_USE', // a process has the LV's device open (details: pids)
  'LV_NOT_ACTIVE', // the LV is not active on this host
  'ACTIVATION_FAILED', // the activation backend failed (the lease was released again)
  // The daemon.
  'SHUTTING_DOWN',
  'BAD_CONFIG', // the daemon's configuration is invalid (start-up only)
  'WATCHDOG_UNAVAILABLE',
  'INVALID_ARGUMENT',
  'IO_ERROR',
  'CORRUPT',
  'INTERNAL',
] as const;

export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

/** The error object of a failed reply. `code` may also be a lease-layer code (string). */
export interface WireError {
  code: ProtocolErrorCode | (string & {});
  message: string;
  /** Facts: which host holds it, since when, ... (JSON values only). */
  details?: Record<string, unknown>;
}

/** An error with a stable code, thrown inside the daemon and turned into a WireError at the socket. */
export class DaemonError extends Error {
  override readonly name = 'DaemonError';
  constructor(
    readonly code: ProtocolErrorCode | (string & {}),
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  toWire(): WireError {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}
