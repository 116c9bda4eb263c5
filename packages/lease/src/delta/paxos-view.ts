/**
 * The delta lease as resource (Paxos) leases need it, and nothing more: our identity, whether we
 * still hold it (our deadline), the host table, the membership bound of the ballots, an owner's
 * delta sector, and pings. `HeldDeltaLease` is one (in-process users); `DeltaLeaseView` is the
 * other: the same lease followed from elsewhere, where the renewals run in another thread or task
 * (the daemon's renewal lane; the simulator's host) and report each renewal to it. Both judge
 * hosts by the lease layer's hostState rule and expire at the same deadline (deltaDeadlineSeconds).
 */
import type { Disk } from '@leasehold/disk';
import { DiskError } from '@leasehold/disk';
import { deltaSectorOffset, verifyLeader, type Geometry, type LeaderRecord } from '@leasehold/ondisk';
import type { Clock } from '../clock.js';
import { idRenewalFailSeconds } from '../timeouts.js';
import type { DeltaErrorShape, DeltaLeaseConfig, HostStatus } from './api.js';
import { DeltaError } from './errors.js';
import { hostState } from './host-table.js';
import { withAreaBuffer } from './lockspace-io.js';
import { laterMembership, membershipOfArea, type MembershipBound } from './membership.js';

/** What the Paxos code reads of our delta lease. */
export interface PaxosDeltaView {
  readonly config: DeltaLeaseConfig;
  readonly geometry: Geometry;
  readonly generation: bigint;
  /** Local clock seconds at which the last successful renewal (or the acquire) started. */
  readonly lastRenewalSeconds: number;
  readonly released: boolean;
  readonly lost: boolean;
  /** A host's status, as the latest sample proves it (ourselves LIVE while held). */
  host(hostId: number): HostStatus | undefined;
  hosts(): HostStatus[];
  membership(): MembershipBound | undefined;
  readMembership(): Promise<MembershipBound>;
  readHostSector(hostId: number): Promise<LeaderRecord>;
  pingHost(hostId: number): void;
  takePings(): number[];
}

/** The moment our delta lease is lost without a renewal: 8 x io_timeout after the last one started. */
export function deltaDeadlineSeconds(lastRenewalSeconds: number, ioTimeoutSeconds: number): number {
  return lastRenewalSeconds + idRenewalFailSeconds(ioTimeoutSeconds);
}

export interface DeltaLeaseViewInit {
  config: DeltaLeaseConfig;
  geometry: Geometry;
  generation: bigint;
  lastRenewalSeconds: number;
  hosts: HostStatus[];
}

/**
 * A delta lease renewed elsewhere, as Paxos sees it. `renewed()` moves its deadline and host table;
 * once the deadline passes it reports itself lost, and `fence(disk)` refuses every write from then
 * on (and after `detach()`): nothing writes for a lease past its deadline.
 */
export class DeltaLeaseView implements PaxosDeltaView {
  readonly config: DeltaLeaseConfig;
  readonly geometry: Geometry;
  readonly generation: bigint;
  private renewedAtSeconds: number;
  private table = new Map<number, HostStatus>();
  private lostReason: DeltaErrorShape | undefined;
  private detached = false;
  private latestMembership: MembershipBound | undefined;

  constructor(
    init: DeltaLeaseViewInit,
    /** The lockspace's device: membership and owner-sector reads. */
    private readonly lockspaceDisk: Disk,
    private readonly clock: Clock,
    /** Pings go to whoever renews the lease (it writes them in its next renewals). */
    private readonly sendPing: (hostId: number) => void,
  ) {
    this.config = init.config;
    this.geometry = init.geometry;
    this.generation = init.generation;
    this.renewedAtSeconds = init.lastRenewalSeconds;
    this.setHosts(init.hosts);
  }

  /** The lease was renewed: new deadline, new host sample. */
  renewed(lastRenewalSeconds: number, hosts: HostStatus[]): void {
    this.renewedAtSeconds = Math.max(this.renewedAtSeconds, lastRenewalSeconds);
    this.setHosts(hosts);
  }

  /** No more operations for this lease here (it was released, moved, or the user is gone). */
  detach(): void {
    this.detached = true;
  }

