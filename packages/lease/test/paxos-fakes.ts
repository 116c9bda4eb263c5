/**
 * Test support for the paxos tests: a resource lease area on a MemoryDisk, and a small fake
 * DeltaLease whose delta sectors live in a shared map (so the test sets what "disk" shows) and whose
 * host table is the real HostTable fed by explicit sample() calls.
 */
import { MemoryDisk } from '@leasehold/disk';
import {
  buildResourceArea,
  decodeHostSector,
  decodeLeader,
  decodeRequest,
  DELTA_LEADER_MAGIC,
  DELTA_LEADER_VERSION,
  encodeHostSector,
  encodeLeader,
  geometryFor,
  hostSectorOffset,
  LFL_ALIGN_1M,
  MIB,
  type Dblock,
  type Geometry,
  type HostSector,
  type LeaderRecord,
  type ModeBlock,
  type RequestRecord,
} from '@leasehold/ondisk';
import {
  HostTable,
  hostSampleOf,
  type Clock,
  type DeltaErrorShape,
  type DeltaEvent,
  type DeltaLease,
  type DeltaLeaseConfig,
  type HostStatus,
  type MembershipBound,
  type PaxosContext,
  type Random,
  type ResourceLocation,
} from '@leasehold/lease';
import { HookDisk } from './support/hook-disk.js';

export const SPACE = 'LS1';
export const RESOURCE = 'R1';
/** The resource area sits after a 1 MiB (unused here) lockspace area, as in the CLI examples. */
export const RESOURCE_OFFSET_BYTES = MIB;
export const GEOMETRY: Geometry = geometryFor(512, MIB);
export const LOCATION: ResourceLocation = {
  spaceName: SPACE,
  resourceName: RESOURCE,
  offsetBytes: RESOURCE_OFFSET_BYTES,
};

export interface TestArea {
  memory: MemoryDisk;
  disk: HookDisk;
  leader(): LeaderRecord;
  hostSector(hostId: number): HostSector;
  request(): RequestRecord;
  /** Plants a host sector directly (another host's state), bypassing the I/O log. */
  plantHostSector(hostId: number, dblock: Dblock, mode?: ModeBlock | null): void;
  plantLeader(leader: LeaderRecord): void;
}

/**
 * A resource lease on a memory disk. Sectors planted for a host stand for a host that has joined the
 * lockspace: with `lockspace` given, planting marks its host_id used there, as its delta acquire would.
 */
export function makeResourceArea(
  options: { numHosts?: number; clear?: boolean; lockspace?: FakeLockspace } = {},
): TestArea {
  const memory = new MemoryDisk({ sectorSize: 512, sizeBytes: 2 * MIB });
  const area = buildResourceArea({
    spaceName: SPACE,
    resourceName: RESOURCE,
    geometry: GEOMETRY,
    ...(options.numHosts === undefined ? {} : { numHosts: options.numHosts }),
    ...(options.clear ? { clearWriteTimestamp: 77n } : {}),
  });
  memory.overwrite(RESOURCE_OFFSET_BYTES, area);
  const disk = new HookDisk(memory);
  return {
    memory,
    disk,
    leader: () => decodeLeader(memory.snapshot(RESOURCE_OFFSET_BYTES, 512)),
    hostSector: (hostId) =>
      decodeHostSector(memory.snapshot(hostSectorOffset(RESOURCE_OFFSET_BYTES, hostId, GEOMETRY), 512)),
    request: () => decodeRequest(memory.snapshot(RESOURCE_OFFSET_BYTES + 512, 512)),
    plantHostSector: (hostId, dblock, mode = null) => {
      options.lockspace?.markUsed(hostId);
      memory.overwrite(hostSectorOffset(RESOURCE_OFFSET_BYTES, hostId, GEOMETRY), encodeHostSector(dblock, mode, 512));
    },
    plantLeader: (leader) => {
      const sector = new Uint8Array(512);
      encodeLeader(leader, sector, 0);
      memory.overwrite(RESOURCE_OFFSET_BYTES, sector);
    },
  };
}

