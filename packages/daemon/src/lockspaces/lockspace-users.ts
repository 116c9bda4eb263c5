/**
 * What the lockspace manager tells the subscribers that act on a lockspace's leases besides the host
 * core (the LeaseRegistry for requests from other hosts, the activation registry for active LVs).
 * Notifications only: the core's lease book is what counts, and the LeaseExecutor has already placed
 * the leases themselves when these come. A lease loss needs no notification: the core drops the
 * leases and the executor forgets them. Each subscriber implements what it uses.
 */
import type { StoredLease } from '../state/state-db.js';
import type { Lockspace } from './lockspace.js';

export interface LockspaceUsers {
  /** Hosts pinged us in this lockspace: look for requests on the leases held in it. */
  onPings?(lockspace: string, fromHostIds: number[]): void;
  /** The delta lease was resumed (same generation) after a restart: what state recorded is ours again. */
  adoptStored?(lockspace: Lockspace, stored: StoredLease[]): void;
}
