/**
 * What renewal lanes and resource lanes share: a set of worker lanes, each with a LaneControl whose
 * slots bracket the I/O of the lockspaces placed on it; which lockspace sits in which slot; and the
 * stall check, every STALL_CHECK_MS, that finds a lane sitting in one I/O for more than
 * STALL_THRESHOLD_MS. What a stall means (which lockspaces stay, which move) is the subclass's.
 * A worker costs 7-14 MB, so lockspaces share a lane until a stall says otherwise.
 */
import type { Logger } from '@leasehold/lease';
import { Lane } from './lane.js';
import { MAX_LOCKSPACES } from '@leasehold/host-core';
import { DaemonError } from '@leasehold/protocol';
import { LaneControl, MAX_SLOTS_PER_LANE } from './lane-control.js';

/** Lanes of one kind (threads): one per device at most per lockspace, plus stalled ones not yet gone. */
export const MAX_LANES = 2 * MAX_LOCKSPACES;

/** How long one I/O may take before its lane counts as stalled on it. */
export const STALL_THRESHOLD_MS = 500;
export const STALL_CHECK_MS = 100;

export interface LaneEntry<Command extends { type: string }, Note extends { type: string }> {
  id: number;
  lane: Lane<Command, Note>;
  control: LaneControl;
  /** lockspace → its slot in `control`. */
  slots: Map<string, number>;
  freeSlots: number[];
  /** Set once the lane is left to one device (renewal) or lockspace (resource). */
  dedicatedTo: string | undefined;
}

export interface SlotLanesSpec {
  kind: 'renewal' | 'resource';
  script: URL;
  testFaultDir: string | undefined;
  logLevel: string;
}

export abstract class SlotLanes<Command extends { type: string }, Note extends { type: string }> {
  protected readonly entries = new Set<LaneEntry<Command, Note>>();
  protected readonly byLockspace = new Map<string, LaneEntry<Command, Note>>();
  /** The lane new lockspaces go to while it has room. */
  protected shared: LaneEntry<Command, Note> | undefined;
  private nextId = 1;
  private readonly timer: NodeJS.Timeout;

  constructor(
    protected readonly logger: Logger,
    private readonly spec: SlotLanesSpec,
  ) {
    this.timer = setInterval(() => this.checkStalls(), STALL_CHECK_MS);
    this.timer.unref();
  }

  laneOf(lockspace: string): Lane<Command, Note> | undefined {
    return this.byLockspace.get(lockspace)?.lane;
  }

  slotOf(lockspace: string): number | undefined {
    return this.byLockspace.get(lockspace)?.slots.get(lockspace);
  }

  /** Live lanes. */
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

  /** A lane stalled in `stalledLockspace`'s I/O (it has other lockspaces, or may have). */
  protected abstract onStall(entry: LaneEntry<Command, Note>, stalledLockspace: string): void;

  /** Hook: a lane is gone (stopped or exited); subclasses forget their own references to it. */
  protected onForget(_entry: LaneEntry<Command, Note>): void {}

  /** Hook: a lane's worker ended by itself (crash); `entry.slots` still names who was on it. */
  protected onLaneExit(_entry: LaneEntry<Command, Note>, _error: Error | undefined): void {}

  protected abstract onNote(lane: Lane<Command, Note>, note: Note): void;

  /** The shared lane, or a new one when there is none with room. */
  protected sharedEntry(): LaneEntry<Command, Note> {
    if (this.shared === undefined || !this.shared.lane.isAlive || this.shared.freeSlots.length === 0)
      this.shared = this.create(undefined);
    return this.shared;
  }

  protected create(dedicatedTo: string | undefined): LaneEntry<Command, Note> {
    // Lanes stalled on a hung device stay until their thread returns: they count too.
    if (this.entries.size >= MAX_LANES)
      throw new DaemonError(
        'TOO_MANY_LANES',
        `${this.entries.size} ${this.spec.kind} lanes exist (limit ${MAX_LANES}); a device may be hanging`,
      );
    const id = this.nextId++;
    const control = new LaneControl();
    const entry: LaneEntry<Command, Note> = {
      id,
      control,
      slots: new Map(),
      freeSlots: Array.from({ length: MAX_SLOTS_PER_LANE }, (_, slot) => MAX_SLOTS_PER_LANE - 1 - slot),
      dedicatedTo,
      lane: undefined as unknown as Lane<Command, Note>,
    };
    entry.lane = new Lane<Command, Note>({
      kind: this.spec.kind,
      laneKey: `${this.spec.kind}-${id}`,
      script: this.spec.script,
      testFaultDir: this.spec.testFaultDir,
      logLevel: this.spec.logLevel,
      extraWorkerData: { control: control.buffer },
      logger: this.logger,
      onNote: (note) => this.onNote(entry.lane, note),
      onExit: (_code, error) => {
        this.forget(entry);
        this.onLaneExit(entry, error);
      },
    });
    this.entries.add(entry);
    return entry;
  }

  /** Gives `lockspace` a fresh slot on `entry`. */
  protected assign(entry: LaneEntry<Command, Note>, lockspace: string): number {
    const slot = entry.freeSlots.pop()!;
    entry.control.reset(slot);
    entry.slots.set(lockspace, slot);
    this.byLockspace.set(lockspace, entry);
    return slot;
  }

  /**
   * Takes `lockspace` off its lane; its slot is fenced (nothing stale can run on it) before it is
   * reused. Returns the lane it was on; a lane left empty is stopped.
   */
  protected unassign(lockspace: string): LaneEntry<Command, Note> | undefined {
    const entry = this.byLockspace.get(lockspace);
    if (entry === undefined) return undefined;
    this.byLockspace.delete(lockspace);
    const slot = entry.slots.get(lockspace);
    entry.slots.delete(lockspace);
    if (slot !== undefined) {
      entry.control.fence(slot);
      entry.freeSlots.push(slot);
    }
    return entry;
  }

  /** Stops `entry` when nobody is left on it. */
  protected stopIfEmpty(entry: LaneEntry<Command, Note>): void {
    if (entry.slots.size > 0) return;
    this.forget(entry);
    entry.lane.terminate();
  }

  /**
   * Fences `lockspaces` off a stalled lane (it can never do I/O for them again) and forgets them
   * there; one with an I/O in flight is skipped (the lane is not stuck after all). Returns those moved.
   */
  protected fenceOff(
    entry: LaneEntry<Command, Note>,
    lockspaces: string[],
    tell: (lockspace: string) => Command,
  ): string[] {
    if (this.shared === entry) this.shared = undefined;
    const moved: string[] = [];
    for (const name of lockspaces) {
      const slot = entry.slots.get(name);
      if (slot === undefined || entry.control.fence(slot) === 'busy') continue;
      entry.slots.delete(name);
      if (this.byLockspace.get(name) === entry) this.byLockspace.delete(name);
      entry.lane.send(tell(name));
      moved.push(name);
    }
    return moved;
  }

  private forget(entry: LaneEntry<Command, Note>): void {
    this.entries.delete(entry);
    if (this.shared === entry) this.shared = undefined;
    this.onForget(entry);
    for (const name of entry.slots.keys()) if (this.byLockspace.get(name) === entry) this.byLockspace.delete(name);
  }

  private checkStalls(): void {
    for (const entry of [...this.entries]) {
      const stalledSlot = entry.control.stalledSlot(STALL_THRESHOLD_MS);
      if (stalledSlot === undefined) continue;
      const stalled = [...entry.slots.entries()].find(([, slot]) => slot === stalledSlot)?.[0];
      if (stalled !== undefined) this.onStall(entry, stalled);
    }
  }
}
