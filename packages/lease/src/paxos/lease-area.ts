/**
 * The disk I/O of one resource lease area (§2.3): sector 0 leader, sector 1 request record, sector
 * N+1 host_id N's dblock + mode block. All offsets are in the lease's own sector size (taken from its
 * leader, §7.10), which may be larger than the device's logical sector size. Every write is one whole
 * sector (§7.1: single-sector writes are atomic; the algorithm relies on it).
 */
import type { Disk } from '@leasehold/disk';
import {
  checkAreaOffset,
  defaultGeometry,
  geometryFromLeader,
  verifyLeader,
  type Geometry,
  type LeaderRecord,
} from '@leasehold/ondisk';
import { PaxosError, toPaxosError, type PaxosErrorDetails } from './errors.js';
import { describeLocation, type ResourceLocation } from './types.js';

/** Sector index of the leader and of the request record inside a lease area. */
export const LEADER_SECTOR_INDEX = 0;
export const REQUEST_SECTOR_INDEX = 1;
/** Sectors before host_id 1's dblock (leader + request): host_id N is at sector N + 1. */
const SECTORS_BEFORE_DBLOCKS = 1;

export function hostSectorIndex(hostId: number): number {
  return hostId + SECTORS_BEFORE_DBLOCKS;
}

/** The dblock index q used by §5.1 ("for q < num_hosts") belongs to host_id q + 1. */
export function hostIdOfDblockIndex(q: number): number {
  return q + 1;
}

export class LeaseArea {
  private assumed: Geometry;

  constructor(
    readonly disk: Disk,
    readonly location: ResourceLocation,
    /** A geometry known from an earlier look at this lease; otherwise the device's default (§2.1). */
    geometry?: Geometry,
  ) {
    this.assumed = geometry ?? defaultGeometry(Math.max(disk.sectorSize, 512));
  }

  /** The geometry currently assumed (corrected from the leader by adoptGeometry). */
  get geometry(): Geometry {
    return this.assumed;
  }

  get sectorSize(): number {
    return this.assumed.sectorSize;
  }

  get name(): string {
    return describeLocation(this.location);
  }

  /** Facts every error about this lease carries. */
  details(extra: PaxosErrorDetails = {}): PaxosErrorDetails {
    return {
      spaceName: this.location.spaceName,
      resourceName: this.location.resourceName,
      offsetBytes: this.location.offsetBytes,
      ...extra,
    };
  }

  sectorOffsetBytes(sectorIndex: number): number {
    return this.location.offsetBytes + sectorIndex * this.assumed.sectorSize;
  }

  /** Reads `count` sectors from `firstSector`. I/O failures become IO_ERROR. */
  async read(firstSector: number, count: number, what: string): Promise<Uint8Array> {
    const offsetBytes = this.sectorOffsetBytes(firstSector);
    try {
      return await this.disk.read(offsetBytes, count * this.assumed.sectorSize);
    } catch (error) {
      throw toPaxosError(error, `reading ${what} of ${this.name} on ${this.disk.path}`, this.details());
    }
  }

  /** Writes one whole sector. I/O failures become IO_ERROR (the write may or may not have landed). */
  async writeSector(sectorIndex: number, sector: Uint8Array, what: string): Promise<void> {
    if (sector.byteLength !== this.assumed.sectorSize) {
      throw new PaxosError(
        'INVALID_ARGUMENT',
        `internal: ${what} is ${sector.byteLength} bytes, not one ${this.assumed.sectorSize}-byte sector`,
      );
    }
    try {
      await this.disk.write(this.sectorOffsetBytes(sectorIndex), sector);
    } catch (error) {
      throw toPaxosError(error, `writing ${what} of ${this.name} on ${this.disk.path}`, this.details());
    }
  }

  /**
   * §5.1 step 1 / §7.9: verifies the paxos leader at the start of `bytes` like sanlock's verify_leader
   * (CLEAR → LEADER_CLEARED quietly, magic, major version, space and resource names, num_hosts >= our
   * host_id when given, checksum), then that its num_hosts/max_hosts are usable for ballots.
   */
  verifyLeader(bytes: Uint8Array, hostId: number | undefined): LeaderRecord {
    const where = `${this.name} on ${this.disk.path}`;
    let leader: LeaderRecord;
    try {
      leader = verifyLeader(bytes, 0, {
        kind: 'paxos',
        offsetBytes: this.location.offsetBytes,
        spaceName: this.location.spaceName,
        resourceName: this.location.resourceName,
        ...(hostId === undefined ? {} : { hostId }),
      });
    } catch (error) {
      throw toPaxosError(error, `leader of ${where}`, this.details());
    }
    if (leader.maxHosts === 0n) {
      // max_hosts is the ballot-number modulus (§7.3): 0 cannot be right.
      throw new PaxosError('CORRUPT', `leader of ${where} has max_hosts 0`, this.details({ lver: leader.lver }));
    }
    return leader;
  }

  /**
   * §5.1 step 1: "if the leader's ss/align differ from what was assumed, restart with the leader's
   * values". Returns true when the assumption changed (the caller re-reads); throws when the lease
   * cannot be used on this device.
   */
  adoptGeometry(leader: LeaderRecord): boolean {
    let geometry: Geometry;
    try {
      geometry = geometryFromLeader(leader.sectorSize, leader.flags);
      checkAreaOffset(this.location.offsetBytes, geometry);
    } catch (error) {
      throw toPaxosError(error, `geometry of ${this.name}`, this.details());
    }
    if (geometry.sectorSize % this.disk.sectorSize !== 0) {
      throw new PaxosError(
        'INVALID_ARGUMENT',
        `${this.name} uses ${geometry.sectorSize}-byte sectors but ${this.disk.path} has ${this.disk.sectorSize}-byte logical sectors`,
        this.details(),
      );
    }
    // ballots read roundup_pow2(num_hosts + 2) sectors (§2.3): they must stay inside the area.
    if (leader.numHosts > BigInt(geometry.maxHosts)) {
      throw new PaxosError(
        'CORRUPT',
        `leader of ${this.name} has num_hosts ${leader.numHosts}, more than the ${geometry.maxHosts} a ${geometry.sectorSize}/${geometry.alignBytes} area holds`,
        this.details({ lver: leader.lver }),
      );
    }
    const changed = geometry.sectorSize !== this.assumed.sectorSize || geometry.alignBytes !== this.assumed.alignBytes;
    this.assumed = geometry;
    return changed;
  }

  /** Reads and verifies the leader alone (1 sector): the re-reads of §5.1 steps 3-4 and §5.2. */
  async readLeader(hostId: number | undefined, what = 'leader'): Promise<LeaderRecord> {
    const bytes = await this.read(LEADER_SECTOR_INDEX, 1, what);
    const leader = this.verifyLeader(bytes, hostId);
    // The leader is at offset 0 whatever the sector size, so a corrected geometry needs no re-read.
    this.adoptGeometry(leader);
    return leader;
  }
}