  get expiresAtSeconds(): number {
    return deltaDeadlineSeconds(this.renewedAtSeconds, this.config.ioTimeoutSeconds);
  }

  get lastRenewalSeconds(): number {
    return this.renewedAtSeconds;
  }

  get lost(): boolean {
    if (this.lostReason === undefined && this.clock.nowSeconds() >= this.expiresAtSeconds) {
      this.lostReason = new DeltaError(
        'LEASE_LOST',
        `the delta lease of ${this.config.spaceName} passed its renewal deadline`,
      );
    }
    return this.lostReason !== undefined;
  }

  get released(): boolean {
    return this.detached || this.lost;
  }

  get lostError(): DeltaErrorShape | undefined {
    return this.lost ? this.lostReason : undefined;
  }

  /** Whoever renews it says it is lost (our sector changed under us, say) before the deadline. */
  markLost(error: DeltaErrorShape): void {
    this.lostReason ??= error;
  }

  hosts(): HostStatus[] {
    const out: HostStatus[] = [];
    for (const hostId of this.table.keys()) {
      const status = this.host(hostId);
      if (status !== undefined) out.push(status);
    }
    return out;
  }

  host(hostId: number): HostStatus | undefined {
    const status = this.table.get(hostId);
    if (status === undefined) return undefined;
    const state = hostState(
      status,
      this.clock.nowSeconds(),
      {
        selfHostId: this.config.hostId,
        ourIoTimeoutSeconds: this.config.ioTimeoutSeconds,
        watchdogFireTimeoutSeconds: this.config.watchdogFireTimeoutSeconds,
      },
      hostId === this.config.hostId && !this.released,
    );
    return { ...status, state };
  }

  pingHost(hostId: number): void {
    this.sendPing(hostId);
  }

  /** Pings received are reported by whoever renews the lease, not here. */
  takePings(): number[] {
    return [];
  }

  membership(): MembershipBound | undefined {
    return this.latestMembership;
  }

  /**
   * One whole-area read now. Its own reads, not the renewer's samples: those are up to
   * 2 x io_timeout old, too old to bound a ballot (paxos/ballot-range.ts).
   */
  async readMembership(): Promise<MembershipBound> {
    const issuedAtSeconds = this.clock.nowSeconds();
    const disk = this.lockspaceDisk;
    const offsetBytes = this.config.areaOffsetBytes;
    const bound = await withAreaBuffer(
      disk,
      this.geometry,
      async (into) => {
        if (into === undefined || disk.readInto === undefined) return disk.read(offsetBytes, this.geometry.alignBytes);
        await disk.readInto(offsetBytes, into);
        return into;
      },
      (area) => membershipOfArea(area, this.geometry, issuedAtSeconds),
    );
    this.latestMembership = laterMembership(this.latestMembership, bound);
    return bound;
  }

  async readHostSector(hostId: number): Promise<LeaderRecord> {
    const offsetBytes = deltaSectorOffset(this.config.areaOffsetBytes, hostId, this.geometry);
    const bytes = await this.lockspaceDisk.read(offsetBytes, this.geometry.sectorSize);
    return verifyLeader(bytes, 0, { kind: 'delta', spaceName: this.config.spaceName, offsetBytes });
  }

  /** The write fence: `disk` with every write refused once this view is lost or detached. */
  fence(disk: Disk): Disk {
    return {
      get path() {
        return disk.path;
      },
      get sectorSize() {
        return disk.sectorSize;
      },
      get sizeBytes() {
        return disk.sizeBytes;
      },
      read: (offsetBytes, lengthBytes) => disk.read(offsetBytes, lengthBytes),
      write: (offsetBytes, data) => {
        if (this.released) {
          return Promise.reject(
            new DiskError(
              'ECLOSED',
              `write refused: the delta lease of ${this.config.spaceName} is no longer held`,
              disk.path,
              offsetBytes,
              data.byteLength,
            ),
          );
        }
        return disk.write(offsetBytes, data);
      },
      close: () => Promise.resolve(),
    };
  }

  private setHosts(hosts: HostStatus[]): void {
    this.table = new Map(hosts.map((status) => [status.hostId, status]));
  }
}
