/** What the lockspace manager needs from whoever keeps the resource leases (the LeaseRegistry). */
import type { StoredLease } from '../state/state-db.js';
import type { KillVictim } from '../leases/kill-action.js';
import type { Lockspace } from './lockspace.js';

export interface LockspaceUsers {
  /** Leases held in the lockspace (by processes or persistently). */
  countIn(lockspace: string): number;
  /** Who holds leases in it (for LOCKSPACE_BUSY messages). */
  holdersIn(lockspace: string): Array<{ resource: string; holder: string }>;
  /**
   * The lockspace's delta lease is lost: forget its leases without any disk I/O (nothing may be
   * written for them any more) and fail operations in progress. Returns who used them.
   */
  dropForLoss(lockspace: string): { processes: KillVictim[]; persistentResources: string[] };
  /** Hosts pinged us in this lockspace: look for requests on the leases held in it. */
  onPings(lockspace: string, fromHostIds: number[]): void;
  /** The delta lease was resumed (same generation) after a restart: adopt or clean up what state recorded. */
  adoptStored(lockspace: Lockspace, stored: StoredLease[]): void;
}
