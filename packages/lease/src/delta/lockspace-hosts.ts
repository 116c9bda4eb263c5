/**
 * Reading a lockspace's host table without joining it (for `direct hosts` and status tools).
 *
 * One sample can only tell FREE from "held" (§3: liveness is judged by change over time, on the
 * observer's clock): readLockspaceHosts() gives that single sample. LockspaceObserver takes repeated
 * samples and judges liveness like a joined host would, with no "self".
 */
import type { Disk } from '@leasehold/disk';
import {
  decodeLeader,
  HOST_BITMAP_BYTES,
  HOST_BITMAP_OFFSET_BYTES,
  hostBitmapList,
  verifyLeader,
  deltaSectorOffset,
  type Geometry,
  type LeaderRecord,
} from '@leasehold/ondisk';
import type { Clock } from '../clock.js';
import { DEFAULT_IO_TIMEOUT_SECONDS, DEFAULT_WATCHDOG_FIRE_TIMEOUT_SECONDS } from '../timeouts.js';
import type { HostStatus } from './api.js';
import { HostTable } from './host-table.js';
import { readLockspaceGeometry, useLockspaceArea, type LockspaceLocation } from './lockspace-io.js';
import { sampleLockspaceArea } from './sample-area.js';

/** One host slot as one read shows it. */
export interface LockspaceSlot {
  hostId: number;
  leader: LeaderRecord;
  /** The record passes sanlock's checks (magic, version, space name, checksum). */
  valid: boolean;
  /** Host ids whose bits are set in the slot's bitmap (pings / events being sent). */
  bitmapHostIds: number[];
}

export interface LockspaceSnapshot {
  geometry: Geometry;
  /** Slots that ever had an owner (owner, generation or timestamp non-zero), by host_id. */
  slots: LockspaceSlot[];
}

/** A single read of the whole lockspace area. */
export async function readLockspaceHosts(disk: Disk, where: LockspaceLocation): Promise<LockspaceSnapshot> {
  const geometry = await readLockspaceGeometry(disk, where);
  return {
    geometry,
    slots: await useLockspaceArea(disk, geometry, where, (area) => decodeSlots(area, geometry, where)),
  };
}

export function decodeSlots(area: Uint8Array, geometry: Geometry, where: LockspaceLocation): LockspaceSlot[] {
  const slots: LockspaceSlot[] = [];
  for (let hostId = 1; hostId <= geometry.maxHosts; hostId++) {
    const offset = (hostId - 1) * geometry.sectorSize;
    const leader = decodeLeader(area, offset);
    if (leader.ownerId === 0n && leader.ownerGeneration === 0n && leader.timestamp === 0n) continue;
    let valid = true;
    try {
      verifyLeader(area, offset, {
        kind: 'delta',
        spaceName: where.spaceName,
        offsetBytes: deltaSectorOffset(where.areaOffsetBytes, hostId, geometry),
      });
    } catch {
      valid = false;
    }
    const bitmapStart = offset + HOST_BITMAP_OFFSET_BYTES;
    slots.push({
      hostId,
      leader,
      valid,
      bitmapHostIds: hostBitmapList(area.subarray(bitmapStart, bitmapStart + HOST_BITMAP_BYTES)),
    });
  }
  return slots;
}

export interface LockspaceObserverOptions extends LockspaceLocation {
  /** For hosts that publish io_timeout 0 (§3). Default 10. */
  ioTimeoutSeconds?: number;
  /** W, the same on every host (§3). Default 60. */
  watchdogFireTimeoutSeconds?: number;
}

/**
 * Watches a lockspace from outside: each sample() reads the whole area once and feeds the host
 * table. After the first sample every held slot is UNKNOWN; a host that renews between two samples
 * becomes LIVE; one that does not becomes FAIL and DEAD at the first sample taken after the §3
 * times (states are judged from the samples, not from "now": hosts() between samples repeats what
 * the latest sample proved). Sample at least every 2N of the hosts watched so no renewal goes
 * unseen for long and FAIL / DEAD are noticed in time.
 */
export class LockspaceObserver {
  private readonly table: HostTable;
  private latest: LockspaceSlot[] = [];

  private constructor(
    private readonly disk: Disk,
    private readonly clock: Clock,
    private readonly where: LockspaceLocation,
    readonly geometry: Geometry,
    options: LockspaceObserverOptions,
  ) {
    this.table = new HostTable({
      selfHostId: 0,
      ourIoTimeoutSeconds: options.ioTimeoutSeconds ?? DEFAULT_IO_TIMEOUT_SECONDS,
      watchdogFireTimeoutSeconds: options.watchdogFireTimeoutSeconds ?? DEFAULT_WATCHDOG_FIRE_TIMEOUT_SECONDS,
    });
  }

  static async open(disk: Disk, clock: Clock, options: LockspaceObserverOptions): Promise<LockspaceObserver> {
    const where = { spaceName: options.spaceName, areaOffsetBytes: options.areaOffsetBytes };
    const geometry = await readLockspaceGeometry(disk, where);
    return new LockspaceObserver(disk, clock, where, geometry, options);
  }

  /** One read of the area; returns the host ids whose triple changed. */
  async sample(): Promise<number[]> {
    // §3: silence is proven only up to when the read was issued (it may sample the disk that early).
    const readStartSeconds = this.clock.nowSeconds();
    return useLockspaceArea(this.disk, this.geometry, this.where, (area) => {
      this.latest = decodeSlots(area, this.geometry, this.where);
      return sampleLockspaceArea(area, this.geometry, this.table, this.clock.nowSeconds(), undefined, readStartSeconds);
    });
  }

  /** The slots as the latest sample showed them. */
  slots(): LockspaceSlot[] {
    return this.latest;
  }

  hosts(): HostStatus[] {
    return this.table.statuses(this.clock.nowSeconds());
  }
}
