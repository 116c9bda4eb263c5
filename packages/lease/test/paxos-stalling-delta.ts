/**
 * A FakeDelta whose 1-sector reads of other hosts' delta leases (the owner-liveness reads of §5.1
 * step 3) can stall, as a read does on hung I/O or while its host is paused: the data is taken from
 * the "disk" either when the read is issued or when it completes, and handed back `seconds` later.
 * Anything else is FakeDelta's.
 */
import type { LeaderRecord } from '@leasehold/ondisk';
import type { Clock } from '@leasehold/lease';
import { FakeDelta, type FakeDeltaOptions, type FakeLockspace } from './paxos-fakes.js';

/** When a stalled read takes its data from the disk. */
export type SampleMoment = 'issue' | 'completion';

export interface ReadStall {
  seconds: number;
  sampleAt: SampleMoment;
  /** Called when the stalled read is issued (e.g. to stop our renewals: our I/O hangs as a whole). */
  onIssue?: () => void;
}

export class StallingDelta extends FakeDelta {
  /** Stalls by read number (1 = the first readHostSector call), consumed when used. */
  private readonly stalls = new Map<number, ReadStall>();
  private readCount = 0;

  constructor(
    lockspace: FakeLockspace,
    private readonly stallClock: Clock,
    hostId: number,
    options: FakeDeltaOptions = {},
  ) {
    super(lockspace, stallClock, hostId, options);
  }

  /** Makes the `readNumber`-th readHostSector call (from now on, counting from 1) stall. */
  stallRead(readNumber: number, stall: ReadStall): void {
    this.stalls.set(this.readCount + readNumber, stall);
  }

  override async readHostSector(hostId: number): Promise<LeaderRecord> {
    this.readCount++;
    const stall = this.stalls.get(this.readCount);
    if (stall === undefined) return super.readHostSector(hostId);
    this.stalls.delete(this.readCount);
    stall.onIssue?.();
    if (stall.sampleAt === 'issue') {
      const sampled = await super.readHostSector(hostId);
      await this.stallClock.sleep(stall.seconds);
      return sampled;
    }
    await this.stallClock.sleep(stall.seconds);
    return super.readHostSector(hostId);
  }
}

/** Renews `hostId`'s delta lease on the fake disk every `intervalSeconds` until `untilSeconds` (its clock). */
export function keepRenewing(
  clock: Clock,
  lockspace: FakeLockspace,
  hostId: number,
  intervalSeconds: number,
  untilSeconds: number,
): void {
  const next = (): void => {
    if (clock.nowSeconds() + intervalSeconds > untilSeconds) return;
    void clock.sleep(intervalSeconds).then(() => {
      lockspace.renew(hostId);
      next();
    });
  };
  next();
}
