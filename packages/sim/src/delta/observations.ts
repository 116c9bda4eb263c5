import { decodeLeader } from '@leasehold/ondisk';
import type { HostState } from '@leasehold/lease';
import { OwnershipTracker } from '../checkers/ownership.js';
import type { DeliveredRead, LandedWrite } from '../shared-disk.js';
import { formatSeconds } from '../trace.js';
import type { LifecycleEntry, SimWorld } from '../world.js';
import type { SimLockspace } from './lockspace.js';

/** One write that landed in a host slot, decoded. */
export interface SlotWrite {
  slot: number;
  writer: string;
  opId: number;
  issuedAtSeconds: number;
  landedAtSeconds: number;
  /** Landing order on the disk, comparable with AreaRead.effectSequence. */
  effectSequence: number;
  generation: bigint;
  hostName: string;
  /** The writer's clock in whole seconds; 0 = a release. */
  timestamp: bigint;
  ioTimeoutSeconds: number;
}

/** A whole-area read (a renewal's sample) that reached its host. */
export interface AreaRead {
  /** Order among everything observed (reads and reports at the same virtual moment included). */
  sequence: number;
  reader: string;
  sampledAtSeconds: number;
  /** Sample order on the disk, comparable with SlotWrite.effectSequence. */
  effectSequence: number;
  deliveredAtSeconds: number;
}

/** What one observer said about one slot, and when (global time). */
export interface HostReport {
  /** Order among everything observed (reads and reports at the same virtual moment included). */
  sequence: number;
  observer: string;
  atSeconds: number;
  slot: number;
  state: HostState;
  generation: bigint;
  hostName: string;
  timestamp: bigint;
  /** "change": the renewal loop's onHostChange; "poll": a hosts() call between renewals. */
  source: 'change' | 'poll';
  /** The observer's own lease was within its deadline (8N after its last renewal) when it reported. */
  observerLeaseValid: boolean;
}

/** One incarnation that runs the delta lease, as configured. */
export interface DeltaMember {
  label: string;
  machine: string;
  hostId: number;
  hostName: string;
  ioTimeoutSeconds: number;
  watchdogFireTimeoutSeconds: number;
}

export const hostIdResource = (hostId: number): string => `host_id ${hostId}`;

/**
 * The global history of one delta-lease run: what every incarnation did and reported, what landed
 * in each slot, which renewal samples each host got. Programs report into it; the shared disk and
 * the world feed it too. The oracle reads it after the run.
 */
export class DeltaObservations {
  readonly ownership = new OwnershipTracker();
  readonly members = new Map<string, DeltaMember>();
  readonly writesBySlot = new Map<number, SlotWrite[]>();
  readonly areaReadsByReader = new Map<string, AreaRead[]>();
  readonly reports: HostReport[] = [];
  /** Every loss a holder reported (the renewal loop's onLost), in order. */
  readonly losses: { label: string; atSeconds: number; code: string }[] = [];
  /** Things a correct program never does (unexpected exceptions, bad codes). */
  readonly problems: string[] = [];
  /** Releases asked for from outside, by incarnation label. */
  private readonly releaseHandles = new Map<string, () => void>();
  private readonly lastSlotWriteBy = new Map<string, SlotWrite>();
  private sequence = 0;

  constructor(
    readonly world: SimWorld,
    readonly lockspace: SimLockspace,
  ) {
    lockspace.disk.onWrite((write) => this.landed(write));
    lockspace.disk.onRead((read) => this.delivered(read));
    world.onLifecycle((entry) => this.lifecycle(entry));
  }

  get nowSeconds(): number {
    return this.world.nowSeconds;
  }

  join(member: DeltaMember): void {
    this.members.set(member.label, member);
  }

  /** The last write of `writer` that landed in its slot (the one a renewal just made). */
  lastWriteBy(writer: string): SlotWrite | undefined {
    return this.lastSlotWriteBy.get(writer);
  }

  setReleaseHandle(label: string, release: (() => void) | undefined): void {
    if (release === undefined) this.releaseHandles.delete(label);
    else this.releaseHandles.set(label, release);
  }

  /** Asks the incarnation to release its lease (call through the host's gate). */
  requestRelease(label: string): void {
    this.releaseHandles.get(label)?.();
  }

  report(entry: Omit<HostReport, 'atSeconds' | 'observerLeaseValid' | 'sequence'>): void {
    const member = this.members.get(entry.observer);
    const observerLeaseValid =
      member !== undefined && this.ownership.owns(hostIdResource(member.hostId), entry.observer, this.world.nowSeconds);
    this.reports.push({ ...entry, sequence: this.sequence++, atSeconds: this.world.nowSeconds, observerLeaseValid });
  }

  lost(label: string, code: string): void {
    this.losses.push({ label, atSeconds: this.world.nowSeconds, code });
  }

  problem(label: string, text: string): void {
    this.problems.push(`${formatSeconds(this.world.nowSeconds)} ${label}: ${text}`);
    this.world.trace.note(label, this.world.nowSeconds, `!! ${text}`);
  }

  finish(): void {
    this.ownership.finish(this.world.nowSeconds);
  }

  private landed(write: LandedWrite): void {
    const { sectorSize } = this.lockspace.geometry;
    for (let offset = 0; offset < write.data.byteLength; offset += sectorSize) {
      const slot = this.lockspace.slotAt(write.offsetBytes + offset);
      if (slot === undefined) continue;
      const leader = decodeLeader(write.data, offset);
      const slotWrite: SlotWrite = {
        slot,
        writer: write.writer,
        opId: write.opId,
        issuedAtSeconds: write.issuedAtSeconds,
        landedAtSeconds: write.landedAtSeconds,
        effectSequence: write.effectSequence,
        generation: leader.ownerGeneration,
        hostName: leader.resourceName,
        timestamp: leader.timestamp,
        ioTimeoutSeconds: leader.ioTimeoutSeconds,
      };
      const list = this.writesBySlot.get(slot) ?? [];
      list.push(slotWrite);
      this.writesBySlot.set(slot, list);
      this.lastSlotWriteBy.set(write.writer, slotWrite);
    }
  }

  private delivered(read: DeliveredRead): void {
    if (!this.lockspace.isWholeAreaRead(read.offsetBytes, read.lengthBytes)) return;
    const list = this.areaReadsByReader.get(read.reader) ?? [];
    list.push({
      sequence: this.sequence++,
      reader: read.reader,
      sampledAtSeconds: read.sampledAtSeconds,
      effectSequence: read.effectSequence,
      deliveredAtSeconds: read.deliveredAtSeconds,
    });
    this.areaReadsByReader.set(read.reader, list);
  }

  private lifecycle(entry: LifecycleEntry): void {
    // A crashed (or reset) host stops owning anything at that instant.
    if (entry.kind === 'crash' || entry.kind === 'exit' || entry.kind === 'error') {
      this.ownership.endAll(entry.label, entry.timeSeconds, entry.kind);
      this.releaseHandles.delete(entry.label);
    }
  }
}
