/**
 * Resource lanes: the worker threads that do resource-lease (paxos) I/O, apart from the renewal
 * lanes so that an acquire never delays a renewal.
 *
 * Like renewal lanes they are shared (a worker costs 7-14 MB) and quarantined on a stall: each
 * lockspace attached to a lane has a slot in its LaneControl; a lane that sits in one I/O for more
 * than STALL_THRESHOLD_MS keeps only the lockspace that I/O belongs to, and the other lockspaces are
 * fenced off it and served from a fresh lane (their operations in flight are started again there,
 * which is safe: the old lane can no longer do any I/O for them). A lockspace is attached on its
 * first resource operation and detached after RESOURCE_IDLE_MS without any (a held lease needs no
 * I/O); a lane with no lockspace left stops.
 */
import type { Logger } from '@leasehold/lease';
import { Lane } from './lane.js';
import { LaneControl, MAX_SLOTS_PER_LANE } from './lane-control.js';
import type { ResourceCommand, ResourceNote } from './lane-messages.js';
import { STALL_CHECK_MS, STALL_THRESHOLD_MS } from './renewal-lanes.js';

export type ResourceLane = Lane<ResourceCommand, ResourceNote>;
export type { RenewalLane } from './renewal-lanes.js';

const RESOURCE_SCRIPT = new URL('./resource-worker.js', import.meta.url);

export interface ResourceLaneEvents {
  onNote(lane: ResourceLane, note: ResourceNote): void;
  /** These lockspaces were fenced off a stalled lane: operations in flight there must start again. */
  onMoved(lockspaces: string[]): void;
}

interface Entry {
  id: number;
  lane: ResourceLane;
  control: LaneControl;
  users: Map<string, number>;
  freeSlots: number[];
  /** Set when the lane stalled: only this lockspace stays on it. */
  dedicatedTo: string | undefined;
}

export class ResourceLanes {
  private readonly entries = new Set<Entry>();
  private readonly byLockspace = new Map<string, Entry>();
  private shared: Entry | undefined;
  private nextId = 1;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly logger: Logger,
    private readonly testFaultDir: string | undefined,
    private readonly logLevel: string,
    private readonly events: ResourceLaneEvents,
    /** true: one lane per lockspace (no sharing). */
    private readonly perLockspace = false,
  ) {
    this.timer = setInterval(() => this.checkStalls(), STALL_CHECK_MS);
    this.timer.unref();
  }

  /** The lane serving `lockspace`; `fresh` when it was just placed there (attach it first). */
  place(lockspace: string): { lane: ResourceLane; slot: number; fresh: boolean } {
    const existing = this.byLockspace.get(lockspace);
    if (existing !== undefined && existing.lane.isAlive) return { lane: existing.lane, slot: existing.users.get(lockspace)!, fresh: false };
    if (existing !== undefined) this.leave(lockspace);
    let entry: Entry;
    if (this.perLockspace) {
      entry = this.create();
      entry.dedicatedTo = lockspace;
    } else {
      if (this.shared === undefined || !this.shared.lane.isAlive || this.shared.freeSlots.length === 0) this.shared = this.create();
      entry = this.shared;
    }
    const slot = entry.freeSlots.pop()!;
    entry.control.reset(slot);
    entry.users.set(lockspace, slot);
    this.byLockspace.set(lockspace, entry);
    return { lane: entry.lane, slot, fresh: true };
  }

  laneOf(lockspace: string): ResourceLane | undefined {
    return this.byLockspace.get(lockspace)?.lane;
  }

  isAttached(lockspace: string): boolean {
    return this.byLockspace.has(lockspace);
  }

  /** Detaches `lockspace` (its slot is fenced: the lane does no more I/O for it). */
  leave(lockspace: string, reason = 'idle'): void {
    const entry = this.byLockspace.get(lockspace);
    if (entry === undefined) return;
    this.byLockspace.delete(lockspace);
    const slot = entry.users.get(lockspace);
    entry.users.delete(lockspace);
    if (slot !== undefined) {
      entry.control.fence(slot);
      entry.freeSlots.push(slot);
    }
    entry.lane.send({ type: 'detach', lockspace, reason });
    if (entry.users.size === 0) this.stop(entry);
  }

  count(): number {
    return [...this.entries].filter((entry) => entry.lane.isAlive).length;
  }

  terminateAll(): void {
    clearInterval(this.timer);
    for (const entry of this.entries) entry.lane.terminate();
    this.entries.clear();
    this.byLockspace.clear();
    this.shared = undefined;
  }

  private create(): Entry {
    const id = this.nextId++;
    const control = new LaneControl();
    const entry: Entry = {
      id,
      control,
      users: new Map(),
      freeSlots: Array.from({ length: MAX_SLOTS_PER_LANE }, (_, slot) => MAX_SLOTS_PER_LANE - 1 - slot),
      dedicatedTo: undefined,
      lane: undefined as unknown as ResourceLane,
    };
    entry.lane = new Lane<ResourceCommand, ResourceNote>({
      kind: 'resource',
      laneKey: `resource-${id}`,
      script: RESOURCE_SCRIPT,
      testFaultDir: this.testFaultDir,
      logLevel: this.logLevel,
      extraWorkerData: { control: control.buffer },
      logger: this.logger,
      onNote: (note) => this.events.onNote(entry.lane, note),
      onExit: () => this.forget(entry),
    });
    this.entries.add(entry);
    return entry;
  }

  private stop(entry: Entry): void {
    this.forget(entry);
    entry.lane.terminate();
  }

  private forget(entry: Entry): void {
    this.entries.delete(entry);
    if (this.shared === entry) this.shared = undefined;
    for (const name of entry.users.keys()) if (this.byLockspace.get(name) === entry) this.byLockspace.delete(name);
  }

  private checkStalls(): void {
    for (const entry of [...this.entries]) {
      const stalledSlot = entry.control.stalledSlot(STALL_THRESHOLD_MS);
      if (stalledSlot === undefined) continue;
      const stalled = [...entry.users.entries()].find(([, slot]) => slot === stalledSlot)?.[0];
      if (stalled === undefined) continue;
      const others = [...entry.users.entries()].filter(([name]) => name !== stalled);
      if (others.length === 0) continue;
      if (this.shared === entry) this.shared = undefined;
      entry.dedicatedTo = stalled;
      const moved: string[] = [];
      for (const [name, slot] of others) {
        if (entry.control.fence(slot) === 'busy') continue;
        entry.users.delete(name);
        if (this.byLockspace.get(name) === entry) this.byLockspace.delete(name);
        entry.lane.send({ type: 'detach', lockspace: name, reason: 'lane stalled on another lockspace' });
        moved.push(name);
      }
      if (moved.length === 0) continue;
      this.logger.warn({ lane: entry.id, stalledLockspace: stalled, moved }, 'resource lane stalled: moving the other lockspaces to a new lane');
      this.events.onMoved(moved);
    }
  }
}