/** A random source that replays a fixed list (then repeats its last value). */
export function fixedRandom(values: number[] = [0.5]): Random & { draws: number } {
  let index = 0;
  const random = {
    draws: 0,
    next(): number {
      random.draws++;
      const value = values[Math.min(index, values.length - 1)] ?? 0.5;
      index++;
      return value;
    },
  };
  return random;
}

/** A dblock with the given fields, zero elsewhere (the checksum is computed when it is planted). */
export function dblock(values: Partial<Dblock>): Dblock {
  return { mbal: 0n, bal: 0n, inp: 0n, inp2: 0n, inp3: 0n, lver: 0n, checksum: 0, flags: 0, ...values };
}

export interface FakeHostRecord {
  generation: bigint;
  /** 0 = free. */
  timestamp: bigint;
  ioTimeoutSeconds: number;
  hostName: string;
}

/** The delta sectors every fake delta lease reads ("the lockspace on disk"). */
export class FakeLockspace {
  readonly sectors = new Map<number, LeaderRecord>();
  /** Host ids acquired at some time whose sector the test does not model (membership only). */
  readonly used = new Set<number>();

  markUsed(hostId: number): void {
    this.used.add(hostId);
  }

  set(hostId: number, record: FakeHostRecord): void {
    this.sectors.set(hostId, deltaRecord(hostId, record));
  }

  /** A renewal: the timestamp changes. */
  renew(hostId: number): void {
    const current = this.sectors.get(hostId);
    if (current === undefined) throw new Error(`host ${hostId} has no delta record`);
    this.sectors.set(hostId, { ...current, timestamp: current.timestamp + 1n });
  }

  release(hostId: number): void {
    const current = this.sectors.get(hostId);
    if (current !== undefined) this.sectors.set(hostId, { ...current, timestamp: 0n });
  }

  record(hostId: number): LeaderRecord {
    return (
      this.sectors.get(hostId) ??
      deltaRecord(hostId, { generation: 0n, timestamp: 0n, ioTimeoutSeconds: 0, hostName: '' })
    );
  }
}

function deltaRecord(hostId: number, record: FakeHostRecord): LeaderRecord {
  return {
    magic: DELTA_LEADER_MAGIC,
    version: DELTA_LEADER_VERSION,
    flags: LFL_ALIGN_1M,
    sectorSize: 512,
    numHosts: 0n,
    maxHosts: 1n,
    ownerId: record.generation === 0n ? 0n : BigInt(hostId),
    ownerGeneration: record.generation,
    lver: 0n,
    spaceName: SPACE,
    resourceName: record.hostName,
    timestamp: record.timestamp,
    unused1: 0n,
    checksum: 0,
    unused2: 0,
    ioTimeoutSeconds: record.ioTimeoutSeconds,
    writeId: 0n,
    writeGeneration: 0n,
    writeTimestamp: 0n,
  };
}

export interface FakeDeltaOptions {
  ioTimeoutSeconds?: number;
  watchdogFireTimeoutSeconds?: number;
  generation?: bigint;
  hostName?: string;
}

/** The DeltaLease contract, driven by the test: sample() is one renewal's observation of the lockspace. */
export class FakeDelta implements DeltaLease {
  readonly config: DeltaLeaseConfig;
  readonly geometry: Geometry = geometryFor(512, MIB);
  readonly generation: bigint;
  released = false;
  lost = false;
  lostError: DeltaErrorShape | undefined = undefined;
  /** Set by stopRenewing(): the lease ages from then on (8N later it is past its deadline). */
  private frozenRenewalSeconds: number | undefined;
  /** Hosts we pinged (requests). */
  readonly pinged: number[] = [];
  /** Hosts that pinged us, until takePings(). */
  readonly incomingPings: number[] = [];
  readonly hostSectorReads: number[] = [];
  private readonly table: HostTable;

