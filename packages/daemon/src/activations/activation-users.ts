/**
 * The lockspace manager's view of who uses a lockspace, with activations in it: the lease registry
 * answers, except that the persistent leases of active LVs are not left to the admin at a loss (the
 * activation loss handler stops their users and deactivates them), a restart's adoption is followed
 * by the activations' own check, and LOCKSPACE_BUSY names the active LVs.
 */
import type { KillVictim } from '../leases/kill-action.js';
import type { LeaseRegistry } from '../leases/lease-registry.js';
import type { Lockspace } from '../lockspaces/lockspace.js';
import type { LockspaceUsers } from '../lockspaces/lockspace-users.js';
import type { StoredLease } from '../state/state-db.js';
import type { ActivationLossHandler } from './activation-loss.js';
import { lvText } from './activation-record.js';
import type { ActivationRegistry } from './activation-registry.js';

export class ActivationAwareUsers implements LockspaceUsers {
  constructor(
    private readonly leases: LeaseRegistry,
    private readonly activations: ActivationRegistry,
    private readonly loss: ActivationLossHandler,
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
    const dropped = this.leases.dropForLoss(lockspace);
    const activated: string[] = [];
    const others: string[] = [];
    for (const resource of dropped.persistentResources) {
      const record = this.activations.recordOf(lockspace, resource);
      (record !== undefined && record.loss === undefined ? activated : others).push(resource);
    }
    this.loss.onLost(lockspace, activated);
    return { processes: dropped.processes, persistentResources: others };
  }

  onPings(lockspace: string, fromHostIds: number[]): void {
    this.leases.onPings(lockspace, fromHostIds);
  }

  adoptStored(lockspace: Lockspace, stored: StoredLease[]): void {
    this.leases.adoptStored(lockspace, stored);
    void this.activations.restore(lockspace.name);
  }
}
