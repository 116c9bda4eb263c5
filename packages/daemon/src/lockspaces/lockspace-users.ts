/**
 * What the lockspace manager tells the subscribers that act on the host core's decisions about a
 * lockspace's leases (the LeaseRegistry for requests from other hosts, the activation registry for
 * active LVs). Notifications only: the core's lease book is what counts, and the LeaseExecutor has
 * already forgotten or placed the leases themselves when these come.
 */
import type { StoredLease } from '../state/state-db.js';
import type { Lockspace } from './lockspace.js';

export interface LockspaceUsers {
  /**
   * The lockspace's delta lease is lost: forget its leases without any disk I/O (nothing may be
   * written for them any more) and fail operations in progress. The core has started the kill plan.
   */
  dropForLoss(lockspace: string): void;
  /** Hosts pinged us in this lockspace: look for requests on the leases held in it. */
  onPings(lockspace: string, fromHostIds: number[]): void;
  /** The delta lease was resumed (same generation) after a restart: adopt or clean up what state recorded. */
  adoptStored(lockspace: Lockspace, stored: StoredLease[]): void;
}
