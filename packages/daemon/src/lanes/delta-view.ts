/**
 * The DeltaLease the paxos code sees inside a resource lane. The real delta lease lives in the
 * renewal lane; this view carries what resource operations need from it:
 * - identity (config, geometry, generation) and whether it is still held;
 * - the host table, as the renewal lane last sampled it (pushed after every renewal), each host's
 *   state judged by the lease layer's own rule (hostState: from the silence the latest sample
 *   proves, never from the time of the question), so a resource lane judges exactly as the renewal
 *   lane would;
 * - the owner's delta sector, read directly from the lockspace's device (1 sector);
 * - the membership bound of the ballots (paxos/ballot-range.ts), from its own whole-area reads on
 *   this lane: the renewal lane's samples are up to 2 x io_timeout old, too old to bound a ballot;
 * - pings, forwarded to the renewal lane, which writes them in its next renewals.
 * Once the deadline (8 x io_timeout after the last renewal the renewal lane reported) has passed,
 * the view reports itself lost, and guardDisk() refuses every write: nothing uses a lease past it.
 */
import type { Disk } from '@leasehold/disk';
import { DiskError } from '@leasehold/disk';
import { deltaSectorOffset, verifyLeader, type Geometry, type LeaderRecord } from '@leasehold/ondisk';
import {
  DeltaError,
  hostState,
  idRenewalFailSeconds,
  laterMembership,
  membershipOfArea,
  type Clock,
  type DeltaErrorShape,
  type DeltaEvent,
  type DeltaLease,
  type DeltaLeaseConfig,
  type HostStatus,
  type MembershipBound,
} from '@leasehold/lease';

export class DeltaView implements DeltaLease {
  readonly config: DeltaLeaseConfig;
  readonly geometry: Geometry;
  readonly generation: bigint;
  private renewedAtSeconds: number;
  private table = new Map<number, HostStatus>();
  private lostReason: DeltaErrorShape | undefined;
  private detached = false;
  private latestMembership: MembershipBound | undefined;

  constructor(
    init: { config: DeltaLeaseConfig; geometry: Geometry; generation: bigint; lastRenewalSeconds: number; hosts: HostStatus[] },
    private readonly lockspaceDisk: Disk,
    private readonly clock: Clock,
    private readonly sendPing: (hostId: number) => void,
  ) {
    this.config = init.config;
    this.geometry = init.geometry;
    this.generation = init.generation;
    this.renewedAtSeconds = init.lastRenewalSeconds;
    this.setHosts(init.hosts);
  }

  /** The renewal lane renewed: new deadline, new host sample. */
  renewed(lastRenewalSeconds: number, hosts: HostStatus[]): void {
    this.renewedAtSeconds = Math.max(this.renewedAtSeconds, lastRenewalSeconds);
    this.setHosts(hosts);
  }

  detach(): void {
    this.detached = true;
  }

  get expiresAtSeconds(): number {
    return this.renewedAtSeconds + idRenewalFailSeconds(this.config.ioTimeoutSeconds);
  }

  get lastRenewalSeconds(): number {
    return this.renewedAtSeconds;
  }

  get lost(): boolean {
    if (this.lostReason === undefined && this.clock.nowSeconds() >= this.expiresAtSeconds) {
      this.lostReason = new DeltaError('LEASE_LOST', `the delta lease of ${this.config.spaceName} passed its renewal deadline`);
    }
    return this.lostReason !== undefined;
  }

  get released(): boolean {
    return this.detached || this.lost;
  }

  get lostError(): DeltaErrorShape | undefined {
    return this.lost ? this.lostReason : undefined;
  }

  markLost(error: DeltaErrorShape): void {
    this.lostReason ??= error;
  }

  renew(): Promise<void> {
    return Promise.reject(new DeltaError('INVALID_ARGUMENT', 'the renewal lane renews this lease'));
  }

  release(): Promise<void> {
    return Promise.reject(new DeltaError('INVALID_ARGUMENT', 'the renewal lane releases this lease'));
  }

  hosts(): HostStatus[] {
    return [...this.table.keys()].map((hostId) => this.host(hostId)!);
  }

  host(hostId: number): HostStatus | undefined {
    const status = this.table.get(hostId);
    if (status === undefined) return undefined;
    const state = hostState(
      status,
      this.clock.nowSeconds(),
      { selfHostId: this.config.hostId, ourIoTimeoutSeconds: this.config.ioTimeoutSeconds, watchdogFireTimeoutSeconds: this.config.watchdogFireTimeoutSeconds },
      hostId === this.config.hostId && !this.released,
    );
    return { ...status, state };
  }

  setEvent(): void {
    throw new DeltaError('INVALID_ARGUMENT', 'events are sent by the renewal lane');
  }

  clearEvent(): void {}

  takeEvents(): DeltaEvent[] {
    return [];
  }

  pingHost(hostId: number): void {
    this.sendPing(hostId);
  }

  takePings(): number[] {
    return [];
  }

  membership(): MembershipBound | undefined {
    return this.latestMembership;
  }

  async readMembership(): Promise<MembershipBound> {
    const issuedAtSeconds = this.clock.nowSeconds();
    const area = await this.lockspaceDisk.read(this.config.areaOffsetBytes, this.geometry.alignBytes);
    const bound = membershipOfArea(area, this.geometry, issuedAtSeconds);
    this.latestMembership = laterMembership(this.latestMembership, bound);
    return bound;
  }

  async readHostSector(hostId: number): Promise<LeaderRecord> {
    const offsetBytes = deltaSectorOffset(this.config.areaOffsetBytes, hostId, this.geometry);
    const bytes = await this.lockspaceDisk.read(offsetBytes, this.geometry.sectorSize);
    return verifyLeader(bytes, 0, { kind: 'delta', spaceName: this.config.spaceName, offsetBytes });
  }

  /** `disk` with every write refused once this view is lost or detached. */
  guardDisk(disk: Disk): Disk {
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
            new DiskError('ECLOSED', `write refused: the delta lease of ${this.config.spaceName} is no longer held`, disk.path, offsetBytes, data.byteLength),
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
