/**
 * Which lane worker does whose I/O.
 *
 * Renewal lanes: one per device (keyed by the resolved path of the lockspace's device), shared by
 * every lockspace whose delta area is on it. Lockspaces on one device stall together when it hangs
 * anyway, so sharing their thread costs no isolation and saves a V8 isolate (about 7 MB) each.
 * Resource lanes: one per lockspace, started on its first resource operation and stopped when idle:
 * a resource lease needs no I/O while it is simply held.
 */
import { resolve } from 'node:path';
import type { Logger } from '@leasehold/lease';
import { Lane } from './lane.js';
import type { RenewalCommand, RenewalNote, ResourceCommand, ResourceNote } from './lane-messages.js';

export type RenewalLane = Lane<RenewalCommand, RenewalNote>;
export type ResourceLane = Lane<ResourceCommand, ResourceNote>;

const RENEWAL_SCRIPT = new URL('./renewal-worker.js', import.meta.url);
const RESOURCE_SCRIPT = new URL('./resource-worker.js', import.meta.url);

export interface LanePoolEvents {
  onRenewalNote(note: RenewalNote): void;
  /** A renewal lane died: the lockspaces it renewed can no longer renew. */
  onRenewalLaneExit(lockspaces: string[], error: Error | undefined): void;
  onResourceNote(lockspace: string, note: ResourceNote): void;
  onResourceLaneExit(lockspace: string, lane: ResourceLane): void;
}

interface RenewalEntry {
  lane: RenewalLane;
  users: Set<string>;
}

export class LanePool {
  private readonly renewal = new Map<string, RenewalEntry>();

  constructor(
    private readonly logger: Logger,
    private readonly testFaultDir: string | undefined,
    private readonly events: LanePoolEvents,
  ) {}

  static deviceKey(path: string): string {
    return resolve(path);
  }

  /** The renewal lane for a device, started if needed; `lockspace` becomes one of its users. */
  renewalLane(path: string, lockspace: string): RenewalLane {
    const key = LanePool.deviceKey(path);
    let entry = this.renewal.get(key);
    if (entry === undefined || !entry.lane.isAlive) {
      const created: RenewalEntry = {
        users: new Set(),
        lane: new Lane<RenewalCommand, RenewalNote>({
          kind: 'renewal',
          laneKey: key,
          script: RENEWAL_SCRIPT,
          testFaultDir: this.testFaultDir,
          logger: this.logger,
          onNote: (note) => this.events.onRenewalNote(note),
          onExit: (_code, error) => {
            if (this.renewal.get(key) === created) this.renewal.delete(key);
            if (created.users.size > 0) this.events.onRenewalLaneExit([...created.users], error);
          },
        }),
      };
      entry = created;
      this.renewal.set(key, entry);
    }
    entry.users.add(lockspace);
    return entry.lane;
  }

  /** `lockspace` no longer uses the device's lane; the last user stops it. */
  leaveRenewalLane(path: string, lockspace: string): void {
    const key = LanePool.deviceKey(path);
    const entry = this.renewal.get(key);
    if (entry === undefined) return;
    entry.users.delete(lockspace);
    if (entry.users.size === 0) {
      this.renewal.delete(key);
      entry.lane.terminate();
    }
  }

  resourceLane(lockspace: string): ResourceLane {
    const lane: ResourceLane = new Lane<ResourceCommand, ResourceNote>({
      kind: 'resource',
      laneKey: `${lockspace}`,
      script: RESOURCE_SCRIPT,
      testFaultDir: this.testFaultDir,
      logger: this.logger,
      onNote: (note) => this.events.onResourceNote(lockspace, note),
      onExit: () => this.events.onResourceLaneExit(lockspace, lane),
    });
    return lane;
  }

  /** Lanes currently running (for status and tests). */
  counts(): { renewal: number } {
    return { renewal: this.renewal.size };
  }

  terminateAll(): void {
    for (const entry of this.renewal.values()) entry.lane.terminate();
    this.renewal.clear();
  }
}
