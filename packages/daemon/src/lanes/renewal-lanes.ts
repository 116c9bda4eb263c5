/**
 * Which renewal lane (worker thread) renews which lockspace.
 *
 * Lockspaces share one lane while their devices answer. Isolation comes from quarantine
 * (slot-lanes.ts finds the stall): a lane that sits in one I/O for more than STALL_THRESHOLD_MS is
 * left to the stalled device (it becomes dedicated to it: later lockspaces on that device go there
 * too); its other lockspaces are fenced off it (so it can never write for them again) and handed
 * back to the manager, which resumes them on a fresh lane from what is on disk (same generation).
 * A hung device thus costs the other lockspaces one stall threshold of delay, far inside their
 * 8 x io_timeout, and stalls only the lockspaces on it.
 */
import { resolve } from 'node:path';
import type { Logger } from '@leasehold/lease';
import type { Lane } from './lane.js';
import type { RenewalCommand, RenewalNote } from './lane-messages.js';
import { SlotLanes, type LaneEntry } from './slot-lanes.js';

export type RenewalLane = Lane<RenewalCommand, RenewalNote>;
type Entry = LaneEntry<RenewalCommand, RenewalNote>;

const RENEWAL_SCRIPT = new URL('./renewal-worker.js', import.meta.url);

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

export class RenewalLanes extends SlotLanes<RenewalCommand, RenewalNote> {
  /** Lanes left to one device (after a stall there, or from the start with perDevice). */
  private readonly dedicated = new Map<string, Entry>();
  /** lockspace → the device it renews on. */
  private readonly devices = new Map<string, string>();

  constructor(
    logger: Logger,
    testFaultDir: string | undefined,
    logLevel: string,
    private readonly events: RenewalLaneEvents,
    /** true: every device gets its own lane from the start (no sharing, no quarantine needed). */
    private readonly perDevice = false,
  ) {
    super(logger, { kind: 'renewal', script: RENEWAL_SCRIPT, testFaultDir, logLevel });
  }

  /** Gives `lockspace` a slot on a lane (the device's dedicated lane, else the shared one). */
  place(lockspace: string, path: string): { lane: RenewalLane; slot: number } {
    const existing = this.byLockspace.get(lockspace);
    if (existing !== undefined) return { lane: existing.lane, slot: existing.slots.get(lockspace)! };
    const device = deviceKeyOf(path);
    let entry = this.dedicated.get(device);
    if (this.perDevice && (entry === undefined || !entry.lane.isAlive)) {
      entry = this.create(device);
      this.dedicated.set(device, entry);
    }
    if (entry === undefined || !entry.lane.isAlive) entry = this.sharedEntry();
    this.devices.set(lockspace, device);
    return { lane: entry.lane, slot: this.assign(entry, lockspace) };
  }

  /** `lockspace` no longer renews here; an empty lane is stopped. */
  leave(lockspace: string): void {
    const entry = this.unassign(lockspace);
    this.devices.delete(lockspace);
    if (entry !== undefined) this.stopIfEmpty(entry);
  }

  counts(): { renewal: number } {
    return { renewal: this.count() };
  }

  override terminateAll(): void {
    super.terminateAll();
    this.dedicated.clear();
  }

  protected onNote(lane: RenewalLane, note: RenewalNote): void {
    this.events.onNote(lane, note);
  }

  protected override onLaneExit(entry: Entry, error: Error | undefined): void {
    const users = [...entry.slots.keys()];
    if (users.length > 0) this.events.onLaneExit(users, error);
  }

  protected override onForget(entry: Entry): void {
    if (entry.dedicatedTo !== undefined && this.dedicated.get(entry.dedicatedTo) === entry)
      this.dedicated.delete(entry.dedicatedTo);
  }

  /** The lane stalled on a device: it keeps that device; everyone else is fenced off and moved. */
  protected onStall(entry: Entry, stalledLockspace: string): void {
    const device = this.devices.get(stalledLockspace);
    if (device === undefined) return;
    const others = [...entry.slots.keys()].filter((name) => this.devices.get(name) !== device);
    if (entry.dedicatedTo === device && others.length === 0) return;
    if (this.shared === entry) this.shared = undefined;
    const previous = this.dedicated.get(device);
    if (previous === undefined || previous === entry || !previous.lane.isAlive) {
      entry.dedicatedTo = device;
      this.dedicated.set(device, entry);
    }
    const moved = this.fenceOff(entry, others, (lockspace) => ({ type: 'forget', lockspace }));
    if (moved.length === 0) return;
    this.logger.warn(
      { lane: entry.id, stalledDevice: device, moved },
      'renewal lane stalled on a device: moving the other lockspaces to a new lane',
    );
    this.events.onMoved(moved, device);
  }
}
