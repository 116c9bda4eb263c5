/**
 * Bounds of everything the host core keeps that grows with input. Each has a stable error code the
 * core replies with at the limit (CoreErrorCode), so a hostile or broken client costs bounded memory.
 */

/** Lockspaces one daemon runs at once (sanlock's default max_lockspaces is 1024... ours is lower: each has threads). */
export const MAX_LOCKSPACES = 256;
/** Client processes the core tracks (holders and requesters). */
export const MAX_CLIENTS = 1024;
/** Leases one process may hold at once (sanlock's per-client limit is 8; leasehold allows more). */
export const MAX_LEASES_PER_CLIENT = 256;
/** Persistent leases (held by the daemon for LV activations) across all lockspaces. */
export const MAX_PERSISTENT_LEASES = 4096;
/** Requests from other hosts remembered as reported, so each is acted on once. */
export const MAX_REPORTED_REQUESTS = 4096;
/** Requests the core has in progress at once (acquires, releases, lockstarts and lockstops waiting). */
export const MAX_PENDING_REQUESTS = 8192;

export interface HostCoreLimits {
  lockspaces: number;
  clients: number;
  leasesPerClient: number;
  persistentLeases: number;
  reportedRequests: number;
  pendingRequests: number;
}

export const DEFAULT_LIMITS: HostCoreLimits = {
  lockspaces: MAX_LOCKSPACES,
  clients: MAX_CLIENTS,
  leasesPerClient: MAX_LEASES_PER_CLIENT,
  persistentLeases: MAX_PERSISTENT_LEASES,
  reportedRequests: MAX_REPORTED_REQUESTS,
  pendingRequests: MAX_PENDING_REQUESTS,
};
