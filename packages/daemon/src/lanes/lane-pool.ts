/**
 * Resource lanes: the worker threads that do resource-lease (paxos) I/O, apart from the renewal
 * lanes so that an acquire never delays a renewal.
 *
 * Like renewal lanes they are shared and quarantined on a stall (slot-lanes.ts finds it): a lane
 * that sits in one I/O for more than STALL_THRESHOLD_MS keeps only the lockspace that I/O belongs
 * to, and the other lockspaces are fenced off it and served from a fresh lane (their operations in
 * flight are started again there, which is safe: the old lane can no longer do any I/O for them).
 * A lockspace is attached on its first resource operation and detached after RESOURCE_IDLE_MS
 * without any (a held lease needs no I/O); a lane with no lockspace left stops.
 */
import type { Logger } from '@leasehold/lease';
import type { Lane } from './lane.js';
import type { ResourceCommand, ResourceNote } from './lane-messages.js';
import { SlotLanes, type LaneEntry } from './slot-lanes.js';

export type ResourceLane = Lane<ResourceCommand, ResourceNote>;
export type { RenewalLane } from './renewal-lanes.js';
type Entry = LaneEntry<ResourceCommand, ResourceNote>;

const RESOURCE_SCRIPT = new URL('./resource-worker.js', import.meta.url);

export interface ResourceLaneEvents {
  onNote(lane: ResourceLane, note: ResourceNote): void;
  /** These lockspaces were fenced off a stalled lane: operations in flight there must start again. */
  onMoved(lockspaces: string[]): void;
}

export class ResourceLanes extends SlotLanes<ResourceCommand, ResourceNote> {
  constructor(
    logger: Logger,
    testFaultDir: string | undefined,
    logLevel: string,
    private readonly events: ResourceLaneEvents,
    /** true: one lane per lockspace (no sharing). */
    private readonly perLockspace = false,
  ) {
    super(logger, { kind: 'resource', script: RESOURCE_SCRIPT, testFaultDir, logLevel });
  }

  /** The lane serving `lockspace`; `fresh` when it was just placed there (attach it first). */
  place(lockspace: string): { lane: ResourceLane; slot: number; fresh: boolean } {
    const existing = this.byLockspace.get(lockspace);
    if (existing?.lane.isAlive) return { lane: existing.lane, slot: existing.slots.get(lockspace)!, fresh: false };
    if (existing !== undefined) this.leave(lockspace);
    const entry = this.perLockspace ? this.create(lockspace) : this.sharedEntry();
    return { lane: entry.lane, slot: this.assign(entry, lockspace), fresh: true };
  }

  isAttached(lockspace: string): boolean {
    return this.byLockspace.has(lockspace);
  }

  /** Detaches `lockspace` (its slot is fenced: the lane does no more I/O for it). */
  leave(lockspace: string, reason = 'idle'): void {
    const entry = this.unassign(lockspace);
    if (entry === undefined) return;
    entry.lane.send({ type: 'detach', lockspace, reason });
    this.stopIfEmpty(entry);
  }

  protected onNote(lane: ResourceLane, note: ResourceNote): void {
    this.events.onNote(lane, note);
  }

  /** The lane stalled in one lockspace's I/O: it keeps that one; the others move to a fresh lane. */
  protected onStall(entry: Entry, stalledLockspace: string): void {
    const others = [...entry.slots.keys()].filter((name) => name !== stalledLockspace);
    if (others.length === 0) return;
    entry.dedicatedTo = stalledLockspace;
    const moved = this.fenceOff(entry, others, (lockspace) => ({
      type: 'detach',
      lockspace,
      reason: 'lane stalled on another lockspace',
    }));
    if (moved.length === 0) return;
    this.logger.warn(
      { lane: entry.id, stalledLockspace, moved },
      'resource lane stalled: moving the other lockspaces to a new lane',
    );
    this.events.onMoved(moved);
  }
}