  constructor(
    readonly lockspace: FakeLockspace,
    private readonly clock: Clock,
    hostId: number,
    options: FakeDeltaOptions = {},
  ) {
    this.generation = options.generation ?? 1n;
    this.config = {
      spaceName: SPACE,
      hostId,
      areaOffsetBytes: 0,
      hostName: options.hostName ?? `host-${hostId}`,
      ioTimeoutSeconds: options.ioTimeoutSeconds ?? 10,
      watchdogFireTimeoutSeconds: options.watchdogFireTimeoutSeconds ?? 60,
    };
    this.table = new HostTable({
      selfHostId: hostId,
      ourIoTimeoutSeconds: this.config.ioTimeoutSeconds,
      watchdogFireTimeoutSeconds: this.config.watchdogFireTimeoutSeconds,
    });
    lockspace.set(hostId, {
      generation: this.generation,
      timestamp: 100n,
      ioTimeoutSeconds: this.config.ioTimeoutSeconds,
      hostName: this.config.hostName,
    });
  }

  /** One observation of every delta sector, as a renewal's area read would make. */
  sample(): void {
    const now = this.clock.nowSeconds();
    for (const [hostId, record] of this.lockspace.sectors) this.table.observe(hostId, hostSampleOf(record), now);
  }

  /** Renews "all the time" unless stopRenewing() was called. */
  get lastRenewalSeconds(): number {
    return this.frozenRenewalSeconds ?? this.clock.nowSeconds();
  }

  stopRenewing(): void {
    this.frozenRenewalSeconds = this.clock.nowSeconds();
  }

  async renew(): Promise<void> {
    this.lockspace.renew(this.config.hostId);
    this.frozenRenewalSeconds = undefined;
    this.sample();
  }

  async release(): Promise<void> {
    this.released = true;
    this.lockspace.release(this.config.hostId);
  }

  markLost(error: DeltaErrorShape): void {
    this.lost = true;
    this.released = true;
    this.lostError = error;
  }

  hosts(): HostStatus[] {
    return this.table.statuses(this.clock.nowSeconds());
  }

  host(hostId: number): HostStatus | undefined {
    return this.table.status(hostId, this.clock.nowSeconds());
  }

  setEvent(): void {}

  clearEvent(): void {}

  takeEvents(): DeltaEvent[] {
    return [];
  }

  pingHost(hostId: number): void {
    this.pinged.push(hostId);
  }

  takePings(): number[] {
    return this.incomingPings.splice(0);
  }

  /** Membership reads made (ballots over large ranges read the lockspace to bound their reads). */
  membershipReads = 0;
  private latestMembership: MembershipBound | undefined;

  membership(): MembershipBound | undefined {
    return this.latestMembership;
  }

  async readMembership(): Promise<MembershipBound> {
    this.membershipReads++;
    let highestUsedHostId = Math.max(0, ...this.lockspace.used);
    for (const [hostId, record] of this.lockspace.sectors) {
      if (record.ownerId !== 0n || record.ownerGeneration !== 0n || record.timestamp !== 0n)
        highestUsedHostId = Math.max(highestUsedHostId, hostId);
    }
    this.latestMembership = { highestUsedHostId, readIssuedAtSeconds: this.clock.nowSeconds() };
    return this.latestMembership;
  }

  async readHostSector(hostId: number): Promise<LeaderRecord> {
    this.hostSectorReads.push(hostId);
    return this.lockspace.record(hostId);
  }
}

export function contextFor(
  area: TestArea,
  clock: Clock,
  delta: DeltaLease,
  random: Random = fixedRandom(),
): PaxosContext {
  return { disk: area.disk, clock, random, delta };
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejectionOf(work: Promise<unknown>): Promise<Error & { code?: string; sanlockErrno?: number }> {
  const outcome = await work.then(
    (value: unknown) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected a rejection, got ${String(outcome.value)}`);
  return outcome.error as Error & { code?: string; sanlockErrno?: number };
}
