/**
 * Which renewal lane (worker thread) renews which lockspace.
 *
 * A worker thread costs about 7-14 MB (its own V8 isolate), so lockspaces share one lane while their
 * devices answer. Isolation comes from quarantine: every I/O is bracketed in shared memory
 * (LaneControl), and a check every STALL_CHECK_MS looks for a lane that has sat in one I/O for more
 * than STALL_THRESHOLD_MS. Such a lane is left to the stalled device (it becomes dedicated to it:
 * later lockspaces on that device go there too); its other lockspaces are fenced off it (so it can
 * never write for them again) and handed back to the manager, which resumes them on a fresh lane
 * from what is on disk (same generation). A hung device thus costs the other lockspaces one stall
 * threshold of delay, far inside their 8 x io_timeout, and stalls only the lockspaces on it.
 */
import { resolve } from 'node:path';
import type { Logger } from '@leasehold/lease';
import { Lane } from './lane.js';
import { LaneControl, MAX_SLOTS_PER_LANE } from './lane-control.js';
import type { RenewalCommand, RenewalNote } from './lane-messages.js';

export type RenewalLane = Lane<RenewalCommand, RenewalNote>;

/** How long one I/O may take before its lane counts as stalled on that device. */
export const STALL_THRESHOLD_MS = 500;
export const STALL_CHECK_MS = 100;

const RENEWAL_SCRIPT = new URL('./renewal-worker.js', import.meta.url);

interface Placement {
  device: string;
  slot: number;
}

interface LaneEntry {
  id: number;
  lane: RenewalLane;
  control: LaneControl;
  users: Map<string, Placement>;
  freeSlots: number[];
  /** Set once the lane stalled on this device: only that device's lockspaces live here. */
  dedicatedTo: string | undefined;
}

export interface RenewalLaneEvents {
  onNote(lane: RenewalLane, note: RenewalNote): void;
  /** These lockspaces were fenced off a stalled lane and need a new one. */
  onMoved(lockspaces: string[], stalledDevice: string): void;
  /** A lane died; its lockspaces can no longer renew. */
  onLaneExit(lockspaces: string[], error: Error | undefined): void;
}

export function deviceKeyOf(path: string): string {
  return resolve(path);
}

