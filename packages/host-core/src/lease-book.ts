/**
 * The resource leases this host holds, and for whom: a client process or a persistent holder (the
 * daemon itself, for leases that outlive the command that asked for them, such as an active LV's).
 * One holder per resource per host. Bounded: leases per client, clients, persistent leases.
 */
import { assert } from './assert.js';
import type { HostCoreLimits } from './limits.js';
import { holderKey, type CoreError, type Holder, type LeaseMode } from './types.js';

export type LeaseRecordState = 'acquiring' | 'held' | 'converting' | 'releasing';

export interface LeaseRecord {
  readonly lockspace: string;
  readonly resource: string;
  /** Changed only by a conversion. */
  mode: LeaseMode;
  readonly holder: Holder;
  state: LeaseRecordState;
  /** The lease layer's token once held ('' while acquiring). */
  token: string;
  /** The request waiting for this record's acquire, conversion or release, if any. */
  reqId: number | undefined;
  /** False once the holder or requester went away during an acquire or conversion: the lease is given back when it ends. */
  wanted: boolean;
}

export function leaseKey(lockspace: string, resource: string): string {
  return `${lockspace}\0${resource}`;
}

export class LeaseBook {
  private readonly records = new Map<string, LeaseRecord>();
  private readonly byHolder = new Map<string, Set<LeaseRecord>>();

  constructor(private readonly limits: HostCoreLimits) {}

  get(lockspace: string, resource: string): LeaseRecord | undefined {
    return this.records.get(leaseKey(lockspace, resource));
  }

  all(): LeaseRecord[] {
    return [...this.records.values()];
  }

  inLockspace(lockspace: string): LeaseRecord[] {
    return this.all().filter((record) => record.lockspace === lockspace);
  }

  /** How many leases `holder` has (in any state). */
  countOf(holder: Holder): number {
    return this.byHolder.get(holderKey(holder))?.size ?? 0;
  }

  ofHolder(holder: Holder): LeaseRecord[] {
    return [...(this.byHolder.get(holderKey(holder)) ?? [])];
  }

  /** Why `holder` may not take one more lease, or undefined if it may. */
  refusal(holder: Holder): CoreError | undefined {
    const count = this.countOf(holder);
    if (holder.kind === 'persistent') {
      if (count >= this.limits.persistentLeases)
        return {
          code: 'TOO_MANY_LEASES',
          message: `the daemon already holds ${count} persistent leases (limit ${this.limits.persistentLeases})`,
        };
      return undefined;
    }
    if (count >= this.limits.leasesPerClient)
      return {
        code: 'TOO_MANY_LEASES',
        message: `pid ${holder.pid} already holds ${count} leases (limit ${this.limits.leasesPerClient})`,
      };
    if (count === 0 && this.byHolder.size >= this.limits.clients)
      return {
        code: 'TOO_MANY_CLIENTS',
        message: `${this.byHolder.size} holders already (limit ${this.limits.clients})`,
      };
    return undefined;
  }

  add(record: LeaseRecord): void {
    const key = leaseKey(record.lockspace, record.resource);
    assert(!this.records.has(key), `one holder per resource per host (${record.lockspace}:${record.resource})`);
    this.records.set(key, record);
    const holder = holderKey(record.holder);
    let set = this.byHolder.get(holder);
    if (set === undefined) {
      set = new Set();
      this.byHolder.set(holder, set);
    }
    set.add(record);
  }

  remove(record: LeaseRecord): void {
    const key = leaseKey(record.lockspace, record.resource);
    if (this.records.get(key) === record) this.records.delete(key);
    const holder = holderKey(record.holder);
    const set = this.byHolder.get(holder);
    if (set === undefined) return;
    set.delete(record);
    if (set.size === 0) this.byHolder.delete(holder);
  }
}
