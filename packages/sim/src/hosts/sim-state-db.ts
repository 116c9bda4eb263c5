/**
 * The daemon's local state database on a simulated machine: lockspace and lease rows, kept across
 * daemon crashes (written synchronously, like SQLite's commit), lost with the machine only if the
 * scenario says so (it never does: /var/lib survives reboots). Tokens stand for the lease layer's
 * encoded HeldLease, which the real daemon stores as JSON in the row.
 */
import type { HeldLease } from '@leasehold/lease';
import { holderKey, type LeaseRow, type LockspaceRow, type StateChange } from '@leasehold/host-core';

export class SimStateDb {
  readonly lockspaces = new Map<string, LockspaceRow>();
  readonly leases = new Map<string, LeaseRow>();
  private readonly tokens = new Map<string, HeldLease>();
  private nextToken = 1;

  apply(change: StateChange): void {
    switch (change.type) {
      case 'put_lockspace':
        this.lockspaces.set(change.row.name, change.row);
        return;
      case 'delete_lockspace':
        this.lockspaces.delete(change.name);
        return;
      case 'put_lease':
        this.leases.set(`${change.row.lockspace}\0${change.row.resource}\0${holderKey(change.row.holder)}`, change.row);
        return;
      case 'delete_lease':
        this.leases.delete(`${change.lockspace}\0${change.resource}\0${holderKey(change.holder)}`);
        return;
      case 'delete_leases_of':
        for (const [key, row] of this.leases) if (row.lockspace === change.lockspace) this.leases.delete(key);
        return;
      case 'remember_host_id':
      case 'forget_host_id':
        return;
      default: {
        const never: never = change;
        throw new Error(`unknown state change ${JSON.stringify(never)}`);
      }
    }
  }

  putToken(held: HeldLease): string {
    const token = `t${this.nextToken++}`;
    this.tokens.set(token, held);
    return token;
  }

  token(token: string): HeldLease | undefined {
    return this.tokens.get(token);
  }

  leaseRows(): LeaseRow[] {
    return [...this.leases.values()];
  }

  lockspaceRows(): LockspaceRow[] {
    return [...this.lockspaces.values()];
  }
}