export class RenewalLanes {
  private readonly entries = new Set<LaneEntry>();
  private readonly byLockspace = new Map<string, LaneEntry>();
  private shared: LaneEntry | undefined;
  private readonly dedicated = new Map<string, LaneEntry>();
  private nextId = 1;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly logger: Logger,
    private readonly testFaultDir: string | undefined,
    private readonly logLevel: string,
    private readonly events: RenewalLaneEvents,
    /** true: every device gets its own lane from the start (no sharing, no quarantine needed). */
    private readonly perDevice = false,
  ) {
    this.timer = setInterval(() => this.checkStalls(), STALL_CHECK_MS);
    this.timer.unref();
  }

  /** Gives `lockspace` a slot on a lane (the device's dedicated lane, else the shared one). */
  place(lockspace: string, path: string): { lane: RenewalLane; slot: number } {
    const existing = this.byLockspace.get(lockspace);
    if (existing !== undefined) return { lane: existing.lane, slot: existing.users.get(lockspace)!.slot };
    const device = deviceKeyOf(path);
    let entry = this.dedicated.get(device);
    if (this.perDevice && (entry === undefined || !entry.lane.isAlive)) {
      entry = this.create(device);
      this.dedicated.set(device, entry);
    }
    if (entry === undefined || !entry.lane.isAlive) {
      if (this.shared === undefined || !this.shared.lane.isAlive || this.shared.freeSlots.length === 0) this.shared = this.create(undefined);
      entry = this.shared;
    }
    const slot = entry.freeSlots.pop()!;
    entry.control.reset(slot);
    entry.users.set(lockspace, { device, slot });
    this.byLockspace.set(lockspace, entry);
    return { lane: entry.lane, slot };
  }

  laneOf(lockspace: string): RenewalLane | undefined {
    return this.byLockspace.get(lockspace)?.lane;
  }

  slotOf(lockspace: string): number | undefined {
    return this.byLockspace.get(lockspace)?.users.get(lockspace)?.slot;
  }

  /** `lockspace` no longer renews here; an empty lane is stopped. */
  leave(lockspace: string): void {
    const entry = this.byLockspace.get(lockspace);
    if (entry === undefined) return;
    this.byLockspace.delete(lockspace);
    const placement = entry.users.get(lockspace);
    entry.users.delete(lockspace);
    // The slot is reused only by a later lockspace; fence it so nothing stale can run on it meanwhile.
    if (placement !== undefined) {
      entry.control.fence(placement.slot);
      entry.freeSlots.push(placement.slot);
    }
    if (entry.users.size === 0) this.stop(entry);
  }

  counts(): { renewal: number } {
    return { renewal: [...this.entries].filter((entry) => entry.lane.isAlive).length };
  }

  terminateAll(): void {
    clearInterval(this.timer);
    for (const entry of this.entries) entry.lane.terminate();
    this.entries.clear();
    this.byLockspace.clear();
    this.dedicated.clear();
    this.shared = undefined;
  }

  private create(dedicatedTo: string | undefined): LaneEntry {
    const id = this.nextId++;
    const control = new LaneControl();
    const entry: LaneEntry = {
      id,
      control,
      users: new Map(),
      freeSlots: Array.from({ length: MAX_SLOTS_PER_LANE }, (_, slot) => MAX_SLOTS_PER_LANE - 1 - slot),
      dedicatedTo,
      lane: undefined as unknown as RenewalLane,
    };
    entry.lane = new Lane<RenewalCommand, RenewalNote>({
      kind: 'renewal',
      laneKey: `renewal-${id}`,
      script: RENEWAL_SCRIPT,
      testFaultDir: this.testFaultDir,
      logLevel: this.logLevel,
      extraWorkerData: { control: control.buffer },
      logger: this.logger,
      onNote: (note) => this.events.onNote(entry.lane, note),
      onExit: (_code, error) => {
        const users = [...entry.users.keys()];
        this.forgetEntry(entry);
        if (users.length > 0) this.events.onLaneExit(users, error);
      },
    });
    this.entries.add(entry);
    return entry;
  }

  private stop(entry: LaneEntry): void {
    this.forgetEntry(entry);
    entry.lane.terminate();
  }

  private forgetEntry(entry: LaneEntry): void {
    this.entries.delete(entry);
    if (this.shared === entry) this.shared = undefined;
    if (entry.dedicatedTo !== undefined && this.dedicated.get(entry.dedicatedTo) === entry) this.dedicated.delete(entry.dedicatedTo);
    for (const name of entry.users.keys()) if (this.byLockspace.get(name) === entry) this.byLockspace.delete(name);
  }

  private checkStalls(): void {
    for (const entry of [...this.entries]) {
      const stalledSlot = entry.control.stalledSlot(STALL_THRESHOLD_MS);
      if (stalledSlot === undefined) continue;
      const stalled = [...entry.users.entries()].find(([, placement]) => placement.slot === stalledSlot);
      if (stalled === undefined) continue;
      const device = stalled[1].device;
      const others = [...entry.users.entries()].filter(([, placement]) => placement.device !== device);
      if (entry.dedicatedTo === device && others.length === 0) continue;
      this.quarantine(entry, device, others);
    }
  }

  /** The lane stalled on `device`: it keeps that device; everyone else is fenced off and moved. */
  private quarantine(entry: LaneEntry, device: string, others: Array<[string, Placement]>): void {
    if (this.shared === entry) this.shared = undefined;
    const previous = this.dedicated.get(device);
    if (previous === undefined || previous === entry || !previous.lane.isAlive) {
      entry.dedicatedTo = device;
      this.dedicated.set(device, entry);
    }
    const moved: string[] = [];
    for (const [name, placement] of others) {
      // An I/O of this lockspace in flight means the lane is not stuck after all: look again later.
      if (entry.control.fence(placement.slot) === 'busy') continue;
      entry.users.delete(name);
      if (this.byLockspace.get(name) === entry) this.byLockspace.delete(name);
      entry.lane.send({ type: 'forget', lockspace: name });
      moved.push(name);
    }
    if (moved.length === 0) return;
    this.logger.warn({ lane: entry.id, stalledDevice: device, moved }, 'renewal lane stalled on a device: moving the other lockspaces to a new lane');
    this.events.onMoved(moved, device);
  }
}
