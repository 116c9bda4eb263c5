/**
 * A held delta lease (§4): renewal, release, the host table, events and pings.
 * Created by acquireDeltaLease(); the renewal loop (renewal-loop.ts) drives renew().
 */
import type { Disk } from '@leasehold/disk';
import { leadersIdentical, namesEqual, type Geometry, type LeaderRecord } from '@leasehold/ondisk';
import { diskTimestamp, type Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { idRenewalFailSeconds, setBitmapSeconds } from '../timeouts.js';
import type { DeltaErrorShape, DeltaEvent, DeltaLease, DeltaLeaseConfig, HostStatus, SetEventOptions } from './api.js';
import { acquireTooLateError, DeltaError, leaseExpiredError } from './errors.js';
import { EventInbox } from './event-inbox.js';
import { EventOutbox } from './event-outbox.js';
import { firstRenewalDeadlines } from './first-renewal.js';
import { HostTable, hostSampleOf } from './host-table.js';
import {
  prepareDeltaSector,
  readDeltaSector,
  useLockspaceArea,
  verifyDeltaSectorInArea,
  writeDeltaSector,
  type PreparedSector,
} from './lockspace-io.js';
import { laterMembership, membershipOfArea, type MembershipBound } from './membership.js';
import { PingBitmap } from './ping-bitmap.js';
import { sampleLockspaceArea } from './sample-area.js';

/** The largest value a u64 on disk holds (event values and data are u64). */
const MAX_U64 = (1n << 64n) - 1n;

export interface HeldDeltaLeaseInit {
  disk: Disk;
  clock: Clock;
  config: DeltaLeaseConfig;
  geometry: Geometry;
  logger: Logger;
  /** The record the acquire wrote (and re-read unchanged). */
  written: LeaderRecord;
  /** Our clock when the acquire's write started (the first renewal's deadlines count from it). */
  acquiredAtSeconds: number;
}

export class HeldDeltaLease implements DeltaLease {
  readonly config: DeltaLeaseConfig;
  readonly geometry: Geometry;
  readonly generation: bigint;

  private readonly disk: Disk;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly table: HostTable;
  private readonly outbox = new EventOutbox();
  private readonly inbox = new EventInbox();
  private readonly pings = new PingBitmap();
  private readonly pingsFrom = new Set<number>();

  /** The last record known to be on disk in our sector. */
  private lastWritten: LeaderRecord;
  /** A record whose write failed: it may or may not have reached the disk. */
  private uncertainWrite: LeaderRecord | undefined;
  private lastRenewalStartSeconds: number;
  private latestMembership: MembershipBound | undefined;
  private readonly acquiredAtSeconds: number;
  private releasedFlag = false;
  private lostReason: DeltaErrorShape | undefined;
  /** Serializes renew() and release(): one I/O sequence on our sector at a time. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(init: HeldDeltaLeaseInit) {
    this.disk = init.disk;
    this.clock = init.clock;
    this.config = init.config;
    this.geometry = init.geometry;
    this.logger = init.logger;
    this.lastWritten = init.written;
    this.generation = init.written.ownerGeneration;
    this.lastRenewalStartSeconds = init.acquiredAtSeconds;
    this.acquiredAtSeconds = init.acquiredAtSeconds;
    this.table = new HostTable({
      selfHostId: init.config.hostId,
      ourIoTimeoutSeconds: init.config.ioTimeoutSeconds,
      watchdogFireTimeoutSeconds: init.config.watchdogFireTimeoutSeconds,
    });
    this.table.observe(init.config.hostId, hostSampleOf(init.written), this.clock.nowSeconds());
  }

  get lastRenewalSeconds(): number {
    return this.lastRenewalStartSeconds;
  }

  get released(): boolean {
    return this.releasedFlag;
  }

  get lost(): boolean {
    return this.lostReason !== undefined;
  }

  get lostError(): DeltaErrorShape | undefined {
    return this.lostReason;
  }

  /** The record last written to our sector (for diagnostics and tests). */
  get record(): LeaderRecord {
    return this.lastWritten;
  }

  /** §3: the local deadline; without a successful renewal by then the lease is lost (8N). */
  get expiresAtSeconds(): number {
    return this.lastRenewalStartSeconds + idRenewalFailSeconds(this.config.ioTimeoutSeconds);
  }

  markLost(error: DeltaErrorShape): void {
    if (this.lostReason !== undefined) return;
    this.lostReason = error;
    this.releasedFlag = true;
    this.table.setSelfHostId(0);
    this.logger.error(
      { spaceName: this.config.spaceName, hostId: this.config.hostId, generation: this.generation, code: error.code },
      `delta lease lost: ${error.message}`,
    );
  }

  renew(): Promise<void> {
    return this.exclusive(() => this.renewNow(false));
  }

  /**
   * The first renewal, right after the acquire when the acquire's 2N' wait (or a delay) already used
   * up the renewal interval (N' on disk larger than ours: sanlock renews at once then too). Instead
   * of the 8N rule it has the acquire's deadlines (first-renewal.ts): its write is issued before
   * acquire write + 8N + W - min(N, W), and it completes by acquire write + 8N + W; otherwise
   * observers may already have called us DEAD, so it fails with LEASE_LOST and the lease is lost.
   */
  renewAfterAcquire(): Promise<void> {
    return this.exclusive(() => this.renewNow(true));
  }

  release(): Promise<void> {
    return this.exclusive(() => this.releaseNow());
  }

  hosts(): HostStatus[] {
    return this.table.statuses(this.clock.nowSeconds());
  }

  host(hostId: number): HostStatus | undefined {
    return this.table.status(hostId, this.clock.nowSeconds());
  }

  setEvent(targetHostId: number, event: bigint, data: bigint, options: SetEventOptions = {}): void {
    this.assertHeld('set an event');
    this.checkTarget(targetHostId);
    const targetGeneration = options.generation ?? 0n;
    for (const [what, value] of [
      ['event', event],
      ['data', data],
      ['generation', targetGeneration],
    ] as const) {
      if (value < 0n || value > MAX_U64)
        throw new DeltaError('INVALID_ARGUMENT', `${what} must fit in 64 unsigned bits, got ${value}`);
    }
    // §6: write_generation 0 means "no event" to receivers, so 0 cannot be sent.
    if (event === 0n)
      throw new DeltaError('INVALID_ARGUMENT', 'event 0 means "no event"; use clearEvent() to stop sending');
    const nowSeconds = this.clock.nowSeconds();
    this.outbox.set({ targetGeneration, event, data }, nowSeconds, this.setBitmapSeconds, options.replace ?? false);
    this.pings.ping(targetHostId, nowSeconds);
  }

  clearEvent(): void {
    this.outbox.clear();
  }

  takeEvents(): DeltaEvent[] {
    return this.inbox.take();
  }

  pingHost(hostId: number): void {
    this.assertHeld('ping a host');
    this.checkTarget(hostId);
    this.pings.ping(hostId, this.clock.nowSeconds());
  }

  takePings(): number[] {
    const senders = [...this.pingsFrom].sort((a, b) => a - b);
    this.pingsFrom.clear();
    return senders;
  }

  membership(): MembershipBound | undefined {
    return this.latestMembership;
  }

  async readMembership(): Promise<MembershipBound> {
    this.assertHeld('read the lockspace membership');
    const issuedAtSeconds = this.clock.nowSeconds();
    return useLockspaceArea(this.disk, this.geometry, this.config, (area) =>
      this.noteMembership(membershipOfArea(area, this.geometry, issuedAtSeconds)),
    );
  }

  private noteMembership(bound: MembershipBound): MembershipBound {
    this.latestMembership = laterMembership(this.latestMembership, bound);
    return bound;
  }

  async readHostSector(hostId: number): Promise<LeaderRecord> {
    this.checkHostIdRange(hostId);
    return (await readDeltaSector(this.disk, this.geometry, this.config, hostId)).leader;
  }

  /** Host ids whose bit our next renewal writes (set within set_bitmap_seconds). */
  pingedHostIds(): number[] {
    return this.pings.activeHostIds(this.clock.nowSeconds(), this.setBitmapSeconds);
  }

  private get setBitmapSeconds(): number {
    return setBitmapSeconds(this.config.ioTimeoutSeconds);
  }

  private async renewNow(afterAcquire: boolean): Promise<void> {
    this.assertHeld('renew');
    const startSeconds = this.clock.nowSeconds();
    this.checkMayWrite(startSeconds, afterAcquire);
    // §4 renew step 1: the whole align area in one read; it also feeds liveness and events.
    // Into a buffer of the thread's pool where the disk can: a renewal every 2N leaves no
    // megabyte behind for the garbage collector, and the leases of a lane share the buffers.
    await useLockspaceArea(this.disk, this.geometry, this.config, (area) => this.sampleArea(area, startSeconds));
    const writeSeconds = this.clock.nowSeconds();
    // Also catches a markLost() from the renewal loop while the read was hanging: never write late.
    this.assertHeld('renew');
    this.checkMayWrite(writeSeconds, afterAcquire);
    // §4 renew step 3: same record, new timestamp, our io_timeout, the current event, the bitmap.
    const next = prepareDeltaSector(
      {
        ...this.lastWritten,
        timestamp: this.nextTimestamp(),
        ioTimeoutSeconds: this.config.ioTimeoutSeconds,
        ...this.outbox.fields(),
      },
      this.pings.bitmapAt(writeSeconds, this.setBitmapSeconds),
      this.geometry,
    );
    await this.writeOwn(next);
    if (afterAcquire) this.checkFirstRenewalDone(this.clock.nowSeconds());
    this.lastRenewalStartSeconds = startSeconds;
  }

  /** Renew steps after the read: liveness, events and membership from the area; our own sector checked. */
  private sampleArea(area: Uint8Array, startSeconds: number): void {
    // §3: a change seen counts from when the read completed (surely after it happened: the safe
    // side); "no change" proves silence only up to when the read was issued (startSeconds).
    sampleLockspaceArea(
      area,
      this.geometry,
      this.table,
      this.clock.nowSeconds(),
      { hostId: this.config.hostId, inbox: this.inbox, pingsFrom: this.pingsFrom },
      startSeconds,
    );
    this.noteMembership(membershipOfArea(area, this.geometry, startSeconds));
    this.verifyOwnSector(area);
  }

  /** Before each I/O of a renewal: the normal 8N rule, or the first renewal's own deadline. */
  private checkMayWrite(nowSeconds: number, afterAcquire: boolean): void {
    if (!afterAcquire) {
      this.checkNotExpired(nowSeconds);
      return;
    }
    const { writeBySeconds } = firstRenewalDeadlines(this.acquiredAtSeconds, this.config);
    if (nowSeconds < writeBySeconds) return;
    this.failFirstRenewal(
      nowSeconds,
      `its first renewal could not be written before ${(writeBySeconds - this.acquiredAtSeconds).toFixed(1)} s after it`,
    );
  }

  /** After the first renewal's write: it must have completed by acquire write + 8N + W (first-renewal.ts). */
  private checkFirstRenewalDone(nowSeconds: number): void {
    const { doneBySeconds } = firstRenewalDeadlines(this.acquiredAtSeconds, this.config);
    if (nowSeconds <= doneBySeconds) return;
    this.failFirstRenewal(
      nowSeconds,
      `its first renewal completed only after 8 x io_timeout + W = ${(doneBySeconds - this.acquiredAtSeconds).toFixed(1)} s`,
    );
  }

  private failFirstRenewal(nowSeconds: number, why: string): never {
    const error = acquireTooLateError(this.config, this.generation, nowSeconds - this.acquiredAtSeconds, why);
    this.markLost(error);
    throw error;
  }

  /**
   * §4 renew step 2 (§7.6): our sector must still be ours. Another owner, generation or name is
   * RENEW_OWNER; any other difference from what we last wrote is RENEW_DIFF. Both fail the lease at
   * once. After a failed write the disk may hold either the old or the attempted record.
   */
  private verifyOwnSector(area: Uint8Array): void {
    const onDisk = verifyDeltaSectorInArea(area, this.geometry, this.config, this.config.hostId).leader;
    const ours = this.lastWritten;
    const details = {
      spaceName: this.config.spaceName,
      hostId: this.config.hostId,
      ownerId: onDisk.ownerId,
      ownerGeneration: onDisk.ownerGeneration,
      ownerName: onDisk.resourceName,
    };
    if (
      onDisk.ownerId !== ours.ownerId ||
      onDisk.ownerGeneration !== ours.ownerGeneration ||
      !namesEqual(onDisk.resourceName, ours.resourceName)
    ) {
      const error = new DeltaError(
        'RENEW_OWNER',
        `host_id ${this.config.hostId} of lockspace ${this.config.spaceName} now names owner ${onDisk.ownerId} generation ` +
          `${onDisk.ownerGeneration} "${onDisk.resourceName}", not us (generation ${ours.ownerGeneration} "${ours.resourceName}"): ` +
          'another host took it; stop using this lockspace and check that host_ids are unique',
        details,
      );
      this.markLost(error);
      throw error;
    }
    if (leadersIdentical(onDisk, ours)) {
      this.uncertainWrite = undefined;
      return;
    }
    if (this.uncertainWrite !== undefined && leadersIdentical(onDisk, this.uncertainWrite)) {
      // The write that reported failure did land.
      this.lastWritten = this.uncertainWrite;
      this.uncertainWrite = undefined;
      return;
    }
    const error = new DeltaError(
      'RENEW_DIFF',
      `the delta lease of host_id ${this.config.hostId} in lockspace ${this.config.spaceName} changed under us ` +
        `(timestamp ${onDisk.timestamp}, expected ${ours.timestamp}): something else writes our sector; stop using this lockspace`,
      details,
    );
    this.markLost(error);
    throw error;
  }

  private async writeOwn(next: PreparedSector): Promise<void> {
    try {
      await writeDeltaSector(this.disk, this.geometry, this.config, this.config.hostId, next);
    } catch (error) {
      this.uncertainWrite = next.leader;
      throw error;
    }
    this.lastWritten = next.leader;
    this.uncertainWrite = undefined;
  }

  /**
   * §7.4: a new timestamp must be non-zero and differ from the last one. Monotonic whole seconds
   * normally do; if the clock has not moved on (two renewals in one second), count one past the last.
   */
  private nextTimestamp(): bigint {
    const now = diskTimestamp(this.clock);
    const previous = this.lastWritten.timestamp;
    return now > previous ? now : previous + 1n;
  }

  /**
   * §4 release: timestamp 0, everything else kept (owner, generation, name, io_timeout, write_*),
   * bitmap zeroed, one write. A lost lease is not written at all: its host_id may already be on the
   * way to another owner.
   */
  private async releaseNow(): Promise<void> {
    if (this.releasedFlag) return;
    const nowSeconds = this.clock.nowSeconds();
    if (nowSeconds >= this.expiresAtSeconds) {
      this.markLost(this.expiredError(nowSeconds));
      return;
    }
    this.releasedFlag = true;
    this.table.setSelfHostId(0);
    const released = prepareDeltaSector({ ...this.lastWritten, timestamp: 0n }, null, this.geometry);
    await writeDeltaSector(this.disk, this.geometry, this.config, this.config.hostId, released);
    this.lastWritten = released.leader;
    this.logger.info(
      { spaceName: this.config.spaceName, hostId: this.config.hostId, generation: this.generation },
      'delta lease released',
    );
  }

  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.tail.then(operation, operation);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private assertHeld(action: string): void {
    if (this.lostReason !== undefined) {
      throw new DeltaError('LEASE_LOST', `cannot ${action}: ${this.lostReason.message}`, this.baseDetails(), {
        cause: this.lostReason,
      });
    }
    if (this.releasedFlag) {
      throw new DeltaError(
        'NOT_JOINED',
        `cannot ${action}: host_id ${this.config.hostId} of lockspace ${this.config.spaceName} was released`,
        this.baseDetails(),
      );
    }
  }

  /** §4 renew step 4: at 8N without a successful renewal the lease is lost; never renew it back. */
  private checkNotExpired(nowSeconds: number): void {
    if (nowSeconds < this.expiresAtSeconds) return;
    const error = this.expiredError(nowSeconds);
    this.markLost(error);
    throw error;
  }

  private expiredError(nowSeconds: number): DeltaError {
    return leaseExpiredError(this.config, this.generation, nowSeconds - this.lastRenewalStartSeconds);
  }

  private checkTarget(hostId: number): void {
    this.checkHostIdRange(hostId);
    if (hostId === this.config.hostId) throw new DeltaError('INVALID_ARGUMENT', `host_id ${hostId} is ourselves`);
  }

  private checkHostIdRange(hostId: number): void {
    if (!Number.isInteger(hostId) || hostId < 1 || hostId > this.geometry.maxHosts) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `host_id must be 1-${this.geometry.maxHosts} in this lockspace, got ${hostId}`,
      );
    }
  }

  private baseDetails(): { spaceName: string; hostId: number; ownerGeneration: bigint } {
    return { spaceName: this.config.spaceName, hostId: this.config.hostId, ownerGeneration: this.generation };
  }
}
