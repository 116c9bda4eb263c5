/**
 * The lockspace manager's view of who uses a lockspace, with activations in it: the lease registry
 * answers, except that a restart's adoption is followed by the activations' own check, and
 * LOCKSPACE_BUSY names the active LVs. (At a loss, the kill campaign hands the active LVs' leases to
 * the activation loss handler: KillAction.setPersistentHandler.)
 */
import type { KillVictim } from '../leases/kill-action.js';
import type { LeaseRegistry } from '../leases/lease-registry.js';
import type { Lockspace } from '../lockspaces/lockspace.js';
import type { LockspaceUsers } from '../lockspaces/lockspace-users.js';
import type { StoredLease } from '../state/state-db.js';
import { lvText } from './activation-record.js';
import type { ActivationRegistry } from './activation-registry.js';

export class ActivationAwareUsers implements LockspaceUsers {
  constructor(
    private readonly leases: LeaseRegistry,
    private readonly activations: ActivationRegistry,
  ) {}

  countIn(lockspace: string): number {
    return this.leases.countIn(lockspace);
  }

  holdersIn(lockspace: string): Array<{ resource: string; holder: string }> {
    return this.leases.holdersIn(lockspace).map((entry) => {
      const record = this.activations.recordOf(lockspace, entry.resource);
      return record === undefined || record.loss !== undefined
        ? entry
        : { resource: entry.resource, holder: `active LV ${lvText(record)} (${record.mode})` };
    });
  }

  dropForLoss(lockspace: string): { processes: KillVictim[]; persistentResources: string[] } {
    // The kill campaign hands the active LVs' leases to the activation loss handler (KillAction).
    return this.leases.dropForLoss(lockspace);
  }

  onPings(lockspace: string, fromHostIds: number[]): void {
    this.leases.onPings(lockspace, fromHostIds);
  }

  adoptStored(lockspace: Lockspace, stored: StoredLease[]): void {
    this.leases.adoptStored(lockspace, stored);
    void this.activations.restore(lockspace.name);
  }
}
